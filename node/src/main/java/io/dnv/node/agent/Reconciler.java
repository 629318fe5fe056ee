package io.dnv.node.agent;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.node.kernel.Kernel;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * One level-based pass from whatever the kernel holds to the desired state: it reads the
 * kernel first, whole or only what changed since the pass before looked (below); it keeps nothing
 * else in memory, so the same pass adopts a node after an agent restart (zero mutations when
 * nothing changed) and finishes an operation a crash interrupted.
 *
 * Order: ports and ANA groups, imports, dm devices bottom-up, raid1 sides whose import came
 * back ({@link Raid1Sides}; failing those whose import died is {@link SideWatcher}'s), exports,
 * the size of exports over reloaded devices ({@link Revalidation}); then garbage top-down:
 * exports, dm devices (those over the disk once {@link Zeroing} zeroed them), imports, ANA
 * groups and host entries.
 *
 * A pass given new desired state may look only at what changed ({@link Focus}); a resync
 * looks at everything. A pass also reads the kernel whole only when it must: within
 * {@code lookKept} of a whole look, it reads again only the dm devices the node's hands changed
 * since, and the rest that moves by itself ({@link KernelLooks}). At a thousand volumes a node
 * holds tens of thousands of dm devices, and a pass of a failover changes a few thousand at most.
 *
 * An agent's pass also reports before it removes unwanted dm devices and imports, when their
 * removal waits for nothing (no LD to zero among them): {@link #removeGarbage} does it after the
 * report, or the next pass after its own work when new desired state came first. On a survivor
 * of a failover the fence's pass takes away the standby preparations over the failed node's disk,
 * a second or more, and the fence's wait was waiting for that.
 *
 * The agent's passes also report before their look at the end ({@link #pass}): that look only
 * reads back what the pass did, and the control plane waits on each node's word that it reached a
 * generation, at every stage of a failover. The agent takes the look it owes once it has reported
 * ({@link #lookOwed}), or leaves it to the next pass's first look when new desired state already
 * waits: in a failover's burst of generations every pass used to read the kernel whole twice.
 */
public final class Reconciler {

    private final Kernel kernel;
    private final Optional<String> disk;
    private final Zeroing zeroing;
    private final Isolation isolation;
    private final MappingCache comparisons = new MappingCache();
    private final Raid1Sides raid1Sides = new Raid1Sides();
    private final Unreachable unreachable;
    private final Revalidation revalidation = new Revalidation();
    private final Lanes lanes;
    private final HeldDevices held;
    private final KernelChanges changes;
    private final KernelLooks looks;
    private Focus.Previous previous;
    /** The last pass's last look, which the next one builds on; null before the first pass. */
    private KernelLooks.Look lastLook;
    /** The last pass changed the target side after its last look, and nothing looked since. */
    private boolean owesLook;
    /** The node's change count when the last pass ended. */
    private long changesAtEnd;
    /** The last pass removed garbage and did not look again before the ANA groups and host entries. */
    private boolean groupsAndHostsLeft;
    /** The last pass's removal of unwanted dm devices and imports, due once it reported ({@link #removeGarbage}). */
    private Supplier<List<Failure>> garbageAfterReport;
    /** That removal was put off to the next pass ({@link #leaveGarbage}). */
    private boolean devicesAndImportsLeft;

    /**
     * {@code disk}: the physical disk the node's configuration names (none on a node without one);
     * {@code zeroing}: where devices over it go to be zeroed before they are removed. Every
     * kernel command one after the other, and every pass reads the kernel whole.
     */
    Reconciler(Kernel kernel, Optional<String> disk, Zeroing zeroing) {
        this(kernel, disk, zeroing, new KernelChanges());
    }

    private Reconciler(Kernel kernel, Optional<String> disk, Zeroing zeroing, KernelChanges changes) {
        this(changes.counting(kernel), disk, zeroing, "", new Isolation(), new Lanes("", 1), new HeldDevices(), () -> {}, changes,
                Duration.ZERO);
    }

    /**
     * {@code isolation}: while the node is cut off, its volume ports' ANA groups stay inaccessible
     * whatever the desired state says; {@code lanes}: how many kernel commands of a pass may run at
     * once; {@code held}: devices an order holds suspended, which a pass leaves as they are;
     * {@code importsBack}: told when a target that did not answer lately answered a probe
     * ({@link Unreachable}); {@code changes}: counts what every hand of the node changes in
     * {@code kernel} (which must be counted by it); {@code lookKept}: how long after a whole look ended the
     * looks may build on it (zero: every look is whole).
     */
    Reconciler(Kernel kernel, Optional<String> disk, Zeroing zeroing, String nodeId, Isolation isolation, Lanes lanes,
               HeldDevices held, Runnable importsBack, KernelChanges changes, Duration lookKept) {
        this.held = held;
        this.changes = changes;
        this.looks = new KernelLooks(kernel, changes, lookKept);
        this.kernel = kernel;
        this.disk = disk;
        this.zeroing = zeroing;
        this.isolation = isolation;
        this.lanes = lanes;
        this.unreachable = new Unreachable(nodeId, c -> kernel.answers(c, Unreachable.PROBE_WAIT), importsBack);
    }

    /** What a pass compares with the kernel, and whether it must read the kernel whole first. */
    enum Scope {
        /** Every desired object. */
        EVERYTHING,
        /** What changed since the previous pass, or everything when the kernel changed too. */
        CHANGES,
        /**
         * As {@link #CHANGES}, reading every raid1 group of the desired state again: their statuses
         * move with no hand of the node (a side the kernel failed when its import went down, a
         * recovery's progress).
         */
        CHANGES_READING_RAID1S
    }

    /** Compares every desired object with the kernel; the result shows the kernel as the pass left it. */
    public PassResult reconcile(DesiredNode desired) {
        return looked(run(desired, Scope.EVERYTHING, false));
    }

    /** {@link Scope#CHANGES}; the result shows the kernel as the pass left it. */
    public PassResult reconcileChanges(DesiredNode desired) {
        return looked(run(desired, Scope.CHANGES, false));
    }

    private PassResult looked(PassResult result) {
        return owesLook ? lookOwed() : result;
    }

    /**
     * One pass, ending before its look at the kernel when it changed the target side: the result
     * shows the kernel as the pass last looked at it, which lacks what it created and still holds
     * what it removed ({@link #owesLook}). ANA groups and host entries the pass's changes left
     * unused (a fence takes the failed node off every LD) are read from the kernel, so they go at
     * the start of the next pass, after its first look ({@link #leftGroupsAndHosts}).
     */
    PassResult pass(DesiredNode desired, Scope scope) {
        return run(desired, scope, true);
    }

    private PassResult run(DesiredNode desired, Scope scope, boolean reportFirst) {
        if (garbageAfterReport != null) {
            leaveGarbage();
        }
        PassTimes times = new PassTimes();
        boolean everything = scope == Scope.EVERYTHING;
        Set<String> raid1s = scope == Scope.CHANGES_READING_RAID1S ? raid1Sides.raid1s(desired) : Set.of();
        Pass pass = new Pass(kernel, desired, changes, looks, everything ? Optional.empty() : Optional.ofNullable(lastLook), raid1s);
        if (owesLook && pass.look().changes() == changesAtEnd) {
            // Nothing changed the kernel since the pass before ended: this look is the one that pass
            // owed, as far as the target side goes (the host side moves by itself and is compared).
            previous = previous.seeing(pass.observed);
        }
        owesLook = false;
        Focus.Named named = Focus.Named.of(desired);
        pass.focus = everything ? Focus.EVERYTHING : Focus.since(previous, desired, named, pass.observed);
        DeviceResolver devices = new DeviceResolver(pass, disk);
        NvmetConvergence nvmet = new NvmetConvergence(pass, devices, isolation);
        ConnectionConvergence connections = new ConnectionConvergence(pass, unreachable, raid1Sides);
        unreachable.forgetAllBut(named.connections().keySet());
        DmConvergence dm = new DmConvergence(pass, devices, comparisons, zeroing, raid1Sides, held);

        times.lap("look");
        if (groupsAndHostsLeft) {
            groupsAndHostsLeft = false;
            nvmet.removeGarbageGroupsAndHosts();
        }
        nvmet.convergePorts();
        times.lap("ports");
        if (connections.connect()) {
            pass.reobserveHost();
        }
        connections.reportPreparedDown();
        times.lap("imports");
        dm.converge(lanes);
        raid1Sides.readdAndReport(pass, devices);
        times.lap("dm");
        nvmet.convergeSubsystems(lanes);
        revalidation.revalidate(pass);
        times.lap("exports");
        if (devicesAndImportsLeft) {
            pass.focus = pass.focus.withGarbage();
            devicesAndImportsLeft = false;
        }
        if (pass.focus.garbage()) {
            // Exports first, and before the report: taking one away may fence a host.
            nvmet.removeGarbageSubsystems();
            Supplier<List<Failure>> devicesAndImports = () -> {
                int refusedBefore = pass.failures.size();
                dm.removeGarbage();
                connections.disconnectGarbage();
                if (reportFirst && pass.owesLook()) {
                    groupsAndHostsLeft = true;
                } else {
                    pass.reobserveIfMutated();
                    nvmet.removeGarbageGroupsAndHosts();
                }
                comparisons.retainOnly(pass.desiredDmNames());
                owesLook = pass.owesLook();
                changesAtEnd = changes.count();
                return List.copyOf(pass.failures.subList(refusedBefore, pass.failures.size()));
            };
            if (reportFirst && (dm.anyGarbage() || connections.anyGarbage()) && dm.garbageWaitsForNothing()) {
                garbageAfterReport = devicesAndImports;
            } else {
                devicesAndImports.get();
            }
            times.lap("garbage");
        }
        times.log(desired, pass);
        if (garbageAfterReport == null) {
            owesLook = pass.owesLook();
            changesAtEnd = changes.count();
        }
        PassResult result = new PassResult(desired.generation(), pass.mutations, pass.failures, pass.waiting, pass.unsettled,
                pass.observed, pass.focus.everything(), zeroing.progress(), pass.degraded);
        previous = new Focus.Previous(desired, result, named);
        lastLook = pass.look();
        return result;
    }

    /** Whether the last pass reported before removing the dm devices and imports nobody wants any more. */
    boolean garbageDue() {
        return garbageAfterReport != null;
    }

    /**
     * Removes the dm devices and imports the last pass found unwanted, after it reported: a
     * failover waits at every stage for each node's report, and on a survivor the fence's pass
     * also takes away a second or more of standby preparations over the failed node's disk (its
     * slices and imports), which nothing waits for. The pass's exports went before its report.
     * Returns what the kernel refused: the next pass tries again.
     */
    List<Failure> removeGarbage() {
        Supplier<List<Failure>> due = garbageAfterReport;
        garbageAfterReport = null;
        if (due == null) {
            return List.of();
        }
        List<Failure> failed = due.get();
        if (!failed.isEmpty()) {
            devicesAndImportsLeft = true;   // the next pass tries again
        }
        return failed;
    }

    /**
     * New desired state came before the last pass's garbage was removed: the next pass compares
     * it first and removes the garbage after, with what it then finds unwanted.
     */
    void leaveGarbage() {
        garbageAfterReport = null;
        devicesAndImportsLeft = true;
    }

    /**
     * Whether the last pass left ANA groups and host entries that may be unused for the next pass
     * to remove: the agent passes again soon rather than at the resync.
     */
    boolean leftGroupsAndHosts() {
        return groupsAndHostsLeft;
    }

    /**
     * A target whose import stayed down past the side watcher's grace ({@link Unreachable#silent}).
     * Called on the side watcher's thread, before it deletes the import: {@link Unreachable} is
     * thread-safe, and a pass that runs right after the deletion must already know.
     */
    void silent(String target) {
        unreachable.silent(target);
    }

    /** The agent stopped or restarts: its probes of unreachable targets stop. */
    void close() {
        unreachable.close();
    }

    /** Whether the last pass changed the target side after its last look, and nothing has looked since. */
    boolean owesLook() {
        return owesLook;
    }

    /** The look the last pass owes: its result, showing the kernel as it is now. */
    PassResult lookOwed() {
        lastLook = looks.since(lastLook, Set.of());
        owesLook = false;
        previous = new Focus.Previous(previous.desired(), previous.result().seeing(lastLook.observed()), previous.named());
        return previous.result();
    }
}
