package io.dnv.core.volume;

import io.dnv.core.CborSerializable;
import io.dnv.core.DomainError;
import io.dnv.core.JournalFailure;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.volume.operation.ChangeAttachments;
import io.dnv.core.volume.operation.ChangeExports;
import io.dnv.core.volume.operation.CreateSnapshot;
import io.dnv.core.volume.operation.CreateVolume;
import io.dnv.core.volume.operation.DeleteSnapshot;
import io.dnv.core.volume.operation.DeleteVolume;
import io.dnv.core.volume.operation.ExtendVolume;
import io.dnv.core.volume.operation.GrowPools;
import io.dnv.core.node.PoolUsage;
import io.dnv.core.volume.operation.FailOver;
import io.dnv.core.volume.operation.FinishClone;
import io.dnv.core.volume.operation.GroupSnapshotPart;
import io.dnv.core.volume.operation.Hydration;
import io.dnv.core.volume.operation.Operation;
import io.dnv.core.volume.operation.Outcome;
import io.dnv.core.volume.operation.Peers;
import io.dnv.core.volume.operation.ShardedPeers;
import io.dnv.core.volume.operation.StepResult;
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
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A volume (its id is its name): its desired spec, placement and attachments, plus at most one
 * operation under way ({@link Operation}: create, attachments, delete, extend, failover). The entity persists
 * each stage of the operation before it acts and derives the next step from the state alone,
 * so after a crash it resumes where it stopped. A step's result is applied only if its stage
 * is still the current one (the attempt matches); anything else is dropped.
 *
 * <p>Conflicts (docs/flows.md): attach and detach requests queue behind each other and behind an
 * extend or a failover; a delete supersedes a create or a failover at any stage; a failover
 * preempts what a READY volume runs, and a node's failure rolls a create back; any other command
 * that collides with the running operation is refused with a {@link DomainError.Conflict} naming
 * the operation and its stage.
 */
public final class Volume extends EventSourcedBehaviorWithEnforcedReplies<Volume.Command, Volume.Event, Volume.State> {

    public static final EntityTypeKey<Command> ENTITY_TYPE_KEY = EntityTypeKey.create(Command.class, "Volume");
    static final Duration FIRST_RETRY = Duration.ofMillis(200);
    static final Duration LAST_RETRY = Duration.ofSeconds(5);
    /** Every event carries it, so the read side finds every volume that changed with one eventsByTag query. */
    public static final String TAG = "volume";
    private static final Set<String> TAGS = Set.of(TAG);

    public enum Phase { EMPTY, CREATING, READY, DELETING, FAILED, DELETED }

    // commands

    public sealed interface Command extends CborSerializable {}

    /** {@code source}: the volume is a clone of it (docs/clone.md). */
    public record Create(String name, VolumeSpec spec, Optional<VolumeSource> source, ActorRef<Result> replyTo) implements Command {
        public Create(String name, VolumeSpec spec, ActorRef<Result> replyTo) {
            this(name, spec, Optional.empty(), replyTo);
        }
    }

    public record Get(ActorRef<Result> replyTo) implements Command {}

    public record Attach(String hostNqn, ActorRef<AttachResult> replyTo) implements Command {}

    public record Detach(String hostNqn, ActorRef<Result> replyTo) implements Command {}

    /** {@code withSnapshots}: the volume's snapshots go with it; without, a volume that has any is refused. */
    public record Delete(ActorRef<Result> replyTo, boolean withSnapshots) implements Command {
        public Delete(ActorRef<Result> replyTo) {
            this(replyTo, false);
        }
    }

    /** Grow to {@code sizeBytes}; asking again for the size reached or being reached answers the volume. */
    public record Extend(long sizeBytes, ActorRef<Result> replyTo) implements Command {}

    /**
     * {@code nodeId} was declared failed (its evidence is the node's): a volume with a controller
     * there fails over; any other answers that it is not affected.
     */
    public record ControllerFailed(String nodeId, ActorRef<FailoverAck> replyTo) implements Command {}

    /** {@code affected}: the volume had a controller on the node and its failover is recorded (or done). */
    public record FailoverAck(String volumeId, boolean affected) implements CborSerializable {}

    /** A storage node's audit: does this volume still hold what it reserved on {@code nodeId}? */
    public record Holds(String nodeId, ActorRef<Holding> replyTo) implements Command {}

    /**
     * From a {@code StorageNode}: the volume's leg pools on that node past the low-water mark
     * ({@code markPercent}), repeated while any is; empty once none is (PoolWatch).
     */
    public record PoolsPastMark(String nodeId, int markPercent, List<PoolUsage> pools) implements Command {}

    /** Pools are grown at most this often: a grown pool reads below the mark only at its agent's next pass. */
    static final Duration GROWTH_SPACING = Duration.ofSeconds(30);

    public record Holding(boolean holds) implements CborSerializable {}

    /** Take a crash-consistent snapshot named {@code name}; the name of one the volume has answers that one. */
    public record TakeSnapshot(String name, ActorRef<SnapshotResult> replyTo) implements Command {}

    public record GetSnapshot(String snapshotId, ActorRef<SnapshotResult> replyTo) implements Command {}

    public record ListSnapshots(ActorRef<SnapshotList> replyTo) implements Command {}

    /** Delete snapshot {@code snapshotId}; one being deleted answers as it is. */
    public record DropSnapshot(String snapshotId, ActorRef<SnapshotResult> replyTo) implements Command {}

    // A clone's asks of its source volume (docs/clone.md)

    /**
     * Export snapshot {@code snapshotId} to node {@code nodeId} for volume {@code volumeId} (a
     * clone hydrating from it); asked again, answers whether the kernels have it in place.
     */
    public record ExportSnapshot(String snapshotId, String volumeId, String nodeId, ActorRef<ExportReply> replyTo)
            implements Command {}

    /** Volume {@code volumeId} imports snapshot {@code snapshotId} no more (from any node); asked again, answers the same. */
    public record ReleaseSnapshotExport(String snapshotId, String volumeId, ActorRef<ExportReply> replyTo) implements Command {}

    // A snapshot group's asks of a member volume (SnapshotGroup, docs/snapshots.md "Group snapshots")

    /** Take part in snapshot group {@code groupId}: a snapshot named {@code name}, taken by the group. */
    public record JoinGroup(String groupId, String name, ActorRef<GroupPartReply> replyTo) implements Command {}

    /** The volume's part in the group now, with its layout to hold and snap. */
    public record GetGroupPart(String groupId, ActorRef<GroupPartReply> replyTo) implements Command {}

    /** The group is over: the part's snapshot is READY ({@code taken}) or FAILED ({@code reason}). */
    public record EndGroupPart(String groupId, boolean taken, long heldMillis, String reason, ActorRef<GroupPartReply> replyTo)
            implements Command {}

    /** The group was refused before it held anything: the part goes as if it never was. */
    public record LeaveGroup(String groupId, ActorRef<GroupPartReply> replyTo) implements Command {}

    private enum Advance implements Command { INSTANCE }

    /** Time to look at a hydrating clone's progress. */
    private enum WatchHydration implements Command { INSTANCE }

    /** What the first active's dm-clone said (empty: no status, {@code failure}: the ask failed). */
    private record HydrationSeen(Optional<io.dnv.core.kernel.CloneStatus> status, Throwable failure) implements Command {}

    /** Sharding's stop message: after the volume asked to be passivated, or when its shard is handed off. */
    private enum Stop implements Command { INSTANCE }

    /** A step of the stage entered at {@code attempt} came back. */
    private record StepDone(long attempt, StepResult result, Throwable failure) implements Command {}

    // replies

    public record Result(Optional<VolumeView> volume, Optional<DomainError> error) implements CborSerializable {
        static Result ok(VolumeView v) {
            return new Result(Optional.of(v), Optional.empty());
        }

        static Result refused(DomainError e) {
            return new Result(Optional.empty(), Optional.of(e));
        }
    }

    public record SnapshotResult(Optional<SnapshotView> snapshot, Optional<DomainError> error) implements CborSerializable {
        static SnapshotResult refused(DomainError e) {
            return new SnapshotResult(Optional.empty(), Optional.of(e));
        }
    }

    public record SnapshotList(List<SnapshotView> snapshots, Optional<DomainError> error) implements CborSerializable {}

    /**
     * A member's answer to its group. {@code IN}: the volume runs its part ({@code part} with its
     * layout now); {@code PAUSED}: a failover runs with the part paused in it; {@code OUT}: no
     * part (ended, or never joined); {@code REFUSED}: it cannot join ({@code refusal} says why).
     */
    public record GroupPartReply(PartStatus status, Optional<GroupPart> part, Optional<DomainError> refusal)
            implements CborSerializable {}

    public enum PartStatus { IN, PAUSED, OUT, REFUSED }

    /** A member's snapshot and what to hold and snap for it; {@code failovers}: how many the part went through. */
    public record GroupPart(String snapshotId, int thinId, VolumeSpec spec, Placement placement, int failovers)
            implements CborSerializable {}

    /**
     * The snapshot an importer reads: its thin, and its legs striped as the volume's ({@code
     * legCount} legs of {@code legSectors}).
     */
    public record ExportedSnapshot(String snapshotId, int thinId, int legCount, long legSectors) implements CborSerializable {}

    /**
     * An export's answer: the snapshot exported ({@code export}; empty for a release), and whether
     * the kernels have every recorded import in place ({@code settled}: no export change under way).
     */
    public record ExportReply(Optional<ExportedSnapshot> export, boolean settled, Optional<DomainError> error)
            implements CborSerializable {
        static ExportReply refused(DomainError e) {
            return new ExportReply(Optional.empty(), false, Optional.of(e));
        }
    }

    public record AttachResult(Optional<ConnectInfo> connect, Optional<DomainError> error) implements CborSerializable {
        static AttachResult refused(DomainError e) {
            return new AttachResult(Optional.empty(), Optional.of(e));
        }
    }

    // events: each one enters a stage, ends an operation, or records what is wanted

    public sealed interface Event extends CborSerializable {}

    /** {@code source}: a clone's (empty in journals written before clones). */
    public record CreateRequested(String name, VolumeSpec spec, Instant at, Optional<VolumeSource> source) implements Event {
        public CreateRequested {
            source = source == null ? Optional.empty() : source;
        }
    }

    public record NodesChosen(Placer.Choice choice, Map<String, NodeEndpoints> endpoints) implements Event {}

    public record Reserved(Placement placement) implements Event {}

    /**
     * Every involved node persisted the volume's objects; converged once each agent reached its
     * generation ({@code at} null in journals written before it was recorded).
     */
    public record ObjectsApplied(Map<String, Long> generations, Instant at) implements Event {}

    public record Converged() implements Event {}

    /** The groups are created: from now on nothing of theirs is zeroed or created with nosync again. */
    public record BecameReady() implements Event {}

    public record CreateFailed(String reason) implements Event {}

    /** Another create took what this one chose (everything it got is given back): choose again. */
    public record PlacementRefused(String reason) implements Event {}

    /** The hosts now wanted ({@code at} is null in journals written before it was recorded). */
    public record AttachmentsChanged(List<String> attachments, Instant at) implements Event {}

    public record DeleteRequested(Instant at) implements Event {}

    /** A controller's node failed: it is FENCED in the placement and the failover starts. */
    public record FailoverRequested(String nodeId, Instant at) implements Event {}

    /**
     * Every node but the failed one converged to the fenced placement: nothing of the failed node
     * lands any more. Failover events carry when they were decided ({@code at}; null in journals
     * written before), so the volume's view times every stage.
     */
    public record Fenced(Instant at) implements Event {}

    /** The standby taking the failed active's slot, with its place in its node's active ANA group. */
    public record SuccessorPlaced(Placement placement, Instant at) implements Event {}

    /**
     * Every node converged to the promoted placement: the successor serves ({@code successor}
     * empty: a standby failed, nobody was promoted); the other actives' paths to the failed
     * owner's leg exports are no longer wanted.
     */
    public record Promoted(String successor, Instant at) implements Event {}

    /** The node that will hold the new standby, recorded before its ANA group is reserved there. */
    public record StandbyChosen(String nodeId, Map<String, NodeEndpoints> endpoints, Instant at) implements Event {}

    /** The new standby, with its place in its node's standby ANA group. */
    public record StandbyPlaced(Placement placement, Instant at) implements Event {}

    /** No new standby: none was needed ({@code reason} empty), or none could be placed (why); the volume runs without. */
    public record NoStandbyPlaced(String reason, Instant at) implements Event {}

    /** The failover is done ({@code error} empty) or could promote nobody (why); replaced fenced controllers leave the placement. */
    public record FailedOver(String error, Instant at) implements Event {}

    /**
     * A node of a volume being created failed: what the create applied is taken off every node
     * and what it reserved given back, then it chooses again without that node.
     */
    public record PlacementLost(String nodeId, Instant at) implements Event {}

    /** No node is to hold anything of the volume any more. */
    public record ObjectsRemoved() implements Event {}

    public record Deleted() implements Event {}

    /** An extend from {@code fromBytes} began; every group's pool slices are recorded before any changes. */
    public record ExtendRequested(long fromBytes, long toBytes, Instant at) implements Event {}

    /** Disk nodes for each leg's new raid1 group (and the endpoints of every node as then known). */
    public record ExtendNodesChosen(List<List<String>> sides, Map<String, NodeEndpoints> endpoints) implements Event {}

    /** Every leg holds its new group (brand new, not in its pool yet). */
    public record GroupsReserved(Placement placement) implements Event {}

    /** The agents built the new groups: created from now on, never zeroed again, so they may join the pools. */
    public record GroupsBuilt() implements Event {}

    /** Every leg's pool and thin device (and its export) has the new size. */
    public record LegsGrown() implements Event {}

    /** Every stripe and standby has the new size and every export told its hosts: the volume has its new size. */
    public record Extended() implements Event {}

    /** The extend could not place or reserve its groups (each given back); the volume keeps its size. */
    public record ExtendFailed(String reason) implements Event {}

    /**
     * A leg's pool is past the low-water mark ({@code reason}): every leg's pool grows by group
     * {@code group} of these slices (GrowPools); every group's pool slices are recorded first.
     */
    public record PoolGrowthRequested(int group, long thinMetaSectors, long thinDataSectors, String reason, Instant at)
            implements Event {}

    /** Disk nodes for each leg's new raid1 group (and the endpoints of every node as then known). */
    public record PoolGrowthNodesChosen(List<List<String>> sides, Map<String, NodeEndpoints> endpoints) implements Event {}

    /** Every leg holds its new group (brand new, not in its pool yet). */
    public record PoolGroupsReserved(Placement placement) implements Event {}

    /** The agents built the new groups: created from now on, so they may join the pools. */
    public record PoolGroupsBuilt() implements Event {}

    /** Every leg's pool has the new group's space. */
    public record PoolsGrown() implements Event {}

    /** The groups could not be placed or reserved (each given back): the volume is FULL while a pool is past the mark. */
    public record PoolGrowthFailed(String reason) implements Event {}

    /** A snapshot begins with thin id {@code thinId}, of the volume at {@code sizeBytes}. */
    public record SnapshotRequested(String snapshotId, String name, int thinId, long sizeBytes, Instant at) implements Event {}

    /** Every active's agent holds the volume's stripe: the hold each answered, by node. */
    public record StripesHeld(Map<String, String> holds) implements Event {}

    /** Every leg's pool has the snapshot's thin. */
    public record ThinsSnapped() implements Event {}

    /** Every hold was intact until released: the snapshot is READY; host I/O was held at most {@code heldMillis}. */
    public record SnapshotTaken(String snapshotId, long heldMillis) implements Event {}

    /** A step failed or a hold lapsed: every hold is released and the snapshot's thin deleted before anything else. */
    public record SnapshotUndoing(String reason) implements Event {}

    /** Undone: taken again from the hold. */
    public record SnapshotRetried() implements Event {}

    /** Undone for the last time: nothing of it is left in any pool. */
    public record SnapshotFailed(String snapshotId, String reason) implements Event {}

    /** The volume's part in snapshot group {@code groupId} begins: a snapshot as {@link SnapshotRequested}, taken by the group. */
    public record GroupSnapshotJoined(String groupId, String snapshotId, String name, int thinId, long sizeBytes, Instant at)
            implements Event {}

    /** The group was refused before it held anything: the part's snapshot goes from the volume as if never asked for. */
    public record GroupSnapshotLeft(String snapshotId) implements Event {}

    public record SnapshotDeleteRequested(String snapshotId, int thinId, Instant at) implements Event {}

    /** Gone from every leg's pool. */
    public record SnapshotDeleted(String snapshotId) implements Event {}

    /** Node {@code imported.nodeId()} imports the snapshot for a clone: the export is brought into the kernels. */
    public record SnapshotImported(SnapshotImport imported, Instant at) implements Event {}

    /** Volume {@code volumeId} imports the snapshot no more; {@code nodes}: those that import nothing of it now. */
    public record SnapshotImportReleased(String snapshotId, String volumeId, List<String> nodes, Instant at) implements Event {}

    // a clone's (docs/clone.md)

    /** The source volume took the clone's snapshot of it (a volume source): the clone hydrates from {@code snapshotId}. */
    public record CloneSourceSnapshotted(String snapshotId) implements Event {}

    /** The source exports the snapshot to the clone's first active, whose agent has it: the clone's objects may name it. */
    public record CloneSourceImported(ExportedSnapshot exported) implements Event {}

    /** The clone's create failed ({@code reason}): its source's export and own snapshot are let go before it says so. */
    public record CloneSourceReleasing(String reason) implements Event {}

    /** Nothing of the source is held for the clone any more. */
    public record CloneSourceReleased() implements Event {}

    /** How far hydration got (recorded every {@link io.dnv.core.volume.operation.Hydration#STEP_PERCENT} %, for the event log). */
    public record HydrationProgressed(Clone.Progress progress) implements Event {}

    /** Every region is copied: the clone is swapped for the plain stripe and its source let go. */
    public record CloneHydrated(Clone.Progress progress, Instant at) implements Event {}

    /** The clone's other actives moved to their nodes' active groups. */
    public record CloneActivesRegrouped(Placement placement) implements Event {}

    /** The clone's metadata thin is gone from its first leg's pool. */
    public record CloneMetadataDropped() implements Event {}

    // state

    /**
     * @param attachments the hosts wanted
     * @param exported    the hosts the kernels allow, as of the last finished operation
     * @param revision    how many events were folded: a stage's attempt is the revision it began at
     */
    public record State(Phase phase, String name, Optional<VolumeSpec> spec, Optional<Instant> createdAt,
                        Optional<Placer.Choice> choice, Map<String, NodeEndpoints> endpoints, Optional<Placement> placement,
                        List<String> attachments, List<String> exported, Optional<Operation> operation, Optional<String> error,
                        int placementAttempts, Optional<FailOver.Summary> lastFailover, long revision, Snapshots snapshots,
                        Optional<Clone> cloneOf)
        implements CborSerializable {

        /** As the volume's own fold builds it: the snapshot catalog's fold fills the catalog in ({@link #eventHandler}). */
        public State(Phase phase, String name, Optional<VolumeSpec> spec, Optional<Instant> createdAt,
                     Optional<Placer.Choice> choice, Map<String, NodeEndpoints> endpoints, Optional<Placement> placement,
                     List<String> attachments, List<String> exported, Optional<Operation> operation, Optional<String> error,
                     int placementAttempts, Optional<FailOver.Summary> lastFailover, long revision) {
            this(phase, name, spec, createdAt, choice, endpoints, placement, attachments, exported, operation, error,
                    placementAttempts, lastFailover, revision, Snapshots.NONE, Optional.empty());
        }

        public State {
            snapshots = snapshots == null ? Snapshots.NONE : snapshots;
            cloneOf = cloneOf == null ? Optional.empty() : cloneOf;
            endpoints = Map.copyOf(endpoints);
            attachments = List.copyOf(attachments);
            // Snapshots from before operations were recorded: the kernels allowed what was wanted.
            exported = List.copyOf(exported == null ? attachments : exported);
            operation = operation == null ? Optional.empty() : operation;
            lastFailover = lastFailover == null ? Optional.empty() : lastFailover;
        }

        static State empty(Phase phase, long revision) {
            return new State(phase, "", Optional.empty(), Optional.empty(), Optional.empty(), Map.of(), Optional.empty(),
                    List.of(), List.of(), Optional.empty(), Optional.empty(), 0, Optional.empty(), revision);
        }

        /**
         * Every node that may hold something of the volume: its own, every node importing a
         * snapshot of it, and those whose import is being released.
         */
        public List<String> nodes() {
            TreeSet<String> n = new TreeSet<>(ownNodes());
            n.addAll(snapshots.importers());
            operation.filter(ChangeExports.class::isInstance).ifPresent(op -> n.addAll(((ChangeExports) op).released()));
            return List.copyOf(n);
        }

        /** The nodes of the volume's placement: its controllers and its legs' disk nodes. */
        public List<String> ownNodes() {
            TreeSet<String> n = new TreeSet<>();
            placement.ifPresent(p -> {
                p.controllers().forEach(c -> n.add(c.nodeId()));
                p.legs().forEach(l -> l.groups().forEach(g -> g.sides().forEach(x -> n.add(x.nodeId()))));
            });
            return List.copyOf(n);
        }

        /** The next revision: what a stage entered by the event being folded takes as its attempt. */
        long next() {
            return revision + 1;
        }

        State with(Phase p, Optional<Operation> op) {
            return new State(p, name, spec, createdAt, choice, endpoints, placement, attachments, exported, op, error,
                    placementAttempts, lastFailover, next());
        }

        State with(Operation op) {
            return with(phase, Optional.of(op));
        }

        State placed(Optional<Placement> p, Map<String, NodeEndpoints> known, Operation op) {
            return new State(phase, name, spec, createdAt, choice, known, p, attachments, exported, Optional.of(op), error,
                    placementAttempts, lastFailover, next());
        }

        State withSnapshots(Snapshots catalog) {
            return new State(phase, name, spec, createdAt, choice, endpoints, placement, attachments, exported, operation, error,
                    placementAttempts, lastFailover, revision, catalog, cloneOf);
        }

        State withClone(Optional<Clone> c) {
            return new State(phase, name, spec, createdAt, choice, endpoints, placement, attachments, exported, operation, error,
                    placementAttempts, lastFailover, revision, snapshots, c);
        }
    }

    /**
     * Remembered: a volume with an operation under way restarts by itself when the member hosting
     * it is lost. A volume that does not exist (never created, or deleted) asks to be passivated,
     * which also takes it out of the remembered set: else every name ever created or merely
     * looked up would stay in memory and restart with its shard, forever.
     */
    public static void init(ActorSystem<?> system) {
        ClusterSharding sharding = ClusterSharding.get(system);
        Peers peers = new ShardedPeers(sharding, ShardedPeers.holdBound(system.settings().config()));
        sharding.init(Entity.of(ENTITY_TYPE_KEY, c -> create(c.getEntityId(), c.getShard(), peers))
                .withRole("control").withStopMessage(Stop.INSTANCE)
                .withSettings(ClusterShardingSettings.create(system).withRememberEntities(true)));
    }

    public static Behavior<Command> create(String volumeId, ActorRef<ClusterSharding.ShardCommand> shard, Peers peers) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new Volume(volumeId, shard, peers, ctx, timers)));
    }

    private final String volumeId;
    private final ActorRef<ClusterSharding.ShardCommand> shard;
    private final Peers peers;
    private final ActorContext<Command> ctx;
    private final TimerScheduler<Command> timers;
    // In memory: the step under way, how the current stage is doing, callers waiting for the kernel.
    private boolean stepInFlight;
    private long watchedAttempt = -1;
    private Instant stageSince = Instant.now();
    private int failures;
    private Optional<String> lastError = Optional.empty();
    private Optional<String> waitingFor = Optional.empty();
    private boolean overdueLogged;
    // This incarnation asked to be passivated (it did not exist then). Any other stop is a hand-off.
    private boolean passivationAsked;
    private final List<Attach> waitingAttaches = new ArrayList<>();
    private final List<Detach> waitingDetaches = new ArrayList<>();
    private final PoolWatch poolWatch = new PoolWatch();
    private Instant growthAllowedAt = Instant.EPOCH;
    // A hydrating clone: a look under way, and the last progress seen (fresher than the recorded one).
    private boolean watching;
    private Optional<Clone.Progress> hydrationSeen = Optional.empty();

    private Volume(String volumeId, ActorRef<ClusterSharding.ShardCommand> shard, Peers peers, ActorContext<Command> ctx,
                   TimerScheduler<Command> timers) {
        super(PersistenceId.of(ENTITY_TYPE_KEY.name(), volumeId), JournalFailure.RESTART);
        this.volumeId = volumeId;
        this.shard = shard;
        this.peers = peers;
        this.ctx = ctx;
        this.timers = timers;
    }

    @Override
    public State emptyState() {
        return State.empty(Phase.EMPTY, 0);
    }

    @Override
    public Set<String> tagsFor(Event event) {
        return TAGS;
    }

    @Override
    public RetentionCriteria retentionCriteria() {
        return RetentionCriteria.snapshotEvery(100, 2);
    }

    @Override
    public SignalHandler<State> signalHandler() {
        return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), s -> {
            advanceSoon();
            watchSoon(s);
        }).build();
    }

    // ---------------------------------------------------------------- commands, per phase

    @Override
    public CommandHandlerWithReply<Command, Event, State> commandHandler() {
        CommandHandlerWithReplyBuilder<Command, Event, State> b = newCommandHandlerWithReplyBuilder();
        b.forState(s -> s.phase() == Phase.EMPTY || s.phase() == Phase.DELETED)
                .onCommand(Create.class, this::requestCreate)
                .onCommand(Get.class, (s, c) -> absent(c.replyTo(), Result.refused(notFound())))
                .onCommand(Attach.class, (s, c) -> absent(c.replyTo(), AttachResult.refused(notFound())))
                .onCommand(Detach.class, (s, c) -> absent(c.replyTo(), Result.refused(notFound())))
                .onCommand(Delete.class, (s, c) -> absent(c.replyTo(), Result.refused(notFound())))
                .onCommand(Holds.class, (s, c) -> absent(c.replyTo(), new Holding(false)))
                .onCommand(PoolsPastMark.class, (s, c) -> Effect().none().thenRun(st -> passivate()).thenNoReply())
                .onCommand(Stop.class, (s, c) -> Effect().stop().thenNoReply());
        b.forState(s -> s.phase() == Phase.EMPTY || s.phase() == Phase.DELETED)
                .onCommand(Extend.class, (s, c) -> absent(c.replyTo(), Result.refused(notFound())));
        b.forState(s -> s.phase() == Phase.CREATING || s.phase() == Phase.DELETING)
                .onCommand(Extend.class, (s, c) -> Effect().reply(c.replyTo(), Result.refused(busy(s, "extend"))));
        b.forState(s -> s.phase() == Phase.FAILED)
                .onCommand(Extend.class, (s, c) -> Effect().reply(c.replyTo(), Result.refused(DomainError.Conflict.of(
                        "volume " + volumeId + " FAILED (" + s.error().orElse("") + "); create it again or delete it"))));
        b.forState(s -> s.phase() == Phase.READY)
                .onCommand(Extend.class, this::onExtend);
        b.forState(s -> s.phase() == Phase.CREATING)
                .onCommand(ControllerFailed.class, this::onCreatingNodeFailed)
                .onCommand(Create.class, this::onCreateAgain)
                .onCommand(Attach.class, (s, a) -> Effect().reply(a.replyTo(), AttachResult.refused(busy(s, "attach"))))
                .onCommand(Detach.class, (s, d) -> Effect().reply(d.replyTo(), Result.ok(view(s))))
                .onCommand(Delete.class, this::requestDelete);
        b.forState(s -> s.phase() == Phase.READY)
                .onCommand(ControllerFailed.class, this::onControllerFailed)
                .onCommand(Create.class, this::onCreateAgain)
                .onCommand(Attach.class, this::onAttach)
                .onCommand(Detach.class, this::onDetach)
                .onCommand(Delete.class, this::onDeleteReady);
        b.forState(s -> s.phase() == Phase.FAILED)
                .onCommand(Create.class, (s, c) -> s.spec().equals(Optional.of(c.spec())) ? requestCreate(s, c) : onCreateAgain(s, c))
                .onCommand(Attach.class, (s, a) -> Effect().reply(a.replyTo(), AttachResult.refused(DomainError.Conflict.of(
                        "volume " + volumeId + " FAILED (" + s.error().orElse("") + "); create it again or delete it"))))
                .onCommand(Detach.class, (s, d) -> Effect().reply(d.replyTo(), Result.ok(view(s))))
                .onCommand(Delete.class, this::requestDelete);
        b.forState(s -> s.phase() == Phase.DELETING)
                .onCommand(Create.class, (s, c) -> Effect().reply(c.replyTo(), Result.refused(busy(s, "create"))))
                .onCommand(Attach.class, (s, a) -> Effect().reply(a.replyTo(), AttachResult.refused(busy(s, "attach"))))
                .onCommand(Detach.class, (s, d) -> Effect().reply(d.replyTo(), Result.ok(view(s))))
                .onCommand(Delete.class, (s, d) -> Effect().reply(d.replyTo(), Result.ok(view(s))));
        snapshotCommands(b);
        exportCommands(b);
        groupCommands(b);
        b.forAnyState()
                // A volume being deleted needs no failover: taking its objects off every node fences
                // the failed one too, and each node frees what it held once its agent confirms.
                .onCommand(ControllerFailed.class, (s, c) -> Effect().reply(c.replyTo(), new FailoverAck(volumeId, false)))
                .onCommand(Stop.class, (s, c) -> passivationAsked ? stopAndComeBack() : Effect().stop().thenNoReply())
                .onCommand(Get.class, (s, c) -> Effect().reply(c.replyTo(), Result.ok(view(s))))
                .onCommand(Holds.class, (s, c) -> Effect().reply(c.replyTo(), new Holding(holds(s, c.nodeId()))))
                .onCommand(PoolsPastMark.class, this::onPoolsPastMark)
                .onCommand(Advance.class, (s, c) -> advance(s))
                .onCommand(WatchHydration.class, this::watchHydration)
                .onCommand(HydrationSeen.class, this::onHydrationSeen)
                .onCommand(StepDone.class, this::onStepDone);
        return b.build();
    }

    // ---------------------------------------------------------------- snapshots

    /**
     * Snapshots are taken of a READY volume with no operation under way, and deleted likewise;
     * they are read in any phase the volume exists in.
     */
    private void snapshotCommands(CommandHandlerWithReplyBuilder<Command, Event, State> b) {
        b.forState(s -> s.phase() == Phase.EMPTY || s.phase() == Phase.DELETED)
                .onCommand(TakeSnapshot.class, (s, c) -> absent(c.replyTo(), SnapshotResult.refused(notFound())))
                .onCommand(GetSnapshot.class, (s, c) -> absent(c.replyTo(), SnapshotResult.refused(noSnapshot(c.snapshotId()))))
                .onCommand(DropSnapshot.class, (s, c) -> absent(c.replyTo(), SnapshotResult.refused(noSnapshot(c.snapshotId()))))
                .onCommand(ListSnapshots.class, (s, c) -> absent(c.replyTo(), new SnapshotList(List.of(), Optional.of(notFound()))));
        b.forState(s -> s.phase() == Phase.READY)
                .onCommand(TakeSnapshot.class, this::onTakeSnapshot)
                .onCommand(DropSnapshot.class, this::onDropSnapshot);
        b.forAnyState()
                .onCommand(TakeSnapshot.class, (s, c) -> Effect().reply(c.replyTo(), SnapshotResult.refused(s.operation().isPresent()
                        ? busy(s, "snapshot") : DomainError.Conflict.of("volume " + volumeId + " is " + s.phase() + "; only a READY volume"
                        + " is snapshotted"))))
                .onCommand(DropSnapshot.class, (s, c) -> s.snapshots().get(c.snapshotId()).isEmpty()
                        ? Effect().reply(c.replyTo(), SnapshotResult.refused(noSnapshot(c.snapshotId())))
                        : Effect().reply(c.replyTo(), snapshotView(s, c.snapshotId())))
                .onCommand(GetSnapshot.class, (s, c) -> Effect().reply(c.replyTo(), snapshotView(s, c.snapshotId())))
                .onCommand(ListSnapshots.class, (s, c) -> Effect().reply(c.replyTo(), new SnapshotList(s.snapshots().items().stream()
                        .map(x -> SnapshotView.of(volumeId, x, s.phase() == Phase.DELETING)).toList(), Optional.empty())));
    }

    // ---------------------------------------------------------------- a snapshot's export to a clone

    /**
     * A clone's source records who imports which snapshot, so its plan exports the snapshot's
     * legs to those nodes, and the snapshot and the volume stay until every import is released.
     * Each change runs as the volume's one operation ({@link ChangeExports}); asked while another
     * runs, it is refused as busy and the clone asks again.
     */
    private void exportCommands(CommandHandlerWithReplyBuilder<Command, Event, State> b) {
        b.forState(s -> s.phase() == Phase.EMPTY || s.phase() == Phase.DELETED)
                .onCommand(ExportSnapshot.class, (s, c) -> absent(c.replyTo(), ExportReply.refused(noSnapshot(c.snapshotId()))))
                .onCommand(ReleaseSnapshotExport.class, (s, c) -> absent(c.replyTo(), new ExportReply(Optional.empty(), true,
                        Optional.empty())));
        b.forAnyState()
                .onCommand(ExportSnapshot.class, this::onExportSnapshot)
                .onCommand(ReleaseSnapshotExport.class, this::onReleaseSnapshotExport);
    }

    private ReplyEffect<Event, State> onExportSnapshot(State s, ExportSnapshot c) {
        Optional<Snapshot> snap = s.snapshots().get(c.snapshotId());
        if (snap.isEmpty()) {
            return Effect().reply(c.replyTo(), ExportReply.refused(noSnapshot(c.snapshotId())));
        }
        SnapshotImport wanted = new SnapshotImport(c.snapshotId(), c.volumeId(), c.nodeId());
        if (s.snapshots().imports().contains(wanted)) {
            return Effect().reply(c.replyTo(), exported(s, snap.get()));
        }
        if (s.phase() != Phase.READY || snap.get().status() != Snapshot.Status.READY) {
            return Effect().reply(c.replyTo(), ExportReply.refused(DomainError.Conflict.of("snapshot " + c.snapshotId() + " is "
                    + (s.phase() != Phase.READY ? "of a volume " + s.phase() : snap.get().status()) + "; only a READY snapshot of a READY"
                    + " volume is exported")));
        }
        if (s.operation().isPresent()) {
            return Effect().reply(c.replyTo(), ExportReply.refused(busy(s, "export snapshot " + c.snapshotId())));
        }
        return Effect().persist(new SnapshotImported(wanted, Instant.now())).thenRun(this::afterEvent)
                .thenReply(c.replyTo(), st -> exported(st, snap.get()));
    }

    private ReplyEffect<Event, State> onReleaseSnapshotExport(State s, ReleaseSnapshotExport c) {
        List<SnapshotImport> going = s.snapshots().importsOf(c.snapshotId()).stream().filter(i -> i.volumeId().equals(c.volumeId()))
                .toList();
        if (going.isEmpty()) {
            return Effect().reply(c.replyTo(), new ExportReply(Optional.empty(), exportsSettled(s), Optional.empty()));
        }
        if (s.operation().isPresent()) {
            return Effect().reply(c.replyTo(), ExportReply.refused(busy(s, "release the export of snapshot " + c.snapshotId())));
        }
        Set<String> staying = new TreeSet<>();
        s.snapshots().imports().stream().filter(i -> !going.contains(i)).forEach(i -> staying.add(i.nodeId()));
        List<String> nodes = going.stream().map(SnapshotImport::nodeId).filter(n -> !staying.contains(n)).distinct().sorted().toList();
        return Effect().persist(new SnapshotImportReleased(c.snapshotId(), c.volumeId(), nodes, Instant.now())).thenRun(this::afterEvent)
                .thenReply(c.replyTo(), st -> new ExportReply(Optional.empty(), exportsSettled(st), Optional.empty()));
    }

    private ExportReply exported(State s, Snapshot snap) {
        int legs = s.spec().orElseThrow().legCount();
        return new ExportReply(Optional.of(new ExportedSnapshot(snap.id(), snap.thinId(), legs,
                VolumeLayout.legSectors(snap.sizeBytes(), legs))), exportsSettled(s), Optional.empty());
    }

    /** No change of the exports is under way (or paused by a failover): the kernels have what is recorded. */
    private static boolean exportsSettled(State s) {
        return s.operation().filter(op -> op instanceof ChangeExports
                || op instanceof FailOver f && f.paused().filter(ChangeExports.class::isInstance).isPresent()).isEmpty();
    }

    // ---------------------------------------------------------------- a snapshot group's part

    /**
     * A snapshot group drives its members (SnapshotGroup): each member records its part as its
     * one operation, so the conflict rule holds per volume (another operation is refused while
     * the part runs, a failover pauses it), and its snapshot in its catalog like any other.
     */
    private void groupCommands(CommandHandlerWithReplyBuilder<Command, Event, State> b) {
        b.forState(s -> s.phase() == Phase.EMPTY || s.phase() == Phase.DELETED)
                .onCommand(JoinGroup.class, (s, c) -> absent(c.replyTo(), new GroupPartReply(PartStatus.REFUSED, Optional.empty(),
                        Optional.of(new DomainError.Invalid("volumeIds", "no volume " + volumeId)))))
                .onCommand(GetGroupPart.class, (s, c) -> absent(c.replyTo(), groupPart(s, c.groupId())))
                .onCommand(EndGroupPart.class, (s, c) -> absent(c.replyTo(), groupPart(s, c.groupId())))
                .onCommand(LeaveGroup.class, (s, c) -> absent(c.replyTo(), groupPart(s, c.groupId())));
        b.forAnyState()
                .onCommand(JoinGroup.class, this::onJoinGroup)
                .onCommand(GetGroupPart.class, (s, c) -> Effect().reply(c.replyTo(), groupPart(s, c.groupId())))
                .onCommand(EndGroupPart.class, this::onEndGroupPart)
                .onCommand(LeaveGroup.class, (s, c) -> part(s, c.groupId()).isEmpty()
                        ? Effect().reply(c.replyTo(), groupPart(s, c.groupId()))
                        : Effect().persist(new GroupSnapshotLeft(part(s, c.groupId()).get().snapshotId())).thenRun(this::afterEvent)
                        .thenReply(c.replyTo(), st -> groupPart(st, c.groupId())));
    }

    /**
     * Joins as a snapshot would be taken: a READY volume with no operation under way and no
     * snapshot of the name; joined already answers the part.
     */
    private ReplyEffect<Event, State> onJoinGroup(State s, JoinGroup c) {
        GroupPartReply now = groupPart(s, c.groupId());
        if (now.status() != PartStatus.OUT) {
            return Effect().reply(c.replyTo(), now);
        }
        Optional<DomainError> refusal = Optional.empty();
        if (s.phase() != Phase.READY) {
            refusal = Optional.of(DomainError.Conflict.of("volume " + volumeId + " is " + s.phase() + "; only a READY volume is snapshotted"));
        } else if (s.operation().isPresent()) {
            refusal = Optional.of(busy(s, "join snapshot group " + c.groupId()));
        } else if (s.snapshots().named(c.name()).isPresent()) {
            refusal = Optional.of(DomainError.Conflict.of("volume " + volumeId + " has a snapshot named " + c.name() + " already ("
                    + s.snapshots().named(c.name()).get().id() + ")"));
        } else if (s.snapshots().nextThinId() > Snapshot.MAX_THIN_ID) {
            refusal = Optional.of(DomainError.Conflict.of("volume " + volumeId + " has used every thin id of its pools"));
        } else if (full(s).isPresent()) {
            refusal = full(s);
        }
        if (refusal.isPresent()) {
            return Effect().reply(c.replyTo(), new GroupPartReply(PartStatus.REFUSED, Optional.empty(), refusal));
        }
        int thinId = s.snapshots().nextThinId();
        return Effect().persist(new GroupSnapshotJoined(c.groupId(), Snapshot.id(volumeId, thinId), c.name(), thinId,
                        VolumeLayout.of(s.spec().orElseThrow()).usableBytes(), Instant.now())).thenRun(this::afterEvent)
                .thenReply(c.replyTo(), st -> groupPart(st, c.groupId()));
    }

    /** The part's snapshot READY or FAILED, as the group decided; a part paused by a failover ends once it resumes. */
    private ReplyEffect<Event, State> onEndGroupPart(State s, EndGroupPart c) {
        Optional<GroupSnapshotPart> part = part(s, c.groupId());
        if (part.isEmpty()) {
            return Effect().reply(c.replyTo(), groupPart(s, c.groupId()));
        }
        Event end = c.taken() ? new SnapshotTaken(part.get().snapshotId(), c.heldMillis())
                : new SnapshotFailed(part.get().snapshotId(), c.reason());
        return Effect().persist(end).thenRun(this::afterEvent).thenReply(c.replyTo(), st -> groupPart(st, c.groupId()));
    }

    /** The group's part the volume runs now. */
    private static Optional<GroupSnapshotPart> part(State s, String groupId) {
        return s.operation().filter(op -> op instanceof GroupSnapshotPart p && p.groupId().equals(groupId)).map(GroupSnapshotPart.class::cast);
    }

    private static GroupPartReply groupPart(State s, String groupId) {
        Optional<GroupSnapshotPart> running = part(s, groupId);
        if (running.isPresent()) {
            GroupSnapshotPart p = running.get();
            return new GroupPartReply(PartStatus.IN, Optional.of(new GroupPart(p.snapshotId(), p.thinId(), s.spec().orElseThrow(),
                    s.placement().orElseThrow(), p.failovers())), Optional.empty());
        }
        boolean paused = s.operation().filter(op -> op instanceof FailOver f && f.paused()
                .filter(x -> x instanceof GroupSnapshotPart p && p.groupId().equals(groupId)).isPresent()).isPresent();
        return new GroupPartReply(paused ? PartStatus.PAUSED : PartStatus.OUT, Optional.empty(), Optional.empty());
    }

    /**
     * A new snapshot takes the next thin id; a name the volume has answers that snapshot (asked
     * again after a lost answer, a client gets the same one); another operation under way is a
     * conflict naming it.
     */
    private ReplyEffect<Event, State> onTakeSnapshot(State s, TakeSnapshot c) {
        if (!Snapshot.isName(c.name())) {
            return Effect().reply(c.replyTo(), SnapshotResult.refused(new DomainError.Invalid("name", "must be " + Snapshot.NAME_RULE)));
        }
        Optional<Snapshot> same = s.snapshots().named(c.name());
        if (same.isPresent()) {
            return Effect().reply(c.replyTo(), snapshotView(s, same.get().id()));
        }
        if (s.operation().isPresent()) {
            return Effect().reply(c.replyTo(), SnapshotResult.refused(busy(s, "snapshot")));
        }
        int thinId = s.snapshots().nextThinId();
        if (thinId > Snapshot.MAX_THIN_ID) {
            return Effect().reply(c.replyTo(), SnapshotResult.refused(DomainError.Conflict.of("volume " + volumeId
                    + " has used every thin id of its pools")));
        }
        if (full(s).isPresent()) {
            return Effect().reply(c.replyTo(), SnapshotResult.refused(full(s).get()));
        }
        String id = Snapshot.id(volumeId, thinId);
        long size = VolumeLayout.of(s.spec().orElseThrow()).usableBytes();
        return Effect().persist(new SnapshotRequested(id, c.name(), thinId, size, Instant.now())).thenRun(this::afterEvent)
                .thenReply(c.replyTo(), st -> snapshotView(st, id));
    }

    private ReplyEffect<Event, State> onDropSnapshot(State s, DropSnapshot c) {
        Optional<Snapshot> snap = s.snapshots().get(c.snapshotId());
        if (snap.isEmpty()) {
            return Effect().reply(c.replyTo(), SnapshotResult.refused(noSnapshot(c.snapshotId())));
        }
        if (snap.get().status() == Snapshot.Status.DELETING) {
            return Effect().reply(c.replyTo(), snapshotView(s, c.snapshotId()));
        }
        if (!s.snapshots().importsOf(c.snapshotId()).isEmpty()) {
            return Effect().reply(c.replyTo(), SnapshotResult.refused(DomainError.Conflict.of("snapshot " + c.snapshotId()
                    + " is the source of " + importers(s.snapshots().importsOf(c.snapshotId()))
                    + "; delete it once they are hydrated (or deleted)")));
        }
        if (s.operation().isPresent()) {
            return Effect().reply(c.replyTo(), SnapshotResult.refused(busy(s, "delete snapshot " + c.snapshotId())));
        }
        return Effect().persist(new SnapshotDeleteRequested(c.snapshotId(), snap.get().thinId(), Instant.now()))
                .thenRun(this::afterEvent).thenReply(c.replyTo(), st -> snapshotView(st, c.snapshotId()));
    }

    private SnapshotResult snapshotView(State s, String snapshotId) {
        return s.snapshots().get(snapshotId)
                .map(x -> new SnapshotResult(Optional.of(SnapshotView.of(volumeId, x, s.phase() == Phase.DELETING)), Optional.empty()))
                .orElseGet(() -> SnapshotResult.refused(noSnapshot(snapshotId)));
    }

    /** "clone c1 (hydrating from s.2 on n4)", for every import. */
    private static String importers(List<SnapshotImport> imports) {
        return String.join(", ", imports.stream().map(i -> "volume " + i.volumeId() + " (hydrating from " + i.snapshotId() + " on "
                + i.nodeId() + ")").toList());
    }

    private static DomainError noSnapshot(String snapshotId) {
        return new DomainError.NotFound("no snapshot " + snapshotId);
    }

    /** Answers for a volume that does not exist, then asks to be passivated. */
    private <R> ReplyEffect<Event, State> absent(ActorRef<R> replyTo, R answer) {
        return Effect().none().thenRun(st -> passivate()).thenReply(replyTo, st -> answer);
    }

    private void passivate() {
        passivationAsked = true;
        shard.tell(new ClusterSharding.Passivate<>(ctx.getSelf()));
    }

    /**
     * The volume asked to be passivated while it did not exist, and a Create came in before the
     * shard's stop: it stops as the shard expects, and wakes itself through the shard, which
     * starts it again (remembered) to go on with the create. A stop it did not ask for is a
     * hand-off: it just stops, and its new home starts it again because it is remembered.
     */
    private ReplyEffect<Event, State> stopAndComeBack() {
        ClusterSharding.get(ctx.getSystem()).entityRefFor(ENTITY_TYPE_KEY, volumeId).tell(Advance.INSTANCE);
        return Effect().stop().thenNoReply();
    }

    /** A new volume, or a FAILED one created again with the same spec: a fresh create from the start. */
    private ReplyEffect<Event, State> requestCreate(State s, Create c) {
        return Effect().persist(new CreateRequested(c.name(), c.spec(), Instant.now(), c.source()))
                .thenRun(st -> advanceSoon())
                .thenReply(c.replyTo(), st -> Result.ok(view(st)));
    }

    /**
     * Takes precedence over whatever runs: the running operation is paused inside the failover
     * and resumed against the new placement. Asked again (the failure's coordinator retries),
     * it answers what it did.
     */
    private ReplyEffect<Event, State> onControllerFailed(State s, ControllerFailed c) {
        // Its controllers, and the node a failover under way chose for a new standby (it may hold
        // a place in an ANA group there already, and would wait for it).
        boolean controller = s.placement().map(p -> p.controllers().stream()
                .anyMatch(x -> x.nodeId().equals(c.nodeId()) && x.role() != Placement.Role.FENCED)).orElse(false)
                || s.operation().filter(op -> op instanceof FailOver f && f.standby().equals(c.nodeId())).isPresent();
        if (!controller) {
            boolean failedOver = s.placement().map(p -> p.lost().contains(c.nodeId())).orElse(false);
            return Effect().reply(c.replyTo(), new FailoverAck(volumeId, failedOver));
        }
        ctx.getLog().warn("volume {}: controller on failed node {}: failing over", volumeId, c.nodeId());
        return Effect().persist(new FailoverRequested(c.nodeId(), Instant.now())).thenRun(this::afterEvent)
                .thenReply(c.replyTo(), st -> new FailoverAck(volumeId, true));
    }

    /**
     * A node the create chose failed: nothing of the volume is served yet, so the create is rolled
     * back (its objects taken off every node, its reservations given back) and placed again
     * without that node. A node it has nothing on does not concern it.
     */
    private ReplyEffect<Event, State> onCreatingNodeFailed(State s, ControllerFailed c) {
        CreateVolume create = (CreateVolume) s.operation().orElseThrow();
        boolean involved = s.nodes().contains(c.nodeId()) || s.choice().map(ch -> ch.controllers().contains(c.nodeId())
                || ch.sides().stream().anyMatch(sides -> sides.contains(c.nodeId()))).orElse(false);
        if (create.avoid().contains(c.nodeId()) || !involved) {
            return Effect().reply(c.replyTo(), new FailoverAck(volumeId, create.avoid().contains(c.nodeId())));
        }
        ctx.getLog().warn("volume {}: node {} failed while the volume was being created: placing it again without it", volumeId,
                c.nodeId());
        return Effect().persist(new PlacementLost(c.nodeId(), Instant.now())).thenRun(this::afterEvent)
                .thenReply(c.replyTo(), st -> new FailoverAck(volumeId, true));
    }

    /** Same name and same spec again is the same volume; another spec under the name is a conflict. */
    private ReplyEffect<Event, State> onCreateAgain(State s, Create c) {
        if (s.spec().equals(Optional.of(c.spec()))) {
            return Effect().reply(c.replyTo(), Result.ok(view(s)));
        }
        return Effect().reply(c.replyTo(), Result.refused(DomainError.Conflict.of("volume " + volumeId
                + " exists with another spec (" + s.spec().map(Object::toString).orElse("?") + ")")));
    }

    /**
     * Grow only: a size the volume has or is growing to answers the volume; a size that would not
     * grow it is refused naming the size it has; another operation under way is a conflict.
     */
    private ReplyEffect<Event, State> onExtend(State s, Extend e) {
        VolumeSpec spec = s.spec().orElseThrow();
        Optional<ExtendVolume> running = s.operation().filter(ExtendVolume.class::isInstance).map(ExtendVolume.class::cast);
        if (running.map(op -> op.toBytes() == e.sizeBytes()).orElse(spec.sizeBytes() == e.sizeBytes())) {
            return Effect().reply(e.replyTo(), Result.ok(view(s)));
        }
        if (!VolumeSpec.isSize(e.sizeBytes())) {
            return Effect().reply(e.replyTo(), Result.refused(new DomainError.Invalid("sizeBytes", "must be " + VolumeSpec.SIZE_RULE)));
        }
        long usable = VolumeLayout.of(spec).usableBytes();
        if (e.sizeBytes() <= usable) {
            return Effect().reply(e.replyTo(), Result.refused(new DomainError.Invalid("sizeBytes", "must be larger than the volume's "
                    + "size now, " + usable + " bytes: a volume only grows")));
        }
        if (s.operation().isPresent()) {
            return Effect().reply(e.replyTo(), Result.refused(busy(s, "extend")));
        }
        return Effect().persist(new ExtendRequested(spec.sizeBytes(), e.sizeBytes(), Instant.now())).thenRun(this::afterEvent)
                .thenReply(e.replyTo(), st -> Result.ok(view(st)));
    }

    /** Queues behind a running attachment change: the wanted hosts change now, the kernel follows in order. */
    private ReplyEffect<Event, State> onAttach(State s, Attach a) {
        waitingAttaches.add(a);
        if (s.attachments().contains(a.hostNqn())) {
            return Effect().none().thenRun(this::answerWaiters).thenNoReply();
        }
        List<String> hosts = new ArrayList<>(s.attachments());
        hosts.add(a.hostNqn());
        return Effect().persist(new AttachmentsChanged(hosts, Instant.now())).thenRun(this::afterEvent).thenNoReply();
    }

    private ReplyEffect<Event, State> onDetach(State s, Detach d) {
        if (!s.attachments().contains(d.hostNqn()) && !s.exported().contains(d.hostNqn())) {
            return Effect().reply(d.replyTo(), Result.ok(view(s)));
        }
        waitingDetaches.add(d);
        if (!s.attachments().contains(d.hostNqn())) {
            return Effect().noReply();
        }
        List<String> hosts = new ArrayList<>(s.attachments());
        hosts.remove(d.hostNqn());
        return Effect().persist(new AttachmentsChanged(hosts, Instant.now())).thenRun(this::afterEvent).thenNoReply();
    }

    private ReplyEffect<Event, State> onDeleteReady(State s, Delete d) {
        if (!s.snapshots().imports().isEmpty()) {
            return Effect().reply(d.replyTo(), Result.refused(DomainError.Conflict.of("volume " + volumeId + " is the source of "
                    + importers(s.snapshots().imports()) + "; delete the volume once they are hydrated (or deleted)")));
        }
        if (!d.withSnapshots() && !s.snapshots().items().isEmpty()) {
            return Effect().reply(d.replyTo(), Result.refused(DomainError.Conflict.of("volume " + volumeId + " has snapshots ("
                    + String.join(", ", s.snapshots().items().stream().map(Snapshot::id).toList()) + "); delete them first, or"
                    + " delete the volume with them (DELETE /v1/volumes/" + volumeId + "?deleteSnapshots=true)")));
        }
        if (!s.attachments().isEmpty()) {
            return Effect().reply(d.replyTo(), Result.refused(DomainError.Conflict.of("volume " + volumeId + " is attached to "
                    + String.join(", ", s.attachments()) + "; detach every host first")));
        }
        // A delete supersedes a failover, as it does a create: taking the volume off every node
        // fences the failed one as well, and nothing is freed before its node confirms it gone.
        if (s.operation().filter(op -> !(op instanceof FailOver)).isPresent()) {
            return Effect().reply(d.replyTo(), Result.refused(busy(s, "delete")));
        }
        return requestDelete(s, d);
    }

    /** Also how a delete supersedes a create: the create's step still under way comes back stale and is dropped. */
    private ReplyEffect<Event, State> requestDelete(State s, Delete d) {
        return Effect().persist(new DeleteRequested(Instant.now())).thenRun(this::afterEvent)
                .thenReply(d.replyTo(), st -> Result.ok(view(st)));
    }

    /**
     * A FAILED volume gave everything back before it said so; any other existing volume holds
     * what it reserved on the nodes it chose (a create reserves there from its choice on).
     */
    private static boolean holds(State s, String nodeId) {
        if (s.phase() == Phase.FAILED) {
            return false;
        }
        return s.nodes().contains(nodeId) || s.choice().map(c -> c.controllers().contains(nodeId)
                || c.sides().stream().anyMatch(sides -> sides.contains(nodeId))).orElse(false)
                || s.operation().filter(ExtendVolume.class::isInstance).map(op -> ((ExtendVolume) op).sides().stream()
                .anyMatch(sides -> sides.contains(nodeId))).orElse(false)
                || s.operation().filter(GrowPools.class::isInstance).map(op -> ((GrowPools) op).sides().stream()
                .anyMatch(sides -> sides.contains(nodeId))).orElse(false)
                || s.operation().filter(FailOver.class::isInstance).map(op -> ((FailOver) op).standby().equals(nodeId)).orElse(false);
    }

    private DomainError.Conflict busy(State s, String what) {
        Operation op = s.operation().orElseThrow();
        return new DomainError.Conflict("volume " + volumeId + " cannot " + what + " now: its " + op.name()
                + " is at stage " + op.stageName(), Optional.of(op.name()), Optional.of(op.stageName()));
    }

    // ---------------------------------------------------------------- a clone's hydration

    /**
     * While a READY clone hydrates, its first active's dm-clone is looked at every
     * {@link Hydration#EVERY} (and told its throttle): the progress shows on the volume, is
     * recorded at every {@link Hydration#STEP_PERCENT} %, and once every region is copied the
     * clone is finished ({@link FinishClone}) as soon as no other operation runs. Not an
     * operation itself: attaches and snapshots go on meanwhile.
     */
    private void watchSoon(State s) {
        if (hydrating(s) && !timers.isTimerActive(WatchHydration.INSTANCE) && !watching) {
            timers.startSingleTimer(WatchHydration.INSTANCE, WatchHydration.INSTANCE, Hydration.EVERY);
        }
    }

    private static boolean hydrating(State s) {
        return s.phase() == Phase.READY && s.cloneOf().filter(c -> c.status() == Clone.Status.HYDRATING).isPresent();
    }

    private ReplyEffect<Event, State> watchHydration(State s, WatchHydration w) {
        if (!hydrating(s) || watching) {
            return Effect().noReply();
        }
        watching = true;
        CompletionStage<Optional<io.dnv.core.kernel.CloneStatus>> look;
        try {
            look = Hydration.look(s, peers);
        } catch (RuntimeException e) {
            look = CompletableFuture.failedFuture(e);
        }
        ctx.pipeToSelf(look, HydrationSeen::new);
        return Effect().noReply();
    }

    private ReplyEffect<Event, State> onHydrationSeen(State s, HydrationSeen seen) {
        watching = false;
        if (!hydrating(s)) {
            return Effect().noReply();
        }
        if (seen.failure() != null || seen.status().isEmpty()) {
            ctx.getLog().info("volume {}: could not look at its hydration: {}", volumeId,
                    seen.failure() != null ? seen.failure().toString() : "no clone status");
            watchSoon(s);
            return Effect().noReply();
        }
        Clone clone = s.cloneOf().orElseThrow();
        Clone.Progress before = hydrationSeen.orElse(clone.progress());
        Clone.Progress now = before.next(seen.status().get().hydratedRegions(), seen.status().get().totalRegions(), Instant.now());
        hydrationSeen = Optional.of(now);
        if (now.complete() && s.operation().isEmpty()) {
            ctx.getLog().info("volume {}: hydrated ({} regions): finishing the clone", volumeId, now.totalRegions());
            return Effect().persist(new CloneHydrated(now, Instant.now())).thenRun(this::afterEvent).thenNoReply();
        }
        if (Hydration.worthRecording(clone.progress(), now)) {
            return Effect().persist(new HydrationProgressed(now)).thenRun(this::afterEvent).thenNoReply();
        }
        watchSoon(s);
        return Effect().noReply();
    }

    // ---------------------------------------------------------------- the operation's steps

    private void advanceSoon() {
        timers.startSingleTimer(Advance.INSTANCE, Advance.INSTANCE, Duration.ZERO);
    }

    private void afterEvent(State st) {
        answerWaiters(st);
        watchSoon(st);
        if (st.phase() == Phase.DELETED) {
            passivate();
        } else {
            advanceSoon();
        }
    }

    /**
     * Starts the step the current stage calls for, unless a step is under way: a step of a
     * stage that was superseded meanwhile is waited for (its result will be dropped), so two
     * steps of one volume never run at once.
     */
    private ReplyEffect<Event, State> advance(State s) {
        if (stepInFlight) {
            return Effect().noReply();
        }
        if (s.operation().isEmpty()) {
            answerWaiters(s);
            return Effect().noReply();
        }
        Operation op = s.operation().get();
        watch(op);
        stepInFlight = true;
        CompletionStage<StepResult> work;
        try {
            work = op.run(s, peers);
        } catch (RuntimeException e) {
            work = CompletableFuture.failedFuture(e);
        }
        long attempt = op.attempt();
        ctx.pipeToSelf(work, (result, failure) -> new StepDone(attempt, result, failure));
        return Effect().noReply();
    }

    private ReplyEffect<Event, State> onStepDone(State s, StepDone d) {
        stepInFlight = false;
        Optional<Operation> current = s.operation().filter(op -> op.attempt() == d.attempt());
        if (current.isEmpty()) {
            ctx.getLog().info("volume {}: dropped a step result of attempt {}, now {}", volumeId, d.attempt(),
                    s.operation().map(op -> op.name() + "/" + op.stageName() + " attempt " + op.attempt()).orElse("no operation"));
            advanceSoon();
            return Effect().noReply();
        }
        Operation op = current.get();
        if (d.result() instanceof StepResult.Awaited a) {
            // A failure decided before the volume held anything on the node was never told to
            // it: it tells itself (as often as it finds the node failed; a repeat changes nothing).
            a.failed().forEach(node -> ctx.getSelf().tell(new ControllerFailed(node, ctx.getSystem().ignoreRef())));
        }
        Outcome outcome;
        try {
            if (d.failure() != null) {
                throw d.failure();
            }
            outcome = op.onResult(s, d.result(), Duration.between(stageSince, Instant.now()));
        } catch (Throwable t) {
            return retryAfterFailure(op, t);
        }
        if (outcome instanceof Outcome.Again again) {
            waitingFor = Optional.of(again.waitingFor());
            warnIfOverdue(op);
            timers.startSingleTimer(Advance.INSTANCE, Advance.INSTANCE, again.after());
            return Effect().noReply();
        }
        failures = 0;
        return Effect().persist(((Outcome.Persist) outcome).event()).thenRun(this::afterEvent).thenNoReply();
    }

    /** Retries with exponential backoff; the error stays visible on the volume until the stage moves on. */
    private ReplyEffect<Event, State> retryAfterFailure(Operation op, Throwable t) {
        failures++;
        Throwable cause = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
        lastError = Optional.of(cause.toString());
        Duration delay = FIRST_RETRY.multipliedBy(1L << Math.min(failures - 1, 10));
        delay = delay.compareTo(LAST_RETRY) > 0 ? LAST_RETRY : delay;
        ctx.getLog().warn("volume {}: {} at {} failed ({} in a row), retrying in {} ms: {}", volumeId, op.name(),
                op.stageName(), failures, delay.toMillis(), cause.toString());
        warnIfOverdue(op);
        timers.startSingleTimer(Advance.INSTANCE, Advance.INSTANCE, delay);
        return Effect().noReply();
    }

    /** A new stage: its age, errors and waits start over. */
    private void watch(Operation op) {
        if (op.attempt() != watchedAttempt) {
            watchedAttempt = op.attempt();
            stageSince = Instant.now();
            failures = 0;
            lastError = Optional.empty();
            waitingFor = Optional.empty();
            overdueLogged = false;
        }
    }

    private boolean overdue(Operation op) {
        return op.attempt() == watchedAttempt && Duration.between(stageSince, Instant.now()).compareTo(op.deadline()) > 0;
    }

    private void warnIfOverdue(Operation op) {
        if (overdue(op) && !overdueLogged) {
            overdueLogged = true;
            ctx.getLog().warn("volume {}: {} has been at stage {} for more than {} s, still trying; waiting for: {}", volumeId,
                    op.name(), op.stageName(), op.deadline().toSeconds(), waitingFor.or(() -> lastError).orElse("a step"));
        }
    }

    /** Callers hear back once the kernels hold what they asked for, or once it can no longer happen. */
    private void answerWaiters(State s) {
        waitingAttaches.removeIf(a -> {
            if (s.phase() == Phase.READY && s.exported().contains(a.hostNqn())) {
                a.replyTo().tell(new AttachResult(Optional.of(connectInfo(s, a.hostNqn())), Optional.empty()));
                return true;
            }
            if (s.phase() != Phase.READY || !s.attachments().contains(a.hostNqn())) {
                a.replyTo().tell(AttachResult.refused(DomainError.Conflict.of("host " + a.hostNqn() + " was detached meanwhile")));
                return true;
            }
            return false;
        });
        waitingDetaches.removeIf(d -> {
            boolean done = !s.exported().contains(d.hostNqn()) || s.attachments().contains(d.hostNqn());
            if (done) {
                d.replyTo().tell(Result.ok(view(s)));
            }
            return done;
        });
    }

    private ConnectInfo connectInfo(State s, String host) {
        String nqn = io.dnv.core.kernel.Names.volumeNqn(volumeId);
        HostContract h = HostContract.forVolume(s.spec().orElseThrow().activeControllers());
        // A fenced controller's node failed: no path of it to give a host.
        List<ConnectInfo.Path> paths = view(s).controllers().stream().filter(c -> !c.role().equals(Placement.Role.FENCED.name()))
                .map(c -> new ConnectInfo.Path(c.transport(), c.address(),
                c.port(), c.anaState(), "nvme connect -t " + c.transport() + " -a " + c.address() + " -s " + c.port() + " -n " + nqn
                + " --hostnqn=" + host + " --hostid=" + io.dnv.core.kernel.Names.hostId(host) + " --keep-alive-tmo=" + h.keepAliveTmo()
                + " --ctrl-loss-tmo=" + h.ctrlLossTmo() + " --reconnect-delay=" + h.reconnectDelay())).toList();
        return new ConnectInfo(nqn, host, paths, h);
    }

    private DomainError notFound() {
        return new DomainError.NotFound("no volume " + volumeId);
    }

    VolumeView view(State s) {
        Optional<VolumeView.OperationView> operation = s.operation().map(op -> {
            boolean watched = op.attempt() == watchedAttempt;
            return new VolumeView.OperationView(op.name(), op.stageName(), op.attempt(),
                    op.requestedAt() == null ? Instant.EPOCH : op.requestedAt(),
                    watched ? Duration.between(stageSince, Instant.now()).toMillis() : 0, overdue(op),
                    watched ? waitingFor : Optional.empty(), watched ? lastError : Optional.empty(),
                    VolumeViews.stages(op.timeline(), Instant.now()));
        });
        return VolumeViews.of(volumeId, s, operation, hydrationSeen).withFull(fullReason(s));
    }

    /** A new snapshot would eat into a pool past its low-water mark that could not grow: refused, naming why. */
    private Optional<DomainError> full(State s) {
        return fullReason(s).<DomainError>map(why -> DomainError.Conflict.of("volume " + volumeId + " is FULL: " + why));
    }

    /**
     * FULL: a leg's pool past the low-water mark (PoolWatch) and the pools' last growth could not
     * be placed (the error it left). While a growth runs, a snapshot is refused as busy.
     */
    private Optional<String> fullReason(State s) {
        Optional<String> past = poolWatch.pastMark(Instant.now());
        if (past.isEmpty() || s.operation().filter(GrowPools.class::isInstance).isPresent()) {
            return Optional.empty();
        }
        return s.error().filter(e -> e.startsWith(GrowPools.NOT_GROWN)).map(e -> past.get() + "; " + e);
    }

    /**
     * A node's word on the volume's pools: a READY volume with nothing running grows its pools
     * when one is past the mark, at most every {@link #GROWTH_SPACING} (the agents' reports of a
     * grown pool come a pass later; a growth that could not be placed is tried again then).
     */
    private ReplyEffect<Event, State> onPoolsPastMark(State s, PoolsPastMark c) {
        Instant now = Instant.now();
        poolWatch.report(c.nodeId(), c.markPercent(), beyondTheOrigin(s, c), now);
        Optional<String> past = poolWatch.pastMark(now);
        if (s.phase() != Phase.READY || s.operation().isPresent() || past.isEmpty() || now.isBefore(growthAllowedAt)) {
            return Effect().noReply();
        }
        growthAllowedAt = now.plus(GROWTH_SPACING);
        VolumeLayout.GroupSize size = VolumeLayout.of(s.spec().orElseThrow()).reserveGroup(VolumeLayout.DEFAULT_SNAPSHOT_RESERVE_PERCENT);
        int group = s.placement().orElseThrow().legs().get(0).groups().size();
        return Effect().persist(new PoolGrowthRequested(group, size.thinMetaSectors(), size.thinDataSectors(), past.get(), now))
                .thenRun(this::afterEvent).thenNoReply();
    }

    /**
     * The pools past the mark that can still fill. A pool holds the leg and a reserve for what
     * snapshots keep (20 %): a volume with no snapshot, written whole, uses 83 % of its pools and
     * never more, so that is no reason to grow nor to be FULL (it grew every volume a host had
     * filled, and a delete meanwhile was refused for the growth). With a snapshot, every
     * overwrite of a shared block takes a new one: past the mark counts. Without one, only data
     * blocks past the leg's own count, metadata past the mark, or a pool not {@code rw} do. A
     * clone's first leg also holds dm-clone's metadata thin until the clone lets its source go:
     * hydration provisions every block of the legs, so with the metadata's few blocks a hydrated
     * clone's first pool is past the mark (85 % in the real-kernel suite) and grew for nothing.
     */
    private static List<PoolUsage> beyondTheOrigin(State s, PoolsPastMark c) {
        if (s.spec().isEmpty() || !s.snapshots().items().isEmpty()) {
            return c.pools();
        }
        long originBlocks = blocks(VolumeLayout.of(s.spec().get()).legSectors());
        long cloneMetadataBlocks = blocks(s.cloneOf().map(Clone::metadataSectors).orElse(0L));
        return c.pools().stream().filter(p -> p.usedDataBlocks() > originBlocks + (p.leg() == 0 ? cloneMetadataBlocks : 0)
                || !p.mode().equals("rw") || p.status().metaPercent() >= c.markPercent()).toList();
    }

    private static long blocks(long sectors) {
        return (sectors + VolumeLayout.THIN_BLOCK_SECTORS - 1) / VolumeLayout.THIN_BLOCK_SECTORS;
    }

    // ---------------------------------------------------------------- events: a pure fold

    /**
     * Three folds: the volume's, its snapshot catalog's ({@link Snapshots#after}) and a clone's
     * ({@link Clone#after}); every event passes through each.
     */
    @Override
    public EventHandler<State, Event> eventHandler() {
        EventHandler<State, Event> volume = volumeEvents();
        return (s, e) -> volume.apply(s, e).withSnapshots(s.snapshots().after(e)).withClone(Clone.after(s.cloneOf(), e));
    }

    private EventHandler<State, Event> volumeEvents() {
        return newEventHandlerBuilder().forAnyState()
                .onEvent(CreateRequested.class, (s, e) -> new State(Phase.CREATING, e.name(), Optional.of(e.spec()),
                        Optional.of(e.at()), Optional.empty(), Map.of(), Optional.empty(), List.of(), List.of(),
                        Optional.of(CreateVolume.start(e.at(), s.next(), e.source().isPresent())), Optional.empty(), 0, Optional.empty(),
                        s.next()))
                .onEvent(NodesChosen.class, (s, e) -> new State(s.phase(), s.name(), s.spec(), s.createdAt(), Optional.of(e.choice()),
                        e.endpoints(), s.placement(), s.attachments(), s.exported(), Optional.of(create(s).at(CreateVolume.Stage.RESERVE,
                        s.next())), s.error(), s.placementAttempts(), s.lastFailover(), s.next()))
                .onEvent(PlacementRefused.class, (s, e) -> new State(s.phase(), s.name(), s.spec(), s.createdAt(), Optional.empty(),
                        Map.of(), Optional.empty(), s.attachments(), s.exported(), Optional.of(create(s).at(CreateVolume.Stage.CHOOSE,
                        s.next())), Optional.of(e.reason()), s.placementAttempts() + 1, s.lastFailover(), s.next()))
                .onEvent(Reserved.class, (s, e) -> new State(s.phase(), s.name(), s.spec(), s.createdAt(), s.choice(), s.endpoints(),
                        Optional.of(e.placement()), s.attachments(), s.exported(), Optional.of(create(s).at(s.cloneOf().isPresent()
                        ? CreateVolume.Stage.IMPORT : CreateVolume.Stage.APPLY, s.next())), s.error(), s.placementAttempts(),
                        s.lastFailover(), s.next()))
                .onEvent(ObjectsApplied.class, (s, e) -> s.with(objectsApplied(s, e)))
                .onEvent(Converged.class, Volume::converged)
                .onEvent(BecameReady.class, (s, e) -> new State(Phase.READY, s.name(), s.spec(), s.createdAt(), s.choice(),
                        s.endpoints(), s.placement().map(Volume::created), s.attachments(), s.attachments(), Optional.empty(),
                        Optional.empty(), s.placementAttempts(), s.lastFailover(), s.next()))
                .onEvent(CreateFailed.class, (s, e) -> new State(Phase.FAILED, s.name(), s.spec(), s.createdAt(), s.choice(),
                        s.endpoints(), s.placement(), s.attachments(), s.exported(), Optional.empty(), Optional.of(e.reason()),
                        s.placementAttempts(), s.lastFailover(), s.next()))
                .onEvent(AttachmentsChanged.class, (s, e) -> new State(s.phase(), s.name(), s.spec(), s.createdAt(), s.choice(),
                        s.endpoints(), s.placement(), e.attachments(), s.exported(), s.operation().isPresent() ? s.operation()
                        : Optional.of(ChangeAttachments.start(e.attachments(), e.at(), s.next())), s.error(), s.placementAttempts(),
                        s.lastFailover(), s.next()))
                .onEvent(DeleteRequested.class, (s, e) -> s.with(Phase.DELETING, Optional.of(DeleteVolume.start(e.at(), s.next()))))
                .onEvent(ObjectsRemoved.class, (s, e) -> s.with(s.operation().orElseThrow() instanceof CreateVolume c
                        ? c.at(CreateVolume.Stage.RELEASE, s.next()) : delete(s).at(DeleteVolume.Stage.RELEASE, s.next())))
                .onEvent(Deleted.class, (s, e) -> State.empty(Phase.DELETED, s.next()))
                .onEvent(FailoverRequested.class, (s, e) -> s.placed(s.placement().map(p -> p.fencing(e.nodeId())), s.endpoints(),
                        FailOver.start(e.nodeId(), e.at(), s.next(), s.operation())))
                .onEvent(Fenced.class, (s, e) -> s.with(failover(s).at(FailOver.Stage.PROMOTE, s.next(), e.at())))
                .onEvent(SuccessorPlaced.class, (s, e) -> s.placed(Optional.of(e.placement()), s.endpoints(),
                        failover(s).at(FailOver.Stage.PROMOTE_APPLY, s.next(), e.at())))
                .onEvent(Promoted.class, (s, e) -> s.placed(s.placement().map(Placement::promoted), s.endpoints(),
                        failover(s).promoted(e.successor(), s.next(), e.at())))
                .onEvent(StandbyChosen.class, (s, e) -> s.placed(s.placement(), merged(s.endpoints(), e.endpoints()),
                        failover(s).standbyChosen(e.nodeId(), s.next(), e.at())))
                .onEvent(StandbyPlaced.class, (s, e) -> s.placed(Optional.of(e.placement()), s.endpoints(),
                        failover(s).at(FailOver.Stage.STANDBY_APPLY, s.next(), e.at())))
                .onEvent(NoStandbyPlaced.class, (s, e) -> s.with(failover(s).withoutStandby(e.reason(), s.next(), e.at())))
                .onEvent(FailedOver.class, Volume::failedOver)
                .onEvent(PlacementLost.class, (s, e) -> s.with(create(s).rollingBack(e.nodeId(), s.next())))
                .onEvent(ExtendRequested.class, (s, e) -> new State(s.phase(), s.name(), s.spec(), s.createdAt(), s.choice(),
                        s.endpoints(), s.placement().map(p -> sized(p, VolumeLayout.of(s.spec().orElseThrow()))), s.attachments(),
                        s.exported(), Optional.of(ExtendVolume.start(e.fromBytes(), e.toBytes(),
                        s.placement().orElseThrow().legs().get(0).groups().size(), e.at(), s.next())), s.error(),
                        s.placementAttempts(), s.lastFailover(), s.next()))
                .onEvent(ExtendNodesChosen.class, (s, e) -> new State(s.phase(), s.name(), s.spec(), s.createdAt(), s.choice(),
                        merged(s.endpoints(), e.endpoints()), s.placement(), s.attachments(), s.exported(),
                        Optional.of(extend(s).chosen(e.sides(), s.next())), s.error(), s.placementAttempts(), s.lastFailover(), s.next()))
                .onEvent(GroupsReserved.class, (s, e) -> new State(s.phase(), s.name(), s.spec(), s.createdAt(), s.choice(),
                        s.endpoints(), Optional.of(e.placement()), s.attachments(), s.exported(),
                        Optional.of(extend(s).at(ExtendVolume.Stage.BUILD, s.next())), s.error(), s.placementAttempts(), s.lastFailover(),
                        s.next()))
                .onEvent(GroupsBuilt.class, (s, e) -> new State(s.phase(), s.name(), s.spec(), s.createdAt(), s.choice(),
                        s.endpoints(), s.placement().map(Volume::created), s.attachments(), s.exported(),
                        Optional.of(extend(s).at(ExtendVolume.Stage.GROW_LEGS, s.next())), s.error(), s.placementAttempts(),
                        s.lastFailover(), s.next()))
                .onEvent(LegsGrown.class, (s, e) -> s.with(extend(s).at(ExtendVolume.Stage.GROW_STRIPES, s.next())))
                .onEvent(Extended.class, (s, e) -> extendEnded(s, Optional.of(ExtendVolume.resized(s.spec().orElseThrow(),
                        extend(s).toBytes())), Optional.empty()))
                .onEvent(ExtendFailed.class, (s, e) -> extendEnded(s, s.spec(), Optional.of("extend to " + extend(s).toBytes()
                        + " bytes failed: " + e.reason())))
                .onEvent(PoolGrowthRequested.class, (s, e) -> new State(s.phase(), s.name(), s.spec(), s.createdAt(), s.choice(),
                        s.endpoints(), s.placement().map(p -> sized(p, VolumeLayout.of(s.spec().orElseThrow()))), s.attachments(),
                        s.exported(), Optional.of(GrowPools.start(e.group(), new VolumeLayout.GroupSize(e.thinMetaSectors(),
                        e.thinDataSectors()), e.reason(), e.at(), s.next())), s.error(), s.placementAttempts(), s.lastFailover(), s.next()))
                .onEvent(PoolGrowthNodesChosen.class, (s, e) -> new State(s.phase(), s.name(), s.spec(), s.createdAt(), s.choice(),
                        merged(s.endpoints(), e.endpoints()), s.placement(), s.attachments(), s.exported(),
                        Optional.of(growth(s).chosen(e.sides(), s.next())), s.error(), s.placementAttempts(), s.lastFailover(), s.next()))
                .onEvent(PoolGroupsReserved.class, (s, e) -> s.placed(Optional.of(e.placement()), s.endpoints(),
                        growth(s).at(GrowPools.Stage.BUILD, s.next())))
                .onEvent(PoolGroupsBuilt.class, (s, e) -> s.placed(s.placement().map(Volume::created), s.endpoints(),
                        growth(s).at(GrowPools.Stage.GROW, s.next())))
                .onEvent(PoolsGrown.class, (s, e) -> growthEnded(s, Optional.empty()))
                .onEvent(PoolGrowthFailed.class, (s, e) -> growthEnded(s, Optional.of(GrowPools.NOT_GROWN + e.reason())))
                .onEvent(SnapshotRequested.class, (s, e) -> s.with(CreateSnapshot.start(e.snapshotId(), e.thinId(), e.at(), s.next())))
                .onEvent(StripesHeld.class, (s, e) -> s.with(snapshot(s).held(e.holds(), s.next())))
                .onEvent(ThinsSnapped.class, (s, e) -> s.with(snapshot(s).at(CreateSnapshot.Stage.RELEASE, s.next())))
                .onEvent(SnapshotUndoing.class, (s, e) -> s.with(snapshot(s).undoing(e.reason(), s.next())))
                .onEvent(SnapshotRetried.class, (s, e) -> s.with(snapshot(s).retried(s.next())))
                .onEvent(SnapshotTaken.class, (s, e) -> s.with(s.phase(), queuedAttachments(s, s.operation().orElseThrow().requestedAt())))
                .onEvent(SnapshotFailed.class, (s, e) -> s.with(s.phase(), queuedAttachments(s, s.operation().orElseThrow().requestedAt())))
                .onEvent(GroupSnapshotJoined.class, (s, e) -> s.with(GroupSnapshotPart.start(e.groupId(), e.snapshotId(), e.thinId(),
                        e.at(), s.next())))
                .onEvent(GroupSnapshotLeft.class, (s, e) -> s.with(s.phase(), queuedAttachments(s, s.operation().orElseThrow().requestedAt())))
                .onEvent(SnapshotDeleteRequested.class, (s, e) -> s.with(DeleteSnapshot.start(e.snapshotId(), e.thinId(), e.at(),
                        s.next())))
                .onEvent(SnapshotDeleted.class, (s, e) -> s.with(s.phase(), queuedAttachments(s, s.operation().orElseThrow().requestedAt())))
                .onEvent(CloneSourceSnapshotted.class, (s, e) -> s.with(create(s).at(CreateVolume.Stage.CHOOSE, s.next())))
                .onEvent(CloneSourceImported.class, (s, e) -> s.with(create(s).at(CreateVolume.Stage.APPLY, s.next())))
                .onEvent(CloneSourceReleasing.class, (s, e) -> s.with(s.operation().orElseThrow() instanceof DeleteVolume d
                        ? d.at(DeleteVolume.Stage.UNSOURCE, s.next()) : create(s).unsourcing(e.reason(), s.next())))
                .onEvent(CloneSourceReleased.class, Volume::cloneSourceReleased)
                .onEvent(HydrationProgressed.class, (s, e) -> s.with(s.phase(), s.operation()))
                .onEvent(CloneHydrated.class, (s, e) -> s.with(FinishClone.start(e.at(), s.next())))
                .onEvent(CloneActivesRegrouped.class, (s, e) -> s.placed(Optional.of(e.placement()), s.endpoints(),
                        finish(s).at(FinishClone.Stage.ACTIVATE_APPLY, s.next())))
                .onEvent(CloneMetadataDropped.class, (s, e) -> s.with(finish(s).at(FinishClone.Stage.RELEASE, s.next())))
                .onEvent(SnapshotImported.class, (s, e) -> s.with(ChangeExports.start(List.of(), e.at(), s.next())))
                .onEvent(SnapshotImportReleased.class, (s, e) -> s.with(ChangeExports.start(e.nodes(), e.at(), s.next())))
                .build();
    }

    private static GrowPools growth(State s) {
        return (GrowPools) s.operation().orElseThrow();
    }

    /** The pools grew (the error of an earlier growth goes), or could not: then the error says why. */
    private static State growthEnded(State s, Optional<String> error) {
        Optional<Operation> next = queuedAttachments(s, growth(s).requestedAt());
        return new State(s.phase(), s.name(), s.spec(), s.createdAt(), s.choice(), s.endpoints(), s.placement(), s.attachments(),
                s.exported(), next, error.or(() -> s.error().filter(x -> !x.startsWith(GrowPools.NOT_GROWN))), s.placementAttempts(),
                s.lastFailover(), s.next());
    }

    /** A delete goes on to delete; a clone's finish is over (hosts wanted meanwhile start their change). */
    private static State cloneSourceReleased(State s, CloneSourceReleased e) {
        Operation op = s.operation().orElseThrow();
        if (op instanceof DeleteVolume d) {
            return s.with(d.at(DeleteVolume.Stage.RELEASE, s.next()));
        }
        return s.with(s.phase(), queuedAttachments(s, op.requestedAt()));
    }

    private static FinishClone finish(State s) {
        return (FinishClone) s.operation().orElseThrow();
    }

    private static CreateSnapshot snapshot(State s) {
        return (CreateSnapshot) s.operation().orElseThrow();
    }

    /** An operation ended: attach and detach requests that came meanwhile only changed the wanted hosts; their change starts now. */
    private static Optional<Operation> queuedAttachments(State s, Instant requestedAt) {
        return s.attachments().equals(s.exported()) ? Optional.empty()
                : Optional.of(ChangeAttachments.start(s.attachments(), requestedAt, s.next()));
    }

    private static FailOver failover(State s) {
        return (FailOver) s.operation().orElseThrow();
    }

    /**
     * The failover is over: the controllers it replaced leave the placement, and the operation it
     * paused resumes (else the hosts wanted meanwhile start their change).
     */
    private static State failedOver(State s, FailedOver e) {
        FailOver f = failover(s);
        Optional<Operation> next = f.paused().map(op -> op.resumed(s.next())).or(() -> s.attachments().equals(s.exported())
                ? Optional.empty() : Optional.of(ChangeAttachments.start(s.attachments(), e.at(), s.next())));
        return new State(s.phase(), s.name(), s.spec(), s.createdAt(), s.choice(), s.endpoints(),
                s.placement().map(p -> p.withoutFenced(s.spec().orElseThrow().activeControllers())), s.attachments(), s.exported(), next,
                e.error().isEmpty() ? s.error() : Optional.of(e.error()), s.placementAttempts(), Optional.of(f.ended(e.error(), e.at())),
                s.next());
    }

    private static ExtendVolume extend(State s) {
        return (ExtendVolume) s.operation().orElseThrow();
    }

    /**
     * The volume is READY again at {@code spec}'s size. Attach and detach requests that came
     * meanwhile only changed the wanted hosts: their change starts now.
     */
    private static State extendEnded(State s, Optional<VolumeSpec> spec, Optional<String> error) {
        Optional<Operation> next = queuedAttachments(s, extend(s).requestedAt());
        return new State(s.phase(), s.name(), spec, s.createdAt(), s.choice(), s.endpoints(), s.placement(), s.attachments(),
                s.exported(), next, error, s.placementAttempts(), s.lastFailover(), s.next());
    }

    /** Every group with its pool slices recorded, so a change of the spec's size does not move them. */
    private static Placement sized(Placement p, VolumeLayout layout) {
        return new Placement(p.controllers(), p.legs().stream().map(l -> new Placement.Leg(l.groups().stream()
                .map(g -> g.sized(g.size(layout))).toList())).toList(), p.lost());
    }

    private static Map<String, NodeEndpoints> merged(Map<String, NodeEndpoints> known, Map<String, NodeEndpoints> more) {
        Map<String, NodeEndpoints> all = new java.util.HashMap<>(more);
        all.putAll(known);
        return all;
    }

    private static CreateVolume create(State s) {
        return (CreateVolume) s.operation().orElseThrow();
    }

    private static DeleteVolume delete(State s) {
        return (DeleteVolume) s.operation().orElseThrow();
    }

    /** Applying is a stage of creates, attachment changes and extends; journals from before held it in deletes too. */
    private static Operation objectsApplied(State s, ObjectsApplied e) {
        Operation op = s.operation().orElseThrow();
        if (op instanceof CreateVolume c) {
            return c.converging(e.generations(), s.next());
        }
        if (op instanceof ChangeAttachments a) {
            return a.converging(e.generations(), s.next());
        }
        if (op instanceof ExtendVolume x) {
            return x.converging(e.generations(), s.next());
        }
        if (op instanceof GrowPools g) {
            return g.converging(e.generations(), s.next());
        }
        if (op instanceof ChangeExports x) {
            return x.converging(e.generations(), s.next());
        }
        if (op instanceof FinishClone f) {
            return f.converging(e.generations(), s.next());
        }
        if (op instanceof FailOver f) {
            return f.waiting(e.generations(), s.next(), e.at());
        }
        return ((DeleteVolume) op).at(DeleteVolume.Stage.RELEASE, s.next());
    }

    /**
     * An attachment change is done: the kernels allow its hosts. If the wanted hosts changed
     * meanwhile, the next change starts at once with them. (A create or delete converged only in
     * journals from before: they go on to finalize, or to release.)
     */
    private static State converged(State s, Converged e) {
        Operation op = s.operation().orElseThrow();
        if (op instanceof CreateVolume c) {
            return s.with(c.at(CreateVolume.Stage.FINALIZE, s.next()));
        }
        if (op instanceof DeleteVolume d) {
            return s.with(d.at(DeleteVolume.Stage.RELEASE, s.next()));
        }
        if (op instanceof ChangeExports x) {
            return s.with(s.phase(), queuedAttachments(s, x.requestedAt()));
        }
        if (op instanceof FinishClone f) {
            return s.with(f.converged(s.spec().orElseThrow().activeControllers(), s.next()));
        }
        ChangeAttachments done = (ChangeAttachments) op;
        Optional<Operation> next = s.attachments().equals(done.hosts()) ? Optional.empty()
                : Optional.of(ChangeAttachments.start(s.attachments(), done.requestedAt(), s.next()));
        return new State(s.phase(), s.name(), s.spec(), s.createdAt(), s.choice(), s.endpoints(), s.placement(), s.attachments(),
                done.hosts(), next, s.error(), s.placementAttempts(), s.lastFailover(), s.next());
    }

    private static Placement created(Placement p) {
        return new Placement(p.controllers(), p.legs().stream().map(l -> new Placement.Leg(l.groups().stream()
                .map(Placement.Group::created).toList())).toList(), p.lost());
    }
}
