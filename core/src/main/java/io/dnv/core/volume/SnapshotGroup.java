package io.dnv.core.volume;

import io.dnv.core.CborSerializable;
import io.dnv.core.DomainError;
import io.dnv.core.JournalFailure;
import io.dnv.core.kernel.Names;
import io.dnv.core.volume.operation.GroupSnapshot;
import io.dnv.core.volume.operation.Members;
import io.dnv.core.volume.operation.Peers;
import io.dnv.core.volume.operation.ShardedPeers;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReplyBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A snapshot of several volumes at one crash-consistent point (docs/snapshots.md, "Group
 * snapshots"); its id is its name. An operation that spans volumes lives in its own entity: the
 * group records its stages ({@link GroupSnapshot}) and drives the members, while each member
 * volume records its part as its one operation ({@link io.dnv.core.volume.operation.GroupSnapshotPart}),
 * so one operation at a time per volume and a failover's precedence hold per volume as for any
 * other operation. Every stage is persisted before it acts, so a control member that takes the
 * group over (remembered, it starts again by itself) runs the stage again; every ask is
 * idempotent.
 */
public final class SnapshotGroup extends EventSourcedBehaviorWithEnforcedReplies<SnapshotGroup.Command, SnapshotGroup.Event,
        SnapshotGroup.State> {

    public static final EntityTypeKey<Command> ENTITY_TYPE_KEY = EntityTypeKey.create(Command.class, "SnapshotGroup");
    public static final String TAG = "snapshot-group";
    /** How many volumes a group takes at most: every one is held at once. */
    public static final int MAX_VOLUMES = 64;
    static final Duration FIRST_RETRY = Duration.ofMillis(200);
    static final Duration LAST_RETRY = Duration.ofSeconds(5);
    private static final Set<String> TAGS = Set.of(TAG);

    public enum Phase { EMPTY, CREATING, READY, FAILED, DELETING, DELETED }

    // commands

    public sealed interface Command extends CborSerializable {}

    /** Snapshot {@code volumeIds} as group {@code name}; asked again with the same volumes, answers the group. */
    public record Create(String name, List<String> volumeIds, ActorRef<Result> replyTo) implements Command {}

    public record Get(ActorRef<Result> replyTo) implements Command {}

    /** Delete the group and every member's snapshot. */
    public record Delete(ActorRef<Result> replyTo) implements Command {}

    private enum Advance implements Command { INSTANCE }

    private enum Stop implements Command { INSTANCE }

    private record StepDone(long attempt, GroupSnapshot.Result result, Throwable failure) implements Command {}

    public record Result(Optional<SnapshotGroupView> group, Optional<DomainError> error) implements CborSerializable {
        static Result refused(DomainError e) {
            return new Result(Optional.empty(), Optional.of(e));
        }
    }

    // events

    public sealed interface Event extends CborSerializable {}

    public record Requested(String name, List<String> volumeIds, Instant at) implements Event {}

    /** Every member recorded its part: its snapshot's thin id, by volume. */
    public record MembersJoined(Map<String, Integer> thinIds) implements Event {}

    /** A member could not join: the members that did drop their part before the group is refused. */
    public record JoinRefused(DomainError error) implements Event {}

    /** Every member that joined dropped its part: the group is as if never asked for. */
    public record Refused() implements Event {}

    /** Every active of every member holds its stripes: the hold of each node; each member's failovers then. */
    public record StripesHeld(Map<String, String> holds, Map<String, Integer> failovers) implements Event {}

    /** Every member's legs hold their snapshot thin. */
    public record ThinsSnapped() implements Event {}

    public record Undoing(String reason) implements Event {}

    public record Retried() implements Event {}

    /** Every hold was intact until released: consistent; host I/O was held at most {@code heldMillis}. */
    public record Taken(long heldMillis) implements Event {}

    /** Undone for the last time: no member's snapshot has a thin in any pool. */
    public record Failed(String reason) implements Event {}

    /** Every member ended its part: the group is READY or FAILED. */
    public record MembersTold() implements Event {}

    public record DeleteRequested(Instant at) implements Event {}

    /** Every member's snapshot is gone. */
    public record Deleted() implements Event {}

    // state

    /**
     * @param thinIds   each member's snapshot thin id, once joined
     * @param refusal   why the last request was refused at JOIN (answered to who waits for it)
     * @param revision  how many events were folded: a stage's attempt is the revision it began at
     */
    public record State(Phase phase, String name, List<String> volumeIds, Optional<Instant> createdAt, Map<String, Integer> thinIds,
                        Optional<GroupSnapshot> operation, Optional<String> error, Optional<DomainError> refusal, long heldMillis,
                        long revision) implements CborSerializable {

        public State {
            volumeIds = List.copyOf(volumeIds);
            thinIds = Map.copyOf(thinIds);
        }

        static State empty(Phase phase, Optional<DomainError> refusal, long revision) {
            return new State(phase, "", List.of(), Optional.empty(), Map.of(), Optional.empty(), Optional.empty(), refusal, 0, revision);
        }

        public String snapshotId(String volumeId) {
            return Snapshot.id(volumeId, thinIds.get(volumeId));
        }

        long next() {
            return revision + 1;
        }

        State with(Phase p, Optional<GroupSnapshot> op, Optional<String> why, long held) {
            return new State(p, name, volumeIds, createdAt, thinIds, op, why, refusal, held, next());
        }

        State with(GroupSnapshot op) {
            return with(phase, Optional.of(op), error, heldMillis);
        }

        GroupSnapshot op() {
            return operation.orElseThrow();
        }
    }

    public static void init(ActorSystem<?> system) {
        ClusterSharding sharding = ClusterSharding.get(system);
        Peers peers = new ShardedPeers(sharding, ShardedPeers.holdBound(system.settings().config()));
        Members members = new Members(v -> sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, v), system.scheduler());
        sharding.init(Entity.of(ENTITY_TYPE_KEY, c -> create(c.getEntityId(), c.getShard(), peers, members))
                .withRole("control").withStopMessage(Stop.INSTANCE)
                .withSettings(ClusterShardingSettings.create(system).withRememberEntities(true)));
    }

    public static Behavior<Command> create(String groupId, ActorRef<ClusterSharding.ShardCommand> shard, Peers peers, Members members) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new SnapshotGroup(groupId, shard, peers, members, ctx, timers)));
    }

    private final String groupId;
    private final ActorRef<ClusterSharding.ShardCommand> shard;
    private final Peers peers;
    private final Members members;
    private final ActorContext<Command> ctx;
    private final TimerScheduler<Command> timers;
    // In memory: the step under way, how the current stage is doing, creates waiting for the join.
    private boolean stepInFlight;
    private long watchedAttempt = -1;
    private Instant stageSince = Instant.now();
    private int failures;
    private Optional<String> waitingFor = Optional.empty();
    private boolean passivationAsked;
    private final List<ActorRef<Result>> waitingCreates = new ArrayList<>();

    private SnapshotGroup(String groupId, ActorRef<ClusterSharding.ShardCommand> shard, Peers peers, Members members,
                          ActorContext<Command> ctx, TimerScheduler<Command> timers) {
        super(PersistenceId.of(ENTITY_TYPE_KEY.name(), groupId), JournalFailure.RESTART);
        this.groupId = groupId;
        this.shard = shard;
        this.peers = peers;
        this.members = members;
        this.ctx = ctx;
        this.timers = timers;
    }

    @Override
    public State emptyState() {
        return State.empty(Phase.EMPTY, Optional.empty(), 0);
    }

    @Override
    public Set<String> tagsFor(Event event) {
        return TAGS;
    }

    @Override
    public SignalHandler<State> signalHandler() {
        return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), s -> advanceSoon()).build();
    }

    // ---------------------------------------------------------------- commands

    @Override
    public CommandHandlerWithReply<Command, Event, State> commandHandler() {
        CommandHandlerWithReplyBuilder<Command, Event, State> b = newCommandHandlerWithReplyBuilder();
        b.forState(s -> s.phase() == Phase.EMPTY || s.phase() == Phase.DELETED)
                .onCommand(Create.class, this::onCreate)
                .onCommand(Get.class, (s, c) -> absent(c.replyTo()))
                .onCommand(Delete.class, (s, c) -> absent(c.replyTo()))
                .onCommand(Stop.class, (s, c) -> Effect().stop().thenNoReply());
        b.forState(s -> s.phase() == Phase.CREATING)
                .onCommand(Delete.class, (s, c) -> Effect().reply(c.replyTo(), Result.refused(new DomainError.Conflict("snapshot group "
                        + groupId + " is being taken (stage " + s.op().stageName() + "); delete it once READY or FAILED",
                        Optional.of("snapshot-group"), Optional.of(s.op().stageName())))));
        b.forState(s -> s.phase() == Phase.READY || s.phase() == Phase.FAILED)
                .onCommand(Delete.class, (s, c) -> Effect().persist(new DeleteRequested(Instant.now())).thenRun(this::afterEvent)
                        .thenReply(c.replyTo(), st -> ok(st)));
        b.forAnyState()
                .onCommand(Create.class, this::onCreateAgain)
                .onCommand(Delete.class, (s, c) -> Effect().reply(c.replyTo(), ok(s)))
                .onCommand(Get.class, (s, c) -> Effect().reply(c.replyTo(), ok(s)))
                .onCommand(Stop.class, (s, c) -> passivationAsked ? stopAndComeBack() : Effect().stop().thenNoReply())
                .onCommand(Advance.class, (s, c) -> advance(s))
                .onCommand(StepDone.class, this::onStepDone);
        return b.build();
    }

    /**
     * A group is created once its members joined: the caller hears back then, with the group,
     * or with why a member could not join (nothing of the group left anywhere).
     */
    private ReplyEffect<Event, State> onCreate(State s, Create c) {
        Optional<DomainError> invalid = invalid(c);
        if (invalid.isPresent()) {
            return absent(c.replyTo(), Result.refused(invalid.get()));
        }
        waitingCreates.add(c.replyTo());
        return Effect().persist(new Requested(c.name(), c.volumeIds(), Instant.now())).thenRun(this::afterEvent).thenNoReply();
    }

    /** The same volumes again answer the group (once it is past its join); others are a conflict. */
    private ReplyEffect<Event, State> onCreateAgain(State s, Create c) {
        if (!s.volumeIds().equals(c.volumeIds())) {
            return Effect().reply(c.replyTo(), Result.refused(DomainError.Conflict.of("snapshot group " + groupId + " exists with other"
                    + " volumes (" + String.join(", ", s.volumeIds()) + ")")));
        }
        if (joining(s)) {
            waitingCreates.add(c.replyTo());
            return Effect().noReply();
        }
        return Effect().reply(c.replyTo(), ok(s));
    }

    private Optional<DomainError> invalid(Create c) {
        if (!c.name().equals(groupId) || !Snapshot.isName(c.name())) {
            return Optional.of(new DomainError.Invalid("name", "must be " + Snapshot.NAME_RULE));
        }
        if (c.volumeIds().isEmpty() || c.volumeIds().size() > MAX_VOLUMES) {
            return Optional.of(new DomainError.Invalid("volumeIds", "must name 1 to " + MAX_VOLUMES + " volumes"));
        }
        Set<String> seen = new HashSet<>();
        for (String v : c.volumeIds()) {
            if (!Names.isVolumeId(v)) {
                return Optional.of(new DomainError.Invalid("volumeIds", v + " is no volume id"));
            }
            if (!seen.add(v)) {
                return Optional.of(new DomainError.Invalid("volumeIds", v + " is named twice"));
            }
        }
        return Optional.empty();
    }

    private static boolean joining(State s) {
        return s.operation().map(op -> op.stage() == GroupSnapshot.Stage.JOIN || op.stage() == GroupSnapshot.Stage.LEAVE).orElse(false);
    }

    private Result ok(State s) {
        return new Result(Optional.of(view(s)), Optional.empty());
    }

    private ReplyEffect<Event, State> absent(ActorRef<Result> replyTo) {
        return absent(replyTo, Result.refused(new DomainError.NotFound("no snapshot group " + groupId)));
    }

    private ReplyEffect<Event, State> absent(ActorRef<Result> replyTo, Result answer) {
        return Effect().none().thenRun(st -> passivate()).thenReply(replyTo, st -> answer);
    }

    private void passivate() {
        passivationAsked = true;
        shard.tell(new ClusterSharding.Passivate<>(ctx.getSelf()));
    }

    /** As a volume does: asked to passivate while it did not exist, and created meanwhile, it comes back through the shard. */
    private ReplyEffect<Event, State> stopAndComeBack() {
        ClusterSharding.get(ctx.getSystem()).entityRefFor(ENTITY_TYPE_KEY, groupId).tell(Advance.INSTANCE);
        return Effect().stop().thenNoReply();
    }

    SnapshotGroupView view(State s) {
        boolean watched = s.operation().map(op -> op.attempt() == watchedAttempt).orElse(false);
        boolean overdue = watched && Duration.between(stageSince, Instant.now()).compareTo(s.op().deadline()) > 0;
        return new SnapshotGroupView(groupId, s.name(), s.volumeIds(), s.phase().name(), s.createdAt().orElse(Instant.EPOCH),
                s.thinIds().isEmpty() ? List.of() : s.volumeIds().stream().map(s::snapshotId).toList(),
                s.operation().map(GroupSnapshot::stageName), overdue, watched ? waitingFor : Optional.empty(), s.error(), s.heldMillis());
    }

    // ---------------------------------------------------------------- the steps

    private void advanceSoon() {
        timers.startSingleTimer(Advance.INSTANCE, Advance.INSTANCE, Duration.ZERO);
    }

    private void afterEvent(State st) {
        if (!joining(st)) {
            Result answer = st.phase() == Phase.EMPTY ? Result.refused(st.refusal().orElseThrow()) : ok(st);
            waitingCreates.forEach(r -> r.tell(answer));
            waitingCreates.clear();
        }
        if (st.phase() == Phase.DELETED || st.phase() == Phase.EMPTY) {
            passivate();
        } else {
            advanceSoon();
        }
    }

    /** One step at a time; a step of a superseded stage is waited for and its result dropped. */
    private ReplyEffect<Event, State> advance(State s) {
        if (stepInFlight || s.operation().isEmpty()) {
            return Effect().noReply();
        }
        GroupSnapshot op = s.op();
        if (op.attempt() != watchedAttempt) {
            watchedAttempt = op.attempt();
            stageSince = Instant.now();
            failures = 0;
            waitingFor = Optional.empty();
        }
        stepInFlight = true;
        CompletionStage<GroupSnapshot.Result> work;
        try {
            work = op.run(s, peers, members);
        } catch (RuntimeException e) {
            work = CompletableFuture.failedFuture(e);
        }
        long attempt = op.attempt();
        ctx.pipeToSelf(work, (result, failure) -> new StepDone(attempt, result, failure));
        return Effect().noReply();
    }

    private ReplyEffect<Event, State> onStepDone(State s, StepDone d) {
        stepInFlight = false;
        if (s.operation().filter(op -> op.attempt() == d.attempt()).isEmpty()) {
            advanceSoon();
            return Effect().noReply();
        }
        GroupSnapshot.Outcome outcome;
        try {
            if (d.failure() != null) {
                throw d.failure();
            }
            outcome = s.op().onResult(s, d.result());
        } catch (Throwable t) {
            // Retried with backoff; what failed stays visible until the stage moves on.
            failures++;
            Throwable cause = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
            waitingFor = Optional.of(cause.toString());
            Duration delay = FIRST_RETRY.multipliedBy(1L << Math.min(failures - 1, 10));
            delay = delay.compareTo(LAST_RETRY) > 0 ? LAST_RETRY : delay;
            ctx.getLog().warn("snapshot group {}: stage {} failed ({} in a row), retrying in {} ms: {}", groupId, s.op().stageName(),
                    failures, delay.toMillis(), cause.toString());
            timers.startSingleTimer(Advance.INSTANCE, Advance.INSTANCE, delay);
            return Effect().noReply();
        }
        if (outcome instanceof GroupSnapshot.Again again) {
            waitingFor = Optional.of(again.waitingFor());
            timers.startSingleTimer(Advance.INSTANCE, Advance.INSTANCE, again.after());
            return Effect().noReply();
        }
        return Effect().persist(((GroupSnapshot.Persist) outcome).event()).thenRun(this::afterEvent).thenNoReply();
    }

    // ---------------------------------------------------------------- events: a pure fold

    @Override
    public EventHandler<State, Event> eventHandler() {
        return newEventHandlerBuilder().forAnyState()
                .onEvent(Requested.class, (s, e) -> new State(Phase.CREATING, e.name(), e.volumeIds(), Optional.of(e.at()), Map.of(),
                        Optional.of(GroupSnapshot.at(GroupSnapshot.Stage.JOIN, e.at(), s.next())), Optional.empty(), Optional.empty(), 0,
                        s.next()))
                .onEvent(MembersJoined.class, (s, e) -> new State(s.phase(), s.name(), s.volumeIds(), s.createdAt(), e.thinIds(),
                        Optional.of(s.op().next(GroupSnapshot.Stage.HOLD, s.next())), s.error(), s.refusal(), 0, s.next()))
                .onEvent(JoinRefused.class, (s, e) -> new State(s.phase(), s.name(), s.volumeIds(), s.createdAt(), s.thinIds(),
                        Optional.of(s.op().next(GroupSnapshot.Stage.LEAVE, s.next())), s.error(), Optional.of(e.error()), 0, s.next()))
                .onEvent(Refused.class, (s, e) -> State.empty(Phase.EMPTY, s.refusal(), s.next()))
                .onEvent(StripesHeld.class, (s, e) -> s.with(s.op().held(e.holds(), e.failovers(), s.next())))
                .onEvent(ThinsSnapped.class, (s, e) -> s.with(s.op().next(GroupSnapshot.Stage.RELEASE, s.next())))
                .onEvent(Undoing.class, (s, e) -> s.with(s.op().undoing(e.reason(), s.next())))
                .onEvent(Retried.class, (s, e) -> s.with(s.op().retried(s.next())))
                .onEvent(Taken.class, (s, e) -> s.with(s.phase(), Optional.of(s.op().finishing(Optional.empty(), s.next())), s.error(),
                        e.heldMillis()))
                .onEvent(Failed.class, (s, e) -> s.with(s.op().finishing(Optional.of(e.reason()), s.next())))
                .onEvent(MembersTold.class, (s, e) -> s.with(s.op().failure().isEmpty() ? Phase.READY : Phase.FAILED, Optional.empty(),
                        s.op().failure(), s.heldMillis()))
                .onEvent(DeleteRequested.class, (s, e) -> s.with(Phase.DELETING,
                        Optional.of(GroupSnapshot.at(GroupSnapshot.Stage.DROP, e.at(), s.next())), s.error(), s.heldMillis()))
                .onEvent(Deleted.class, (s, e) -> State.empty(Phase.DELETED, Optional.empty(), s.next()))
                .build();
    }
}
