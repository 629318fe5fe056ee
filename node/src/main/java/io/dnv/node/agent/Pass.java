package io.dnv.node.agent;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.Names;
import io.dnv.node.kernel.Kernel;
import io.dnv.node.kernel.KernelException;
import io.dnv.core.kernel.ObservedKernel;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The state of one reconcile pass: the kernel as observed at its start, what the pass has
 * created since, and the record of every mutation, refusal and wait. Every kernel mutation
 * goes through {@link #mutate}, so a refusal is recorded with its object and the pass goes on
 * with whatever does not depend on it.
 */
final class Pass {

    /** Several times what any one kernel command takes on Linux when nothing waits (a connect to a dead node's SYN timeout is 3 s). */
    static final java.time.Duration SLOW_COMMAND = java.time.Duration.ofSeconds(2);
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Pass.class);

    final Kernel kernel;
    final DesiredNode desired;
    /** The desired dm devices, exports and imports this pass compares with the kernel. */
    Focus focus = Focus.EVERYTHING;
    ObservedKernel observed;
    // The observed kernel by the names objects are looked up with: a node holds thousands of
    // objects, and every pass looks each one up.
    private Map<String, ObservedKernel.Dm> dmByName;
    private Map<String, ObservedKernel.Subsystem> subsystemByNqn;
    private Map<UUID, ObservedKernel.BlockDevice> namespaceByUuid;
    private Map<String, ObservedKernel.BlockDevice> blockByPath;
    private Map<String, List<ObservedKernel.Controller>> controllersByConnection;
    private int mutationsObserved;
    private final KernelLooks looks;
    /** The node's change count ({@link KernelChanges}) when the last look began; when the whole look it builds on ended and the pools were read. */
    private final KernelChanges changes;
    private long changesAtLook;
    private long wholeAt;
    private long poolsAt;
    // What the pass did and found: written from several lanes at once ({@link Lanes}).
    final Set<String> createdDm = ConcurrentHashMap.newKeySet();
    /** dm devices whose table this pass replaced (an export over one must revalidate its size). */
    final Set<String> reloadedDm = ConcurrentHashMap.newKeySet();
    final Set<String> blocked = ConcurrentHashMap.newKeySet();
    final List<String> mutations = Collections.synchronizedList(new ArrayList<>());
    /** How long each kind of command took in all, summed over the lanes ({@link PassTimes}). */
    final Map<String, LongAdder> commandNanos = new ConcurrentHashMap<>();
    final List<Failure> failures = Collections.synchronizedList(new ArrayList<>());
    final List<String> waiting = Collections.synchronizedList(new ArrayList<>());
    /** Desired objects this pass could not bring to their desired state, by name (dm name, NQN, connection key, port). */
    final Set<String> unsettled = ConcurrentHashMap.newKeySet();
    /** Raid1 groups serving with a side down, failed or recovering ({@link Raid1Sides}): not a wait, the truth. */
    final List<String> degraded = Collections.synchronizedList(new ArrayList<>());
    private Set<String> desiredDmNames;
    /** What this node holds for a promotion only ({@link PreparedImports}). */
    final PreparedImports prepared;
    /** Namespaces of prepared imports whose disk node does not answer: their slices wait for nothing. */
    final Set<UUID> preparedDown = ConcurrentHashMap.newKeySet();

    /**
     * {@code start}: the look the pass before ended with; the pass reads again what changed since
     * ({@link KernelLooks#since}), and the dm devices {@code alsoRead}. Without one, it reads the
     * kernel whole.
     */
    Pass(Kernel kernel, DesiredNode desired, KernelChanges changes, KernelLooks looks, Optional<KernelLooks.Look> start,
         Set<String> alsoRead) {
        this.kernel = kernel;
        this.desired = desired;
        this.changes = changes;
        this.looks = looks;
        this.prepared = PreparedImports.of(desired);
        take(start.map(l -> looks.since(l, alsoRead)).orElseGet(looks::whole));
    }

    /** The kernel as this pass last looked at it (the host side maybe read since). */
    KernelLooks.Look look() {
        return new KernelLooks.Look(observed, changesAtLook, wholeAt, poolsAt);
    }

    interface Action {
        void run();
    }

    /**
     * Runs one kernel mutation; false (and a recorded failure) when the kernel refused it. One that
     * took longer than {@link #SLOW_COMMAND} is logged by name: a dm command that reads through a
     * path that is down waits for it, and holds its lane and the pass meanwhile (a failover's
     * promotions waited 10 s on such creates, and nothing named them).
     */
    boolean mutate(String operation, String object, Action action) {
        return mutate(operation, kind(operation), object, action);
    }

    /** As above, its time counted under {@code kind} ({@link PassTimes}). */
    boolean mutate(String operation, String kind, String object, Action action) {
        mutations.add(operation + " " + object);
        long start = System.nanoTime();
        try {
            action.run();
            return true;
        } catch (KernelException e) {
            fail(object, operation, e.kernelMessage());
            return false;
        } finally {
            long nanos = System.nanoTime() - start;
            commandNanos.computeIfAbsent(kind, o -> new LongAdder()).add(nanos);
            long millis = nanos / 1_000_000;
            if (millis >= SLOW_COMMAND.toMillis()) {
                LOG.warn("node {}: {} {} took {} ms", nodeId(), operation, object, millis);
            }
        }
    }

    /** An operation's first two words ("dm create", "nvmet allow"): what it names after them varies. */
    private static String kind(String operation) {
        int first = operation.indexOf(' ');
        int second = first < 0 ? -1 : operation.indexOf(' ', first + 1);
        return second < 0 ? operation : operation.substring(0, second);
    }

    /** A desired object that cannot reach its state this pass (refused, or in a state that cannot change). */
    void fail(String object, String operation, String message) {
        failures.add(new Failure(object, operation, message));
        unsettled.add(object);
    }

    void waitFor(String object, String reason) {
        waiting.add(object + ": " + reason);
        unsettled.add(object);
    }

    void degraded(String object, String what) {
        degraded.add(object + ": " + what);
    }

    /**
     * Observes again if this pass changed the kernel since it last looked: the host side alone when
     * only it changed (connects and disconnects are not counted as changes, {@link KernelChanges}).
     */
    void reobserveIfMutated() {
        if (owesLook()) {
            reobserve();
        }
    }

    /**
     * Whether this pass changed the target side since it last looked, so a whole look is owed (at
     * the end of the pass, {@link Reconciler#lookOwed}). A pass that changed only the host side
     * (connects and disconnects are not counted, {@link KernelChanges}) reads it again now: that is
     * cheap.
     */
    boolean owesLook() {
        if (mutations.size() <= mutationsObserved) {
            return false;
        }
        if (changes.count() == changesAtLook) {
            mutationsObserved = mutations.size();
            reobserveHost();
            return false;
        }
        return true;
    }

    /** Looks again: at what changed since the last look, or whole ({@link KernelLooks#since}). */
    void reobserve() {
        mutationsObserved = mutations.size();
        take(looks.since(look(), Set.of()));
    }

    private void take(KernelLooks.Look look) {
        observed = look.observed();
        changesAtLook = look.changes();
        wholeAt = look.wholeAtNanos();
        poolsAt = look.poolsAtNanos();
        indexTarget();
        indexHostSide();
    }

    private void indexTarget() {
        dmByName = new HashMap<>();
        observed.dmDevices().forEach(d -> dmByName.put(d.name(), d));
        subsystemByNqn = new HashMap<>();
        observed.subsystems().forEach(s -> subsystemByNqn.put(s.nqn(), s));
    }

    /**
     * Looks again at the host side only, after connecting: what the connects changed, for the
     * steps that use the new namespaces. The rest is as last looked at; the look at the end of
     * the pass still reads everything, as the pass's mutations are not counted as seen here.
     */
    void reobserveHost() {
        Kernel.HostSide host = kernel.observeHost();
        observed = new ObservedKernel(observed.dmDevices(), host.blockDevices(), observed.ports(), observed.subsystems(),
                observed.hosts(), host.controllers(), host.bootId());
        indexHostSide();
    }

    private void indexHostSide() {
        namespaceByUuid = new HashMap<>();
        blockByPath = new HashMap<>();
        for (ObservedKernel.BlockDevice b : observed.blockDevices()) {
            b.uuid().ifPresent(u -> namespaceByUuid.putIfAbsent(u, b));
            blockByPath.putIfAbsent(b.path(), b);
        }
        controllersByConnection = new HashMap<>();
        observed.controllers().forEach(c -> controllersByConnection.computeIfAbsent(c.connectionKey(), k -> new ArrayList<>()).add(c));
    }

    /** A device as observed at the start of the pass (or at the last look). */
    Optional<ObservedKernel.Dm> dm(String name) {
        return Optional.ofNullable(dmByName.get(name));
    }

    Optional<ObservedKernel.Subsystem> subsystem(String nqn) {
        return Optional.ofNullable(subsystemByNqn.get(nqn));
    }

    /** The NVMe namespace head (an imported export) with this UUID. */
    Optional<ObservedKernel.BlockDevice> namespace(UUID uuid) {
        return Optional.ofNullable(namespaceByUuid.get(uuid));
    }

    Optional<ObservedKernel.BlockDevice> blockDevice(String path) {
        return Optional.ofNullable(blockByPath.get(path));
    }

    /** The controllers serving a connection ({@link io.dnv.core.kernel.NvmeConnection#key()}). */
    List<ObservedKernel.Controller> controllers(String connectionKey) {
        return controllersByConnection.getOrDefault(connectionKey, List.of());
    }

    /**
     * The names of the desired dm devices. Read once per pass, when first asked: the garbage phase
     * asks several times (what is garbage, whether it may wait for the report, the removal), and a
     * node holds tens of thousands.
     */
    synchronized Set<String> desiredDmNames() {
        if (desiredDmNames == null) {
            Set<String> names = new HashSet<>();
            desired.dmDevices().forEach(d -> names.add(d.name()));
            desiredDmNames = Set.copyOf(names);
        }
        return desiredDmNames;
    }

    String nodeId() {
        return desired.nodeId();
    }

    boolean ownsDm(String name) {
        return Names.ownsDm(nodeId(), name);
    }
}
