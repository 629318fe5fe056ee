package io.dnv.node.member;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.core.node.NodeInfo;
import io.dnv.core.node.PoolUsage;
import io.dnv.core.node.StorageNode;
import io.dnv.core.node.ToAgent;
import io.dnv.node.agent.Failure;
import io.dnv.node.agent.HeldDevices;
import io.dnv.node.agent.KernelChanges;
import io.dnv.node.agent.NodeAgent;
import io.dnv.node.agent.OrderWorker;
import io.dnv.node.agent.PassResult;
import io.dnv.node.agent.WitnessWatcher;
import io.dnv.node.kernel.Kernel;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * A storage node's presence in the cluster: runs the node's agent and, every second, tells
 * the node's StorageNode entity that it is alive, who it is (that is its registration) and how
 * far its kernel converged. Desired state arrives from the entity as pushes.
 *
 * A heartbeat carries what the agent last reported (it reports after every pass and every new
 * generation); the member never asks the agent for it. Its witness imports' states are read apart,
 * every 100 ms, by a {@link WitnessWatcher}, and a change is heartbeaten at once: a peer's crash
 * shows there first (docs/failover.md, "Detection"). A pass holds the agent for as long as the
 * kernel takes (zeroing a large LD can take a minute), and a heartbeat that waited for the
 * agent would let the node look dead meanwhile.
 *
 * Both the member and its agent start again after an exception, with backoff ({@link Restarts}).
 * A restarted agent holds nothing and says so: the member gives it the last desired state again.
 * A restarted member holds nothing either: its heartbeat says so, and the entity pushes everything.
 *
 * An agent that says its node was cut off (it may have been failed over meanwhile) gets only
 * desired state the entity sends after that: the member forgets what it applied before, and its
 * heartbeat says the agent holds nothing, so the entity sends everything again once it hears it.
 */
public final class AgentMember extends AbstractBehavior<AgentMember.Command> {

    /**
     * How often the member heartbeats (config {@code dnv.agent.heartbeat-interval}): a node is
     * suspected after a few missed beats, so this bounds how soon a dead node is noticed.
     */
    public static final Duration HEARTBEAT = Duration.ofMillis(300);
    /** How many of its last pass's failures a heartbeat names ({@link #named}). */
    static final int HEARTBEAT_FAILURES = 20;

    public sealed interface Command {}

    private record FromControlPlane(ToAgent message) implements Command {}

    private record AgentStatus(NodeAgent.Status status) implements Command {}

    private record Witnesses(WitnessWatcher.Seen seen) implements Command {}

    private enum Tick implements Command { INSTANCE }

    private final NodeInfo info;
    private final RecipientRef<StorageNode.Command> entity;
    private final ActorRef<NodeAgent.Command> agent;
    private final ActorRef<OrderWorker.Command> orders;
    private final ActorRef<ToAgent> inbox;
    private final ActorRef<WitnessWatcher.Command> witnessWatcher;
    /** The witness imports as the watcher last read them; the last pass's view of them is not used. */
    private List<ObservedKernel.Controller> witnesses = List.of();
    /** The last pass's imports other than witnesses, by target, and the pass they were counted for. */
    private PassResult importsCounted;
    private Map<String, StorageNode.Imports> passImports = Map.of();
    /** The leg pools the last pass found past {@link PoolUsage#REPORTED_FROM_PERCENT} (or not rw). */
    private List<PoolUsage> pools = List.of();
    private final PushedVolumes pushed = new PushedVolumes();
    /** What the agent reported last; nothing before its first report. */
    private Optional<NodeAgent.Status> reported = Optional.empty();
    /** The desired state last given to the agent, for an agent that started again. */
    private Optional<DesiredNode> applied = Optional.empty();

    /** {@code entity}: the node's StorageNode entity (a sharding reference; a probe in tests). */
    public static Behavior<Command> create(NodeInfo info, Kernel kernel, NodeAgent.Settings settings,
                                           RecipientRef<StorageNode.Command> entity) {
        return create(info, kernel, settings, entity, HEARTBEAT);
    }

    public static Behavior<Command> create(NodeInfo info, Kernel kernel, NodeAgent.Settings settings,
                                           RecipientRef<StorageNode.Command> entity, Duration heartbeat) {
        return create(info, kernel, settings, entity, heartbeat, WitnessWatcher.LOOK);
    }

    /** {@code witnessLook}: how often the witness imports are read ({@link WitnessWatcher}). */
    public static Behavior<Command> create(NodeInfo info, Kernel kernel, NodeAgent.Settings settings,
                                           RecipientRef<StorageNode.Command> entity, Duration heartbeat, Duration witnessLook) {
        Restarts restarts = new Restarts(info.nodeId());
        return restarts.supervise("member", Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            timers.startTimerWithFixedDelay(Tick.INSTANCE, Duration.ZERO, heartbeat);
            return new AgentMember(ctx, info, kernel, settings, entity, restarts, witnessLook);
        })));
    }

    private AgentMember(ActorContext<Command> ctx, NodeInfo info, Kernel kernel, NodeAgent.Settings settings,
                        RecipientRef<StorageNode.Command> entity, Restarts restarts, Duration witnessLook) {
        super(ctx);
        this.info = info;
        this.entity = entity;
        ActorRef<NodeAgent.Status> statuses = ctx.messageAdapter(NodeAgent.Status.class, AgentStatus::new);
        // Orders (a snapshot's holds) are carried out beside the passes, never behind one.
        HeldDevices held = new HeldDevices();
        KernelChanges changes = new KernelChanges();
        this.orders = ctx.spawn(restarts.supervise("orders", OrderWorker.create(changes.counting(kernel), held)), "orders",
                DispatcherSelector.blocking());
        this.agent = ctx.spawn(restarts.supervise("agent", NodeAgent.create(info.nodeId(), info.endpoints().diskPath(), kernel, settings,
                Optional.of(statuses), held, changes)),
                "agent", DispatcherSelector.blocking());
        this.inbox = ctx.messageAdapter(ToAgent.class, FromControlPlane::new);
        this.witnessWatcher = ctx.spawn(restarts.supervise("witness watcher", WitnessWatcher.create(kernel,
                ctx.messageAdapter(WitnessWatcher.Seen.class, Witnesses::new), witnessLook)), "witness-watcher", DispatcherSelector.blocking());
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessageEquals(Tick.INSTANCE, () -> {
                    heartbeat();
                    return this;
                })
                .onMessage(AgentStatus.class, s -> {
                    reported = Optional.of(s.status());
                    // Read once per pass, not per heartbeat: a node holds thousands of dm devices.
                    pools = s.status().lastPass()
                            .map(p -> PoolUsage.reported(info.nodeId(), p.observed(), PoolUsage.REPORTED_FROM_PERCENT)).orElse(List.of());
                    // Every pass names the witness controllers afresh (a restarted watcher learns them again).
                    s.status().lastPass().ifPresent(p -> witnessWatcher.tell(new WitnessWatcher.Watch(p.observed().controllers())));
                    if (s.status().isolated()) {
                        applied = Optional.empty();
                    } else if (s.status().desiredGeneration() < 0) {
                        applied.ifPresent(desired -> agent.tell(new NodeAgent.Apply(desired)));
                    }
                    // Every pass is reported at once: the control plane waits on convergence, not on the next tick.
                    heartbeat();
                    return this;
                })
                .onMessage(Witnesses.class, w -> {
                    witnesses = w.seen().controllers();
                    heartbeat();
                    return this;
                })
                .onMessage(FromControlPlane.class, m -> onPush(m.message()))
                .build();
    }

    private void heartbeat() {
        Optional<PassResult> last = reported.flatMap(NodeAgent.Status::lastPass);
        List<String> failures = named(last.map(PassResult::failures).orElse(List.of()));
        Optional<NodeAgent.Status> holding = reported.filter(s -> !s.isolated());
        entity.tell(new StorageNode.Heartbeat(info, inbox, holding.map(NodeAgent.Status::desiredGeneration).orElse(-1L),
                holding.map(NodeAgent.Status::reachedGeneration).orElse(-1L), failures, last.map(PassResult::generation).orElse(-1L),
                pushed.volumesWithAny(last.map(PassResult::unsettled).orElse(Set.of())),
                last.map(p -> pushed.leftovers(info.nodeId(), p.observed(), p.zeroing())).orElse(Set.of()),
                last.map(PassResult::zeroing).orElse(List.of()), reported.map(NodeAgent.Status::cleaned).orElse(List.of()),
                last.map(PassResult::degraded).orElse(List.of()),
                last.map(this::imports).orElse(Map.of()),
                pools, Instant.now()));
    }

    /**
     * The first {@link #HEARTBEAT_FAILURES} of a pass's failures, and how many more: a burst of
     * creates leaves a node hundreds (an LD import not allowed yet, each), a heartbeat goes every
     * 300 ms, and one over Artery's frame (256 KiB) is dropped whole: the node then looks silent.
     * In the failover benchmark's 1000-volume run such heartbeats had healthy nodes declared
     * failed. The agent's log and its status name them all.
     */
    private static List<String> named(List<Failure> failures) {
        List<String> named = new ArrayList<>();
        failures.stream().limit(HEARTBEAT_FAILURES).forEach(f -> named.add(f.toString()));
        if (failures.size() > HEARTBEAT_FAILURES) {
            named.add("and " + (failures.size() - HEARTBEAT_FAILURES) + " more");
        }
        return named;
    }

    /**
     * The host-side controllers as the last pass saw them, its witness imports as the watcher reads
     * them now. A node whose witness imports (two or more) all read down says nothing of them: it
     * is far likelier the one cut off than every peer it witnesses gone at once. After a partition
     * heals its imports take seconds to reconnect, and its word would have a live peer declared
     * failed the moment that peer's agent was a second late.
     */
    private Map<String, StorageNode.Imports> imports(PassResult pass) {
        // Counted once per pass, not at every heartbeat: a node holds thousands of imports.
        if (pass != importsCounted) {
            passImports = StorageNode.Imports.byTarget(pass.observed().controllers().stream()
                    .filter(c -> !Names.isWitnessNqn(c.subsystemNqn())).toList(), info.endpoints().address());
            importsCounted = pass;
        }
        boolean cutOff = witnesses.size() > 1 && witnesses.stream().noneMatch(c -> c.state().equals("live"));
        if (cutOff || witnesses.isEmpty()) {
            return passImports;
        }
        Map<String, StorageNode.Imports> all = new TreeMap<>(passImports);
        StorageNode.Imports.byTarget(witnesses, info.endpoints().address()).forEach((address, w) -> all.merge(address, w, StorageNode.Imports::plus));
        return all;
    }

    private Behavior<Command> onPush(ToAgent msg) {
        if (msg instanceof ToAgent.PutVolume put) {
            pushed.put(put);
        } else if (msg instanceof ToAgent.VolumeCreated created) {
            pushed.created(created);
        } else if (msg instanceof ToAgent.Sync sync) {
            pushed.sync(sync).ifPresentOrElse(desired -> {
                applied = Optional.of(desired);
                agent.tell(new NodeAgent.Apply(desired));
            }, () -> getContext().getLog().warn(
                    "generation {} incomplete here ({} volumes held, {} named); waiting for the control plane to resend",
                    sync.generation(), pushed.size(), sync.versions().size()));
        } else if (msg instanceof ToAgent.Order order) {
            orders.tell(new OrderWorker.Carry(order));
        } else if (msg instanceof ToAgent.GetKernel get) {
            // What the agent's last pass observed: every pass reads the kernel first, or the look of
            // the pass before when nothing could have changed since.
            get.replyTo().tell(new ToAgent.KernelReport(reported.flatMap(NodeAgent.Status::lastPass).map(PassResult::observed)));
        }
        return this;
    }
}
