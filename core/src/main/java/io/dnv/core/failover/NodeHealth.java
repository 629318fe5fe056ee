package io.dnv.core.failover;

import io.dnv.core.CborSerializable;
import io.dnv.core.JournalFailure;
import io.dnv.core.node.StorageNode;
import io.dnv.core.volume.Volume;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * One storage node's health as the control plane decided it, with the evidence of each decision
 * ({@link Verdict}), and the failover of a failed node (docs/failover.md). A node declared FAILED
 * records, in the same event, every volume with objects on it; each is told
 * {@link Volume.ControllerFailed} until it acknowledged (it persists its own failover, fencing
 * then promotion), so the failover resumes on any control member after a crash.
 *
 * <p>A node carries thousands of volumes: all are told at once, a volume is asked again only
 * once its ask timed out, and the acknowledgements that arrive while one write is under way are
 * written together in the next (docs/failover.md, "Failover at scale").
 */
public final class NodeHealth extends EventSourcedBehaviorWithEnforcedReplies<NodeHealth.Command, NodeHealth.Event, NodeHealth.State> {

    public static final EntityTypeKey<Command> ENTITY_TYPE_KEY = EntityTypeKey.create(Command.class, "NodeHealth");
    static final Duration RETELL = Duration.ofSeconds(1);
    static final Duration ASK = Duration.ofSeconds(5);

    public enum Status { UP, AGENT_SILENT, FAILED }

    public sealed interface Command extends CborSerializable {}

    /** The detector's latest verdict on the node. */
    public record Judge(Verdict verdict) implements Command {}

    public record Get(ActorRef<View> replyTo) implements Command {}

    private record VolumesListed(Set<String> volumes, Verdict verdict) implements Command {}

    private record Acked(String volumeId, boolean affected) implements Command {}

    private enum Retell implements Command { INSTANCE }

    /** A volume did not answer in time: the retell timer asks it again, nothing sooner. */
    private record Unanswered(String volumeId) implements Command {}

    /** Writes the acknowledgements that came in since the last write, in one write. */
    private enum WriteHandled implements Command { INSTANCE }

    public sealed interface Event extends CborSerializable {}

    /** Silent agent, data path alive: no failover. */
    public record AgentSilenceSeen(Instant at, List<String> evidence) implements Event {}

    /** Declared failed: {@code volumes} are the ones with objects on it, each to be failed over. */
    public record NodeFailed(Instant at, List<String> evidence, Set<String> volumes) implements Event {}

    /** A volume recorded its failover ({@code affected}) or had no controller on the node. */
    public record VolumeHandled(String volumeId, boolean affected) implements Event {}

    /** Heard from again. A failed node gets only the desired state it has now, never its old roles. */
    public record NodeReturned(Instant at, List<String> evidence) implements Event {}

    public record State(Status status, Optional<Instant> since, List<String> evidence, Set<String> pending,
                        Set<String> failedOver) implements CborSerializable {
        static State up() {
            return new State(Status.UP, Optional.empty(), List.of(), Set.of(), Set.of());
        }
    }

    /** What the API shows of a node's health. */
    public record View(String nodeId, Status status, Optional<Instant> since, List<String> evidence, Set<String> pending,
                       Set<String> failedOver) implements CborSerializable {}

    public static void init(ActorSystem<?> system) {
        ClusterSharding.get(system).init(Entity.of(ENTITY_TYPE_KEY, c -> create(c.getEntityId())).withRole("control"));
    }

    public static Behavior<Command> create(String nodeId) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new NodeHealth(nodeId, ctx, timers)));
    }

    private final String nodeId;
    private final ActorContext<Command> ctx;
    private final TimerScheduler<Command> timers;
    private boolean listing;
    /** Acknowledgements not written yet (volume → affected), in the order they came. */
    private final Map<String, Boolean> acked = new LinkedHashMap<>();
    /** Volumes asked and not answered yet, with when (System.nanoTime()). */
    private final Map<String, Long> asked = new HashMap<>();

    private NodeHealth(String nodeId, ActorContext<Command> ctx, TimerScheduler<Command> timers) {
        super(PersistenceId.of(ENTITY_TYPE_KEY.name(), nodeId), JournalFailure.RESTART);
        this.nodeId = nodeId;
        this.ctx = ctx;
        this.timers = timers;
    }

    @Override
    public State emptyState() {
        return State.up();
    }

    @Override
    public SignalHandler<State> signalHandler() {
        return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), s -> {
            if (!s.pending().isEmpty()) {
                timers.startTimerWithFixedDelay(Retell.INSTANCE, Duration.ZERO, RETELL);
            }
        }).build();
    }

    @Override
    public CommandHandlerWithReply<Command, Event, State> commandHandler() {
        return newCommandHandlerWithReplyBuilder().forAnyState()
                .onCommand(Judge.class, this::onJudge)
                .onCommand(VolumesListed.class, this::onVolumesListed)
                .onCommand(Acked.class, this::onAcked)
                .onCommand(WriteHandled.class, (s, w) -> writeHandled(s))
                .onCommand(Retell.class, this::retell)
                .onCommand(Unanswered.class, (s, u) -> {
                    asked.remove(u.volumeId());
                    return Effect().noReply();
                })
                .onCommand(Get.class, (s, g) -> Effect().reply(g.replyTo(), new View(nodeId, s.status(), s.since(), s.evidence(),
                        s.pending(), s.failedOver())))
                .build();
    }

    private ReplyEffect<Event, State> onJudge(State s, Judge j) {
        Verdict v = j.verdict();
        return switch (v.kind()) {
            case UP -> s.status() == Status.UP ? Effect().noReply()
                    : Effect().persist(new NodeReturned(Instant.now(), List.of("heard from again")))
                            .thenRun(st -> ctx.getLog().warn("node {} heard from again after {}", nodeId, s.status())).thenNoReply();
            case SUSPECT -> Effect().noReply();
            case AGENT_SILENT -> s.status() != Status.UP ? Effect().noReply()
                    : Effect().persist(new AgentSilenceSeen(Instant.now(), v.evidence()))
                            .thenRun(st -> ctx.getLog().warn("node {}: agent silent, kernel still serving (no failover): {}", nodeId,
                                    v.evidence())).thenNoReply();
            case FAILED -> s.status() == Status.FAILED ? Effect().noReply() : listVolumes(v);
        };
    }

    /** What has objects on the node is asked before the decision is written, so the decision names it. */
    private ReplyEffect<Event, State> listVolumes(Verdict v) {
        if (!listing) {
            listing = true;
            ctx.ask(StorageNode.Volumes.class, ClusterSharding.get(ctx.getSystem()).entityRefFor(StorageNode.ENTITY_TYPE_KEY, nodeId),
                    ASK, StorageNode.GetVolumes::new, (r, t) -> new VolumesListed(r == null ? null : r.ids(), v));
        }
        return Effect().noReply();
    }

    private ReplyEffect<Event, State> onVolumesListed(State s, VolumesListed l) {
        listing = false;
        if (l.volumes() == null || s.status() == Status.FAILED) {
            return Effect().noReply();   // asked again with the detector's next verdict
        }
        ctx.getLog().warn("node {} declared FAILED, failing over {} volume(s): {}", nodeId, l.volumes().size(), l.verdict().evidence());
        return Effect().persist(new NodeFailed(Instant.now(), l.verdict().evidence(), l.volumes()))
                .thenRun(st -> timers.startTimerWithFixedDelay(Retell.INSTANCE, Duration.ZERO, RETELL)).thenNoReply();
    }

    /**
     * Tells every volume not yet acknowledged and not asked within {@link #ASK}; the volumes
     * persist their own failover and answer.
     */
    private ReplyEffect<Event, State> retell(State s, Retell r) {
        if (s.pending().isEmpty()) {
            timers.cancel(Retell.INSTANCE);
            asked.clear();
            return Effect().noReply();
        }
        ClusterSharding sharding = ClusterSharding.get(ctx.getSystem());
        long now = System.nanoTime();
        for (String volumeId : s.pending()) {
            Long at = asked.get(volumeId);
            if (acked.containsKey(volumeId) || at != null && now - at < ASK.toNanos()) {
                continue;
            }
            asked.put(volumeId, now);
            ctx.ask(Volume.FailoverAck.class, sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, volumeId), ASK,
                    reply -> new Volume.ControllerFailed(nodeId, reply),
                    (ack, t) -> ack == null ? new Unanswered(volumeId) : new Acked(ack.volumeId(), ack.affected()));
        }
        return Effect().noReply();
    }

    /** Kept until the next write: acknowledgements arrive by the thousand, one write each would queue them all. */
    private ReplyEffect<Event, State> onAcked(State s, Acked a) {
        asked.remove(a.volumeId());
        if (!s.pending().contains(a.volumeId()) || acked.containsKey(a.volumeId())) {
            return Effect().noReply();
        }
        if (acked.isEmpty()) {
            ctx.getSelf().tell(WriteHandled.INSTANCE);
        }
        acked.put(a.volumeId(), a.affected());
        return Effect().noReply();
    }

    private ReplyEffect<Event, State> writeHandled(State s) {
        List<Event> handled = new ArrayList<>();
        acked.forEach((volumeId, affected) -> {
            if (s.pending().contains(volumeId)) {
                handled.add(new VolumeHandled(volumeId, affected));
            }
        });
        acked.clear();
        return handled.isEmpty() ? Effect().noReply() : Effect().persist(handled).thenNoReply();
    }

    @Override
    public EventHandler<State, Event> eventHandler() {
        return newEventHandlerBuilder().forAnyState()
                .onEvent(AgentSilenceSeen.class, (s, e) -> new State(Status.AGENT_SILENT, Optional.of(e.at()), e.evidence(), Set.of(),
                        s.failedOver()))
                .onEvent(NodeFailed.class, (s, e) -> new State(Status.FAILED, Optional.of(e.at()), e.evidence(), e.volumes(), Set.of()))
                .onEvent(VolumeHandled.class, (s, e) -> {
                    Set<String> pending = new TreeSet<>(s.pending());
                    pending.remove(e.volumeId());
                    Set<String> done = new TreeSet<>(s.failedOver());
                    if (e.affected()) {
                        done.add(e.volumeId());
                    }
                    return new State(s.status(), s.since(), s.evidence(), pending, done);
                })
                // A failover once decided is carried through: the node comes back without its old roles.
                .onEvent(NodeReturned.class, (s, e) -> new State(Status.UP, Optional.of(e.at()), e.evidence(), s.pending(), s.failedOver()))
                .build();
    }
}
