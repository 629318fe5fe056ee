package io.dnv.node.agent;

import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.core.kernel.Raid1Status;
import io.dnv.node.kernel.Kernel;
import io.dnv.node.kernel.KernelException;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Fails the raid1 sides whose disk node went away (docs/architecture.md, "Internal connections").
 *
 * <p>Imports of LDs hold their writes while their path is down (ConnectTimeouts.DISK), so an
 * outage of this node's own link, which takes every side of every group at once, fails nothing.
 * A disk node that died must not hold its groups' writes that long: once a side's import has not
 * been live for {@link #GRACE} while another side of its group is in sync in md and its import
 * live (counted from when another side was live: see {@link #look}), the watcher deletes that
 * import's controller. The held writes fail on that side, md marks
 * it dead and the group goes on with the other. A side is never failed while no other side is in
 * sync and live: md would keep it as its last one and fail the writes upwards, and the thin pool
 * above would turn read-only until an offline repair.
 *
 * <p>It also decides when the node is cut off ({@link Isolation}): every import of its volumes from
 * another node that the desired state names, one live at some look since, is down at once. Then it turns every ANA
 * group of the volume ports inaccessible itself and tells the agent; from then on it fails no side
 * until the agent is given desired state again (a side failed now would let writes complete on the
 * node's own disk alone, and if the node was failed over meanwhile nobody reads that disk again).
 *
 * <p>It runs apart from the passes, every {@link #LOOK}, and looks only at sysfs and each
 * group's own status: a pass's `dmsetup status` does not answer while a pool's metadata write is
 * held by exactly such a side. It also tells the agent when any import went down or came back,
 * a change no one pushes. Spawn it on a blocking dispatcher.
 */
final class SideWatcher {

    /** How long a side's import may be down, another side in sync and live, before it is failed. */
    static final Duration GRACE = Duration.ofSeconds(4);
    static final Duration LOOK = Duration.ofSeconds(1);

    sealed interface Command permits Desired, Look {}

    /** The node's desired state changed: its groups with it. */
    record Desired(DesiredNode desired) implements Command {}

    private enum Look implements Command { INSTANCE }

    private final ActorContext<Command> ctx;
    private final Kernel kernel;
    private final ActorRef<NodeAgent.Command> agent;
    private final Isolation isolation;
    private final Consumer<String> silent;
    private Raid1Groups groups = new Raid1Groups(List.of(), Map.of());
    private Set<String> imports = Set.of();
    private DesiredNode desired;
    /** The imports from other nodes, and whether one of them was live at a look since the desired state came. */
    private Set<String> remote = Set.of();
    private boolean remoteSeenLive;
    /** The imports live at the last look. */
    private Set<String> live = Set.of();
    /** Since when (System.nanoTime) each import of a side has not been live. */
    private final Map<String, Long> downSince = new HashMap<>();

    private SideWatcher(ActorContext<Command> ctx, Kernel kernel, ActorRef<NodeAgent.Command> agent, Isolation isolation,
                        Consumer<String> silent) {
        this.ctx = ctx;
        this.kernel = kernel;
        this.agent = agent;
        this.isolation = isolation;
        this.silent = silent;
    }

    /** {@code silent}: told the target (address:port) of each import it gives up on ({@link Unreachable#silent}). */
    static Behavior<Command> create(Kernel kernel, ActorRef<NodeAgent.Command> agent, Isolation isolation, Consumer<String> silent) {
        Behavior<Command> watcher = Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            timers.startTimerWithFixedDelay(Look.INSTANCE, LOOK);
            SideWatcher w = new SideWatcher(ctx, kernel, agent, isolation, silent);
            return Behaviors.receive(Command.class)
                    .onMessage(Desired.class, d -> {
                        w.desired = d.desired();
                        w.groups = Raid1Groups.of(d.desired());
                        w.imports = new HashSet<>();
                        d.desired().connections().forEach(c -> w.imports.add(c.key()));
                        w.remote = Isolation.remoteImports(d.desired());
                        w.remoteSeenLive = false;
                        return Behaviors.same();
                    })
                    .onMessage(Look.class, l -> {
                        w.look();
                        return Behaviors.same();
                    })
                    .build();
        }));
        // A restart forgets when imports went down: the grace starts again, never shorter.
        return Behaviors.supervise(watcher).onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200),
                Duration.ofSeconds(10), 0.2));
    }

    private void look() {
        if (imports.isEmpty()) {
            downSince.clear();
            return;
        }
        long now = System.nanoTime();
        Map<String, List<ObservedKernel.Controller>> controllers = new HashMap<>();
        for (ObservedKernel.Controller c : kernel.observeHost().controllers()) {
            controllers.computeIfAbsent(c.connectionKey(), k -> new ArrayList<>()).add(c);
        }
        Set<String> liveNow = new HashSet<>();
        for (String key : imports) {
            if (controllers.getOrDefault(key, List.of()).stream().anyMatch(c -> c.state().equals("live"))) {
                liveNow.add(key);
            }
        }
        if (!liveNow.equals(live)) {
            agent.tell(NodeAgent.ImportsChanged.INSTANCE);
        }
        live = liveNow;
        if (remote.stream().anyMatch(liveNow::contains)) {
            remoteSeenLive = true;
        } else if (remoteSeenLive && !isolation.isolated()) {
            isolate(controllers);
        }
        if (isolation.isolated()) {
            // No side is failed while the node may have been failed over (see the class comment);
            // once it is told what it is, each side's grace starts again, never shorter.
            downSince.clear();
            return;
        }
        Set<String> down = new HashSet<>();
        for (String key : groups.sideOf().keySet()) {
            if (liveNow.contains(key)) {
                downSince.remove(key);
            } else {
                downSince.putIfAbsent(key, now);
                down.add(key);
            }
        }
        downSince.keySet().retainAll(groups.sideOf().keySet());
        for (String key : down) {
            if (!partnerLive(key, down)) {
                // The grace counts only while another side could serve: after an outage of this
                // node's own link the sides come back one by one, and the last one back is not a
                // dead disk node for having been down the longest.
                downSince.put(key, now);
            } else if (now - downSince.get(key) >= GRACE.toNanos()) {
                failIfPartnerServes(key, (now - downSince.get(key)) / 1_000_000, controllers.getOrDefault(key, List.of()), down);
            }
        }
    }

    /**
     * Every import of the volumes from another node is down: the node may be failed over by now. Its volume
     * ports' groups turn inaccessible before anything else, here, not in a pass: a pass may be
     * held up by the writes the cut holds. A group the kernel refuses is logged, and the passes
     * (which see the isolation too) set it as soon as they run.
     */
    private void isolate(Map<String, List<ObservedKernel.Controller>> controllers) {
        if (!isolation.enter(desired.generation())) {
            return;   // the agent took a new desired state since: its pass removes these imports on purpose
        }
        remoteSeenLive = false;   // a new desired state, or imports live again, before the next isolation
        List<String> evidence = new ArrayList<>();
        for (String key : remote) {
            List<String> states = controllers.getOrDefault(key, List.of()).stream().map(ObservedKernel.Controller::state).toList();
            evidence.add(key + " " + (states.isEmpty() ? "gone" : String.join(",", states)));
        }
        Set<Integer> ports = Isolation.volumePorts(desired);
        for (NvmetPort port : desired.ports()) {
            if (!ports.contains(port.id())) {
                continue;
            }
            for (int group : port.anaGroups().keySet()) {
                try {
                    kernel.nvmetAnaState(port.id(), group, AnaState.INACCESSIBLE);
                } catch (KernelException e) {
                    ctx.getLog().warn("isolated: port {} ANA group {} not set inaccessible: {}", port.id(), group, e.getMessage());
                }
            }
        }
        ctx.getLog().warn("all {} of its volumes' imports from other nodes are down: the node may have been failed over; its volume ports {} are "
                + "inaccessible until the control plane gives it its desired state", remote.size(), ports);
        agent.tell(new NodeAgent.Isolated(evidence));
    }

    /** Whether another side of the import's group has a live import (or none: a local side). */
    private boolean partnerLive(String key, Set<String> down) {
        int[] at = groups.sideOf().get(key);
        Raid1Groups.Group g = groups.groups().get(at[0]);
        for (int o = 0; o < g.sides().size(); o++) {
            Optional<NvmeConnection> c = g.sides().get(o).connection();
            if (o != at[1] && !g.sides().get(o).slices().isEmpty() && (c.isEmpty() || !down.contains(c.get().key()))) {
                return true;
            }
        }
        return false;
    }

    private void failIfPartnerServes(String key, long downMillis, List<ObservedKernel.Controller> held, Set<String> down) {
        List<ObservedKernel.Controller> toDelete = held.stream().filter(c -> !c.state().equals("deleting")).toList();
        if (toDelete.isEmpty()) {
            return;   // nothing holds its writes any more (already failed, or the kernel gave up)
        }
        int[] at = groups.sideOf().get(key);
        Raid1Groups.Group g = groups.groups().get(at[0]);
        Optional<Raid1Status> status;
        try {
            status = kernel.dmStatus(g.raid().name()).flatMap(Raid1Status::parse);
        } catch (KernelException e) {
            ctx.getLog().warn("raid1 {}: status not readable, side {} left as it is: {}", g.raid().name(), at[1], e.getMessage());
            return;
        }
        if (status.isEmpty() || status.get().dead(at[1])) {
            return;
        }
        OptionalInt partner = Raid1Groups.partner(g, status.get(), at[1], k -> !down.contains(k));
        if (partner.isEmpty()) {
            return;   // no other copy to serve from: the writes wait (ConnectTimeouts.DISK bounds it)
        }
        NvmeConnection c = g.sides().get(at[1]).connection().orElseThrow();
        ctx.getLog().warn("raid1 {}: side {}'s import from {}:{} down for {} ms while side {} is in sync: failing side {}",
                g.raid().name(), at[1], c.address(), c.serviceId(), downMillis, partner.getAsInt(), at[1]);
        // Told before the deletion: the pass that follows it would connect the import again, and a
        // connect to a machine that is off waits out its SYN timeout holding the connect lock.
        silent.accept(Unreachable.target(c));
        for (ObservedKernel.Controller ctrl : toDelete) {
            try {
                kernel.nvmeDisconnect(ctrl.name());
            } catch (KernelException e) {
                ctx.getLog().warn("raid1 {}: deleting {} refused: {}", g.raid().name(), ctrl.name(), e.getMessage());
            }
        }
    }
}
