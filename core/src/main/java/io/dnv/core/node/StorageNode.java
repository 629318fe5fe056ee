package io.dnv.core.node;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.dnv.core.CborSerializable;
import io.dnv.core.JournalFailure;
import io.dnv.core.kernel.AnaGroups;
import io.dnv.core.kernel.DeviceRef;
import io.dnv.core.kernel.DiskRange;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.DmTarget;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.Volume;
import org.apache.pekko.Done;
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
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReplyBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * One storage node: its registration, the capacity it owns (every extent of its disk is
 * reserved and released here, persisted, so concurrent creates never share one), the ANA
 * groups of its volume port, and the kernel objects every volume needs on it. It pushes the
 * node's whole desired state to the agent, coalesced: after any change at most one push per
 * tick, and again until the agent's heartbeat says it has the newest generation.
 *
 * Decisions are written in groups: while one write is on its way, the decisions taken meanwhile
 * count at once for every later decision (an extent is never handed out twice) and are written
 * together in the next write; each caller hears back once its decision is written. Under load a
 * node then writes a few times per round trip to the journal, not once per extent.
 *
 * Heartbeats and what the agent observed live in memory only: they are facts, not decisions.
 */
public final class StorageNode
        extends EventSourcedBehaviorWithEnforcedReplies<StorageNode.Command, StorageNode.Event, StorageNode.State> {

    public static final EntityTypeKey<Command> ENTITY_TYPE_KEY = EntityTypeKey.create(Command.class, "StorageNode");
    static final Duration PUSH_TICK = Duration.ofMillis(50);
    static final Duration RESEND_AFTER = Duration.ofSeconds(2);
    static final Duration DOWN_AFTER = Duration.ofSeconds(5);
    /** A heartbeat handled this long after it was sent is logged: the entity is behind its node. */
    private static final Duration HEARTBEAT_LAG_WARNING = Duration.ofSeconds(1);
    /** A progress question unanswered this long is answered "not yet", so the asker asks again. */
    static final Duration PROGRESS_WAIT = Duration.ofSeconds(2);
    /** How often the node checks its reservations against the volumes ({@link ReservationAudit}); one period is the grace. */
    static final Duration AUDIT_EVERY = Duration.ofSeconds(60);
    static final Duration AUDIT_ASK = Duration.ofSeconds(10);

    // commands

    public sealed interface Command extends CborSerializable {}

    /**
     * The agent is alive: who it is, where to push, and how far it got: its last pass was for
     * {@code passGeneration} and left some object of each of {@code unsettledVolumes} unsettled
     * (volume ids, not the objects' names: a burst leaves hundreds of names unsettled on a node,
     * and this is sent after every pass), and at its end the node still held bytes of each of
     * {@code leftoverVolumes}, volumes it is not to hold any more: dm devices in the kernel, or
     * released LDs not all zero yet whose devices a power cycle took; {@code zeroing} says how far
     * the released LDs still being zeroed are; {@code cleaned}: dirty ranges of the disk the agent
     * zeroed since it was told them; {@code degraded}: raid1 groups serving with a side down,
     * failed or recovering, each line starting with the group's dm name; {@code pools}: the legs'
     * thin pools past {@link PoolUsage#REPORTED_FROM_PERCENT} or not rw, as the last pass saw
     * them. Registers on first sight.
     */
    public record Heartbeat(NodeInfo info, ActorRef<ToAgent> agent, long desiredSeen, long reached, List<String> failures,
                            long passGeneration, Set<String> unsettledVolumes, Set<String> leftoverVolumes,
                            List<ZeroingProgress> zeroing, List<DiskRange> cleaned, List<String> degraded,
                            Map<String, Imports> imports, List<PoolUsage> pools, Instant sentAt) implements Command {

        public Heartbeat {
            sentAt = sentAt == null ? Instant.now() : sentAt;
            cleaned = cleaned == null ? List.of() : List.copyOf(cleaned);
            degraded = degraded == null ? List.of() : List.copyOf(degraded);
            imports = imports == null ? Map.of() : Map.copyOf(imports);
            pools = pools == null ? List.of() : List.copyOf(pools);
        }

        public Heartbeat(NodeInfo info, ActorRef<ToAgent> agent, long desiredSeen, long reached, List<String> failures,
                         long passGeneration, Set<String> unsettledVolumes, Set<String> leftoverVolumes,
                         List<ZeroingProgress> zeroing, List<DiskRange> cleaned, List<String> degraded) {
            this(info, agent, desiredSeen, reached, failures, passGeneration, unsettledVolumes, leftoverVolumes, zeroing, cleaned,
                    degraded, Map.of(), List.of(), Instant.now());
        }

        /** An agent that cleaned nothing since it was told (most tests). */
        public Heartbeat(NodeInfo info, ActorRef<ToAgent> agent, long desiredSeen, long reached, List<String> failures,
                         long passGeneration, Set<String> unsettledVolumes, Set<String> leftoverVolumes,
                         List<ZeroingProgress> zeroing) {
            this(info, agent, desiredSeen, reached, failures, passGeneration, unsettledVolumes, leftoverVolumes, zeroing, List.of(), List.of(),
                    Map.of(), List.of(), Instant.now());
        }
    }

    /**
     * The NVMe-oF imports a node's agent holds from one target address, by state: {@code live},
     * or {@code down} (connecting, resetting, deleting); {@code witnessLive} and {@code witnessDown}
     * of them are imports of the target's witness export ({@link Names#witnessNqn}), read afresh
     * every fraction of a second and with a keep-alive of a second, where the others are as the
     * agent's last pass saw them. Another node's live import from a node whose agent went silent is
     * the data path's word that its kernel still serves.
     */
    public record Imports(int live, int down, int witnessLive, int witnessDown) implements CborSerializable {

        /** No witness among them. */
        public Imports(int live, int down) {
            this(live, down, 0, 0);
        }

        public Imports plus(Imports other) {
            return new Imports(live + other.live, down + other.down, witnessLive + other.witnessLive, witnessDown + other.witnessDown);
        }

        /** The agent's controllers by target address, its own address left out. */
        public static Map<String, Imports> byTarget(List<io.dnv.core.kernel.ObservedKernel.Controller> controllers, String own) {
            Map<String, int[]> counts = new java.util.TreeMap<>();
            for (io.dnv.core.kernel.ObservedKernel.Controller c : controllers) {
                if (!c.address().equals(own)) {
                    int down = c.state().equals("live") ? 0 : 1;
                    int[] n = counts.computeIfAbsent(c.address(), a -> new int[4]);
                    n[down]++;
                    if (Names.isWitnessNqn(c.subsystemNqn())) {
                        n[2 + down]++;
                    }
                }
            }
            Map<String, Imports> out = new java.util.TreeMap<>();
            counts.forEach((a, n) -> out.put(a, new Imports(n[0], n[1], n[2], n[3])));
            return out;
        }
    }

    /**
     * Answered once one volume's objects are in place as of {@code generation} (even if others on
     * the node are not yet); after {@link #PROGRESS_WAIT} without that, answered "not yet" with
     * what it waits for.
     */
    public record AwaitProgress(String volumeId, long generation, ActorRef<Progress> replyTo) implements Command {}

    public record Progress(boolean settled, String waitingFor) implements CborSerializable {}

    /**
     * Reserve {@code sectors} for {@code volumeId} under a key (idempotent: the same key gets the
     * same extent). Refused while an earlier volume of that name is still being removed here:
     * its keys are the same, and its extents are not free yet.
     */
    public record Reserve(String volumeId, String key, long sectors, ActorRef<Reservation> replyTo) implements Command {}

    /**
     * Give back {@code volumeId}'s extents under {@code keys}. While the node may still hold the
     * volume's objects (not removed yet, or removed and not yet confirmed gone by the agent) the
     * release is recorded and carried out once the agent reports nothing of the volume left:
     * an extent is never handed out while a kernel may still use it or before it was zeroed.
     * Extents that none of a live volume's objects here maps are freed at once.
     */
    public record Release(String volumeId, List<String> keys, ActorRef<Done> replyTo) implements Command {}

    /**
     * The ANA group of a volume port that the volume's controller here goes in: the group of its
     * failover domain ({@link AnaGroups#domain}), shared with every other volume of that domain on
     * the port. Idempotent per volume.
     */
    public record AllocateAnaGroup(String volumeId, int portId, String domain, ActorRef<AnaGroupReply> replyTo) implements Command {}

    /**
     * A failover: the volume's controller here changes role (a standby promoted), and its
     * namespace moves to the group of its new domain while it stays enabled (ana_grpid; hosts
     * keep the path and learn the group's state). Idempotent: answers the group it is in.
     */
    public record MoveAnaGroup(String volumeId, int portId, String domain, ActorRef<AnaGroupReply> replyTo) implements Command {}

    /** Like {@link Release}, deferred while the node may still hold the volume's objects. */
    public record ReleaseAnaGroup(String volumeId, ActorRef<Done> replyTo) implements Command {}

    /** What one volume needs on this node; empty objects remove the volume from the node. */
    public record SetVolumeObjects(String volumeId, NodeObjects objects, ActorRef<Generation> replyTo) implements Command {}

    /**
     * The node's witness objects ({@link io.dnv.core.plan.Witnesses}), as the failure detector
     * planned them for the nodes registered now; told again from time to time, a repeat is no event.
     */
    public record SetWitnesses(NodeObjects objects) implements Command {}

    /**
     * The volume's groups were created: from now on its objects here carry no brand-new
     * preparations (answered with the generation that says so; nothing to do is no event).
     */
    public record MarkCreated(String volumeId, ActorRef<Generation> replyTo) implements Command {}

    public record GetNode(ActorRef<NodeView> replyTo) implements Command {}

    /** The volumes with objects on this node: what a failover of the node has to move. */
    public record GetVolumes(ActorRef<Volumes> replyTo) implements Command {}

    public record Volumes(Set<String> ids) implements CborSerializable {}

    /** Whether the agent has the volume's objects in place now, as its last pass observed them. */
    public record GetVolumeStatus(String volumeId, ActorRef<VolumeStatus> replyTo) implements Command {}

    /**
     * {@code why}: empty when in place, else what is not (in words for the volume's view);
     * {@code pools}: the volume's leg pools on this node as the agent last reported them.
     */
    public record VolumeStatus(String nodeId, boolean inPlace, String why, List<String> degraded, List<PoolUsage> pools)
            implements CborSerializable {
        public VolumeStatus {
            degraded = degraded == null ? List.of() : List.copyOf(degraded);
            pools = pools == null ? List.of() : List.copyOf(pools);
        }
    }

    public record GetKernel(ActorRef<ToAgent.KernelReport> replyTo) implements Command {}

    /**
     * An order for the node's agent, carried out at once (a snapshot's holds): passed on to the
     * agent, which answers the order's caller; refused here when no agent was heard from lately.
     */
    public record Order(ToAgent.Order order) implements Command {}

    private enum PushTick implements Command { INSTANCE }

    /** Checks that every reservation here still belongs to a volume that holds it ({@link ReservationAudit}). */
    public enum Audit implements Command { NOW }

    private record Audited(Map<String, Boolean> holds) implements Command {}

    /** The directory wrote that it lists this node. */
    private enum Listed implements Command { INSTANCE }

    /** Writes the decisions taken since the last write, in one write. */
    private enum WriteDecisions implements Command { INSTANCE }

    // replies

    public record Reservation(Optional<Placement.Extent> extent, String refusal) implements CborSerializable {}

    public record AnaGroupReply(Optional<Integer> group, String refusal) implements CborSerializable {}

    /** The desired-state generation that includes a change: converged once the agent reached it. */
    public record Generation(long value) implements CborSerializable {}

    // events

    public sealed interface Event extends CborSerializable {}

    /**
     * One write of the group commit: the decisions taken while the previous write was on its
     * way, in the order they were taken. Under load a write holds several, and a row per
     * decision cost the journal (and PostgreSQL) most of its work.
     */
    public record Decided(
            @JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "kind")
            @JsonSubTypes({
                    @JsonSubTypes.Type(value = Registered.class, name = "registered"),
                    @JsonSubTypes.Type(value = ExtentReserved.class, name = "extent-reserved"),
                    @JsonSubTypes.Type(value = ExtentsReleased.class, name = "extents-released"),
                    @JsonSubTypes.Type(value = AnaGroupAllocated.class, name = "ana-group-allocated"),
                    @JsonSubTypes.Type(value = AnaGroupReleased.class, name = "ana-group-released"),
                    @JsonSubTypes.Type(value = VolumeObjectsSet.class, name = "volume-objects-set"),
                    @JsonSubTypes.Type(value = VolumeObjectsRemoved.class, name = "volume-objects-removed"),
                    @JsonSubTypes.Type(value = VolumeCreated.class, name = "volume-created"),
                    @JsonSubTypes.Type(value = ReleaseDeferred.class, name = "release-deferred"),
                    @JsonSubTypes.Type(value = RemovalConfirmed.class, name = "removal-confirmed"),
                    @JsonSubTypes.Type(value = OrphanReleased.class, name = "orphan-released"),
                    @JsonSubTypes.Type(value = RangesCleaned.class, name = "ranges-cleaned"),
                    @JsonSubTypes.Type(value = WitnessesSet.class, name = "witnesses-set")})
            List<Decision> decisions) implements Event {}

    /** One decision. Journals written before {@link Decided} hold them as events of their own. */
    public sealed interface Decision extends Event {}

    public record Registered(NodeInfo info) implements Decision {}

    public record ExtentReserved(String key, Placement.Extent extent) implements Decision {}

    public record ExtentsReleased(List<String> keys) implements Decision {}

    /** {@code domain}: null in journals from before domains, where every volume had a group of its own. */
    public record AnaGroupAllocated(String volumeId, int portId, int group, String domain) implements Decision {}

    public record AnaGroupReleased(String volumeId) implements Decision {}

    public record VolumeObjectsSet(String volumeId, NodeObjects objects) implements Decision {}

    public record VolumeObjectsRemoved(String volumeId) implements Decision {}

    /** The volume's objects are as {@link NodeObjects#created()} has them: a few bytes, not the objects again. */
    public record VolumeCreated(String volumeId) implements Decision {}

    /** Released while the volume's objects may still be in the kernel: carried out at {@link RemovalConfirmed}. */
    public record ReleaseDeferred(String volumeId, List<String> keys, boolean anaGroup) implements Decision {}

    /**
     * The audit found {@code volumeId} holding nothing here twice in a row: its objects go and
     * what it reserved is released as a delete's is, once the agent confirms the objects gone.
     */
    public record OrphanReleased(String volumeId, List<String> keys, boolean anaGroup, String reason) implements Decision {}

    /** The agent reported nothing of the removed volume left in its kernel: what its removal held is free. */
    public record RemovalConfirmed(String volumeId) implements Decision {}

    /** The node's witness export and imports are these from now on. */
    public record WitnessesSet(NodeObjects objects) implements Decision {}

    /** The agent zeroed these dirty ranges of the disk (each under the epoch it was told): they may be reserved now. */
    public record RangesCleaned(List<DiskRange> ranges) implements Decision {}

    // state

    /** A volume's place in an ANA group: the group is its domain's on that port. */
    public record AnaSlot(int portId, int group, String domain) implements CborSerializable {}

    /** What a removed volume still holds here until its agent confirms it is gone from the kernel. */
    public record Removal(List<String> keys, boolean anaGroup) implements CborSerializable {
        static final Removal NOTHING_YET = new Removal(List.of(), false);

        Removal and(List<String> more, boolean ana) {
            List<String> all = new ArrayList<>(keys);
            more.stream().filter(k -> !keys.contains(k)).forEach(all::add);
            return new Removal(List.copyOf(all), anaGroup || ana);
        }
    }

    /**
     * @param removals volumes removed from this node whose objects the agent has not yet
     *                 confirmed gone, with what they keep reserved until then (null in
     *                 snapshots from before: none)
     * @param dirty    free ranges of the disk not known to be zero: the whole disk when it
     *                 registers, every extent once freed, until the agent reports it zeroed; no
     *                 reservation is taken from them (null in snapshots from before: all that is free)
     * @param epochs   how many times ranges became dirty: each gets the next number as its epoch
     * @param witnesses the node's witness export and its imports of its peers' (null in snapshots
     *                  from before witnesses: none)
     */
    public record State(Optional<NodeInfo> info, Map<String, Placement.Extent> extents, Map<String, AnaSlot> anaGroups,
                        Map<String, NodeObjects> objects, Map<String, Removal> removals, List<DiskRange> dirty, long epochs,
                        NodeObjects witnesses)
            implements CborSerializable {

        public State {
            removals = removals == null ? Map.of() : removals;
            witnesses = witnesses == null ? NodeObjects.NONE : witnesses;
            if (anaGroups.values().stream().anyMatch(slot -> slot.domain() == null)) {
                // A snapshot from before domains: each volume's group was its own.
                Map<String, AnaSlot> named = new HashMap<>();
                anaGroups.forEach((v, slot) -> named.put(v, slot.domain() != null ? slot
                        : new AnaSlot(slot.portId(), slot.group(), AnaGroups.legacy(v))));
                anaGroups = Map.copyOf(named);
            }
            if (dirty == null) {
                // Nothing was known clean before: whatever is free may hold a former tenant's bytes.
                long disk = info.map(i -> i.diskBytes() / 512).orElse(0L);
                dirty = Extents.free(disk, extents.values()).stream().map(g -> new DiskRange(g.start(), g.length(), 0)).toList();
            }
        }

        public static State empty() {
            return new State(Optional.empty(), Map.of(), Map.of(), Map.of(), Map.of(), List.of(), 0, NodeObjects.NONE);
        }

        /** The volume's objects are, or may still be, in this node's kernel. */
        boolean mayHold(String volumeId) {
            return objects.containsKey(volumeId) || removals.containsKey(volumeId);
        }

        long diskSectors() {
            return info.map(i -> i.diskBytes() / 512).orElse(0L);
        }
    }

    public static void init(ActorSystem<?> system) {
        ClusterSharding.get(system).init(Entity.of(ENTITY_TYPE_KEY, ctx -> create(ctx.getEntityId())).withRole("control"));
    }

    public static Behavior<Command> create(String nodeId) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new StorageNode(nodeId, ctx, timers)));
    }

    private final String nodeId;
    private final ActorContext<Command> ctx;
    private final TimerScheduler<Command> timers;
    // In memory only: the agent, its liveness and progress.
    private ActorRef<ToAgent> agent;
    private Instant lastHeartbeat;
    /** When a heartbeat's lag was last logged: once per {@link #DOWN_AFTER} at most. */
    private Instant lagWarnedAt;
    private long agentSeen = -1;
    private long reached = -1;
    private List<String> failures = List.of();
    private List<String> degraded = List.of();
    private List<PoolUsage> pools = List.of();
    private final PoolMarks poolMarks;
    private Map<String, Imports> imports = Map.of();
    /**
     * The view's parts that follow from the state alone, and the state they were computed from
     * (each event folds a new one): every create and every failover's new standby asks each node
     * for its view, and a node holds thousands of extents and ANA groups.
     */
    private State viewed;
    private NodeView.Capacity viewedCapacity;
    private List<NodeView.AnaGroup> viewedGroups;
    private long passGeneration = -1;
    private Set<String> unsettledVolumes = Set.of();
    private Set<String> leftoverVolumes = Set.of();
    private List<ZeroingProgress> zeroing = List.of();
    // A removal is confirmed by a pass at this generation or later (the one that wrote it; after
    // a restart, the first one known to hold it).
    private final Map<String, Long> removalSeenAt = new HashMap<>();
    private final Instant startedAt = Instant.now();
    // The generation that last changed each volume's objects here (after a restart: the first
    // one known), which a pass must have reached for the volume to be in place.
    private final Map<String, Long> volumeSetAt = new HashMap<>();
    private final ReservationAudit audit = new ReservationAudit();
    private boolean auditing;
    private boolean listed;
    private long pushed = -1;
    private Instant pushedAt = Instant.EPOCH;
    private ActorRef<ToAgent> sentTo;
    private final Map<String, NodeObjects> sent = new HashMap<>();
    private final Map<String, Long> sentVersions = new HashMap<>();
    private final List<Waiter> waiters = new ArrayList<>();
    // Decided, not written yet: the decisions, what to tell their callers once written, and the
    // journal's state with the decisions folded in.
    private final List<Decision> unwritten = new ArrayList<>();
    private final List<Consumer<State>> afterWrite = new ArrayList<>();
    private StateDraft decided;

    private record Waiter(AwaitProgress request, Instant until) {}

    private StorageNode(String nodeId, ActorContext<Command> ctx, TimerScheduler<Command> timers) {
        super(PersistenceId.of(ENTITY_TYPE_KEY.name(), nodeId), JournalFailure.RESTART);
        this.nodeId = nodeId;
        this.ctx = ctx;
        this.timers = timers;
        this.poolMarks = PoolMarks.from(ctx.getSystem().settings().config());
    }

    /** After every recovery: a restart after a journal failure cancelled the timers. */
    @Override
    public SignalHandler<State> signalHandler() {
        return newSignalHandlerBuilder()
                .onSignal(RecoveryCompleted.instance(), s -> {
                    timers.startTimerWithFixedDelay(PushTick.INSTANCE, PUSH_TICK);
                    timers.startTimerWithFixedDelay(Audit.NOW, AUDIT_EVERY);
                })
                .build();
    }

    @Override
    public State emptyState() {
        return State.empty();
    }

    /**
     * The state is the node's whole desired state (270-570 KB of CBOR with a few hundred volumes),
     * and a burst of creates writes a row here every few creates: every 200 rows was a snapshot
     * every few seconds. Replaying up to 1000 rows of a few kilobytes on recovery costs less than that.
     */
    @Override
    public RetentionCriteria retentionCriteria() {
        return RetentionCriteria.snapshotEvery(1000, 2);
    }

    @Override
    public CommandHandlerWithReply<Command, Event, State> commandHandler() {
        CommandHandlerWithReplyBuilder<Command, Event, State> b = newCommandHandlerWithReplyBuilder();
        b.forAnyState()
                .onCommand(Heartbeat.class, this::onHeartbeat)
                .onCommand(Reserve.class, this::onReserve)
                .onCommand(Release.class, this::onRelease)
                .onCommand(AllocateAnaGroup.class, this::onAllocateAnaGroup)
                .onCommand(MoveAnaGroup.class, this::onMoveAnaGroup)
                .onCommand(ReleaseAnaGroup.class, this::onReleaseAnaGroup)
                .onCommand(SetVolumeObjects.class, this::onSetVolumeObjects)
                .onCommand(MarkCreated.class, this::onMarkCreated)
                .onCommand(SetWitnesses.class, (s, c) -> c.objects().equals(decided(s).witnesses()) ? Effect().noReply()
                        : decide(s, new WitnessesSet(c.objects()), st -> {}))
                .onCommand(GetNode.class, (s, c) -> Effect().reply(c.replyTo(), view(s)))
                .onCommand(GetVolumes.class, (s, c) -> Effect().reply(c.replyTo(), new Volumes(new TreeSet<>(decided(s).objects().keySet()))))
                .onCommand(GetVolumeStatus.class, (s, c) -> Effect().reply(c.replyTo(), volumeStatus(s, c.volumeId())))
                .onCommand(GetKernel.class, this::onGetKernel)
                .onCommand(Order.class, this::onOrder)
                .onCommand(AwaitProgress.class, this::onAwaitProgress)
                .onCommand(WriteDecisions.class, (s, c) -> onWriteDecisions())
                .onCommand(PushTick.class, (s, c) -> onPushTick(s))
                .onCommand(Audit.class, (s, c) -> onAudit(s))
                .onCommand(Audited.class, this::onAudited)
                .onCommand(Listed.class, (s, c) -> {
                    listed = true;
                    return Effect().noReply();
                });
        return b.build();
    }

    private ReplyEffect<Event, State> onHeartbeat(State s, Heartbeat h) {
        agent = h.agent();
        lastHeartbeat = Instant.now();
        long lagMillis = Duration.between(h.sentAt(), lastHeartbeat).toMillis();
        if (lagMillis > HEARTBEAT_LAG_WARNING.toMillis()
                && (lagWarnedAt == null || lagWarnedAt.isBefore(lastHeartbeat.minus(DOWN_AFTER)))) {
            lagWarnedAt = lastHeartbeat;
            // Judged by when it is handled, not sent (the members' clocks are not compared): a
            // node's entity this far behind keeps a node that went silent heard, and its failure undetected.
            ctx.getLog().warn("heartbeat of {} handled {} ms after its agent sent it (by the clocks of both members): this entity is behind",
                    nodeId, lagMillis);
        }
        agentSeen = h.desiredSeen();
        reached = h.reached();
        failures = List.copyOf(h.failures());
        degraded = h.degraded();
        pools = h.pools();
        imports = h.imports();
        passGeneration = h.passGeneration();
        unsettledVolumes = Set.copyOf(h.unsettledVolumes());
        leftoverVolumes = Set.copyOf(h.leftoverVolumes());
        zeroing = List.copyOf(h.zeroing());
        answerWaiters(s);
        tellPoolsPastMark(s);
        if (!h.info().nodeId().equals(nodeId)) {
            ctx.getLog().error("heartbeat of {} reached the entity of {}; ignored", h.info().nodeId(), nodeId);
            return Effect().noReply();
        }
        List<Decision> decisions = new ArrayList<>();
        if (!decided(s).info().equals(Optional.of(h.info()))) {
            decisions.add(new Registered(h.info()));
        }
        confirmedRemovals(s).forEach(v -> decisions.add(new RemovalConfirmed(v)));
        List<DiskRange> dirty = decided(s).dirty();
        List<DiskRange> cleaned = h.cleaned().stream().filter(r -> DirtyRanges.cleans(dirty, r)).toList();
        if (!cleaned.isEmpty()) {
            decisions.add(new RangesCleaned(cleaned));
        }
        if (decisions.isEmpty()) {
            return afterDecisions(s, st -> announce());
        }
        for (int i = 0; i < decisions.size() - 1; i++) {
            decide(s, decisions.get(i), st -> {});
        }
        return decide(s, decisions.get(decisions.size() - 1), st -> announce());
    }

    /** The volumes whose leg pools here are past the low-water mark, or no longer are, hear it (PoolMarks). */
    private void tellPoolsPastMark(State s) {
        ClusterSharding sharding = ClusterSharding.get(ctx.getSystem());
        poolMarks.due(pools, decided(s).objects().keySet(), Instant.now()).forEach((volume, past) ->
                sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, volume).tell(new Volume.PoolsPastMark(nodeId, poolMarks.markPercent, past)));
    }

    /**
     * Removed volumes the agent's last pass confirmed gone: it ran on a desired state without
     * them and its kernel held no dm device of theirs at its end, nor the node an LD of theirs not
     * all zero (an LD is zeroed before its device goes, or on the disk if a power cycle took the
     * device; exports go before the devices under them).
     */
    private List<String> confirmedRemovals(State journal) {
        removalSeenAt.keySet().retainAll(journal.removals().keySet());
        List<String> confirmed = new ArrayList<>();
        State decided = decided(journal);
        for (String volume : journal.removals().keySet()) {
            long seenAt = removalSeenAt.computeIfAbsent(volume, v -> lastSequenceNumber(ctx));
            if (passGeneration >= seenAt && !leftoverVolumes.contains(volume) && !decided.objects().containsKey(volume)
                    && decided.removals().containsKey(volume)) {
                confirmed.add(volume);
            }
        }
        return confirmed;
    }

    /**
     * Until the directory answers, every heartbeat asks it again to list this node: an Add or its
     * answer can be lost (the directory restarting or moving to another member), and a node the
     * directory does not list is left out of placement.
     */
    private void announce() {
        if (!listed) {
            ActorRef<Done> answer = ctx.messageAdapter(Done.class, done -> Listed.INSTANCE);
            NodeDirectory.ref(ClusterSharding.get(ctx.getSystem())).tell(new NodeDirectory.Add(nodeId, answer));
        }
    }

    private ReplyEffect<Event, State> onReserve(State journal, Reserve r) {
        State s = decided(journal);
        if (s.removals().containsKey(r.volumeId())) {
            return Effect().reply(r.replyTo(), new Reservation(Optional.empty(), stillRemoving(r.volumeId())));
        }
        Placement.Extent existing = s.extents().get(r.key());
        if (existing != null) {
            return afterDecisions(journal, st -> r.replyTo().tell(new Reservation(Optional.of(existing), "")));
        }
        if (s.info().isEmpty() || !s.info().get().roles().contains("disk")) {
            return Effect().reply(r.replyTo(), new Reservation(Optional.empty(), nodeId + " is not a registered disk node"));
        }
        long sectors = Extents.aligned(r.sectors());
        List<Extents.Gap> gaps = clean(s);
        Optional<Long> start = gaps.stream().filter(g -> g.length() >= sectors).map(Extents.Gap::start).findFirst();
        if (start.isEmpty()) {
            return Effect().reply(r.replyTo(), new Reservation(Optional.empty(), nodeId + " has no free extent of " + sectors / 2048
                    + " MiB (largest free: " + largest(gaps) / 2048 + " MiB; " + DirtyRanges.sectors(s.dirty()) / 2048
                    + " MiB more not zeroed yet)"));
        }
        Placement.Extent extent = new Placement.Extent(nodeId, start.get(), sectors);
        return decide(journal, new ExtentReserved(r.key(), extent), st -> r.replyTo().tell(new Reservation(Optional.of(extent), "")));
    }

    private String stillRemoving(String volumeId) {
        return nodeId + " is still removing an earlier volume named " + volumeId + " (its agent has not confirmed it gone)";
    }

    private ReplyEffect<Event, State> onRelease(State journal, Release r) {
        State s = decided(journal);
        List<String> held = r.keys().stream().filter(s.extents()::containsKey).toList();
        Consumer<State> done = st -> r.replyTo().tell(Done.getInstance());
        if (held.isEmpty()) {
            return afterDecisions(journal, done);
        }
        if (!s.mayHold(r.volumeId())) {
            return decide(journal, new ExtentsReleased(held), done);
        }
        // A live volume giving back extents its objects here never mapped (an extend that could
        // not place every leg): no kernel ever had them, so waiting for the volume's removal would
        // keep them for the volume's whole life.
        NodeObjects live = s.removals().containsKey(r.volumeId()) ? null : s.objects().get(r.volumeId());
        if (live != null && held.stream().noneMatch(k -> maps(live, s.extents().get(k)))) {
            return decide(journal, new ExtentsReleased(held), done);
        }
        Removal removal = s.removals().getOrDefault(r.volumeId(), Removal.NOTHING_YET);
        if (removal.keys().containsAll(held)) {
            return afterDecisions(journal, done);
        }
        return decide(journal, new ReleaseDeferred(r.volumeId(), held, false), done);
    }

    /** Whether an LD of the objects is the extent: a linear over the disk at the extent's start. */
    private static boolean maps(NodeObjects objects, Placement.Extent extent) {
        return objects.dmDevices().stream().flatMap(d -> d.table().lines().stream())
                .anyMatch(l -> l.target() instanceof DmTarget.Linear lin && lin.device() instanceof DeviceRef.Disk
                        && lin.offset() == extent.startSector());
    }

    private ReplyEffect<Event, State> onAllocateAnaGroup(State journal, AllocateAnaGroup a) {
        State s = decided(journal);
        if (s.removals().containsKey(a.volumeId())) {
            return Effect().reply(a.replyTo(), new AnaGroupReply(Optional.empty(), stillRemoving(a.volumeId())));
        }
        AnaSlot existing = s.anaGroups().get(a.volumeId());
        if (existing != null && existing.portId() == a.portId() && existing.domain().equals(a.domain())) {
            return afterDecisions(journal, st -> a.replyTo().tell(new AnaGroupReply(Optional.of(existing.group()), "")));
        }
        if (existing != null && s.mayHold(a.volumeId())) {
            // Its namespace may be in that group now; moving it is a failover's, not a create's.
            return Effect().reply(a.replyTo(), new AnaGroupReply(Optional.empty(), nodeId + " holds " + a.volumeId()
                    + " in ANA group " + existing.group() + " (" + existing.domain() + "), not " + a.domain()));
        }
        // Left by an earlier attempt that chose other nodes (nothing of it in the kernel): replaced.
        Map<Integer, String> taken = groupsTaken(s, a.portId(), a.volumeId());
        OptionalInt group = AnaGroups.groupFor(a.domain(), taken);
        if (group.isEmpty()) {
            return Effect().reply(a.replyTo(), new AnaGroupReply(Optional.empty(), nodeId + " port " + a.portId()
                    + " has no ANA group for " + a.domain() + " (its " + AnaGroups.USABLE_PER_PORT + " groups serve other failover domains)"));
        }
        return decide(journal, new AnaGroupAllocated(a.volumeId(), a.portId(), group.getAsInt(), a.domain()),
                st -> a.replyTo().tell(new AnaGroupReply(Optional.of(group.getAsInt()), "")));
    }

    private ReplyEffect<Event, State> onMoveAnaGroup(State journal, MoveAnaGroup m) {
        State s = decided(journal);
        AnaSlot existing = s.anaGroups().get(m.volumeId());
        if (existing != null && existing.portId() == m.portId() && existing.domain().equals(m.domain())) {
            return afterDecisions(journal, st -> m.replyTo().tell(new AnaGroupReply(Optional.of(existing.group()), "")));
        }
        Map<Integer, String> taken = groupsTaken(s, m.portId(), m.volumeId());
        if (existing != null && existing.portId() == m.portId()) {
            // Never the group it is in: that group's state would change under a namespace whose
            // device may not be in place yet; a move (ana_grpid) waits for the device, a state does not.
            taken.putIfAbsent(existing.group(), existing.domain());
        }
        OptionalInt group = AnaGroups.groupFor(m.domain(), taken);
        if (group.isEmpty()) {
            return Effect().reply(m.replyTo(), new AnaGroupReply(Optional.empty(), nodeId + " port " + m.portId()
                    + " has no ANA group for " + m.domain()));
        }
        return decide(journal, new AnaGroupAllocated(m.volumeId(), m.portId(), group.getAsInt(), m.domain()),
                st -> m.replyTo().tell(new AnaGroupReply(Optional.of(group.getAsInt()), "")));
    }

    /** The groups of a port held by volumes other than {@code volumeId}, with their domains. */
    private static Map<Integer, String> groupsTaken(State s, int portId, String volumeId) {
        Map<Integer, String> taken = new HashMap<>();
        s.anaGroups().forEach((v, slot) -> {
            if (slot.portId() == portId && !v.equals(volumeId)) {
                taken.put(slot.group(), slot.domain());
            }
        });
        return taken;
    }

    private ReplyEffect<Event, State> onReleaseAnaGroup(State journal, ReleaseAnaGroup r) {
        State s = decided(journal);
        Consumer<State> done = st -> r.replyTo().tell(Done.getInstance());
        if (!s.anaGroups().containsKey(r.volumeId())
                || s.removals().getOrDefault(r.volumeId(), Removal.NOTHING_YET).anaGroup()) {
            return afterDecisions(journal, done);
        }
        if (!s.mayHold(r.volumeId())) {
            return decide(journal, new AnaGroupReleased(r.volumeId()), done);
        }
        return decide(journal, new ReleaseDeferred(r.volumeId(), List.of(), true), done);
    }

    private ReplyEffect<Event, State> onSetVolumeObjects(State journal, SetVolumeObjects c) {
        State s = decided(journal);
        boolean remove = c.objects().isEmpty();
        NodeObjects current = s.objects().get(c.volumeId());
        Consumer<State> reply = st -> c.replyTo().tell(new Generation(lastSequenceNumber(ctx)));
        if (remove ? current == null : c.objects().equals(current)) {
            return afterDecisions(journal, reply);
        }
        if (remove) {
            return decide(journal, new VolumeObjectsRemoved(c.volumeId()), reply.andThen(st -> removalSeenAt.put(c.volumeId(),
                    lastSequenceNumber(ctx))));
        }
        return decide(journal, new VolumeObjectsSet(c.volumeId(), c.objects()), reply.andThen(st -> volumeSetAt.put(c.volumeId(),
                lastSequenceNumber(ctx))));
    }

    private ReplyEffect<Event, State> onMarkCreated(State journal, MarkCreated c) {
        NodeObjects current = decided(journal).objects().get(c.volumeId());
        Consumer<State> reply = st -> c.replyTo().tell(new Generation(lastSequenceNumber(ctx)));
        if (current == null || current.equals(current.created())) {
            return afterDecisions(journal, reply);
        }
        return decide(journal, new VolumeCreated(c.volumeId()), reply);
    }

    // ---------------------------------------------------------------- group commit

    private State decided(State journal) {
        return unwritten.isEmpty() ? journal : decided.state();
    }

    /** Takes a decision now; it is written with the others of this round, then {@code reply} runs. */
    private ReplyEffect<Event, State> decide(State journal, Decision d, Consumer<State> reply) {
        if (unwritten.isEmpty()) {
            ctx.getSelf().tell(WriteDecisions.INSTANCE);
            decided = new StateDraft(journal);
        }
        decided.apply(d);
        unwritten.add(d);
        afterWrite.add(reply);
        return Effect().noReply();
    }

    /** An answer that may rest on decisions not written yet waits for them. */
    private ReplyEffect<Event, State> afterDecisions(State journal, Consumer<State> reply) {
        if (unwritten.isEmpty()) {
            reply.accept(journal);
        } else {
            afterWrite.add(reply);
        }
        return Effect().noReply();
    }

    private ReplyEffect<Event, State> onWriteDecisions() {
        if (unwritten.isEmpty()) {
            return Effect().noReply();
        }
        Decided written = new Decided(List.copyOf(unwritten));
        List<Consumer<State>> replies = List.copyOf(afterWrite);
        unwritten.clear();
        afterWrite.clear();
        decided = null;
        return Effect().persist(written).thenRun(st -> replies.forEach(r -> r.accept(st))).thenNoReply();
    }

    // ---------------------------------------------------------------- progress

    private ReplyEffect<Event, State> onAwaitProgress(State s, AwaitProgress p) {
        if (settled(s, p)) {
            p.replyTo().tell(new Progress(true, ""));
        } else {
            waiters.add(new Waiter(p, Instant.now().plus(PROGRESS_WAIT)));
        }
        return Effect().noReply();
    }

    private void answerWaiters(State s) {
        waiters.removeIf(w -> {
            boolean settled = settled(s, w.request());
            if (settled) {
                w.request().replyTo().tell(new Progress(true, ""));
            }
            return settled;
        });
    }

    private void expireWaiters() {
        Instant now = Instant.now();
        waiters.removeIf(w -> {
            boolean expired = now.isAfter(w.until());
            if (expired) {
                w.request().replyTo().tell(new Progress(false, waitingFor(w.request())));
            }
            return expired;
        });
    }

    /**
     * Settled when the agent converged the whole node at that generation, or when its last pass,
     * at that generation or later, left none of the volume's objects unsettled.
     */
    private boolean settled(State s, AwaitProgress p) {
        if (reached >= p.generation()) {
            return true;
        }
        NodeObjects objects = s.objects().get(p.volumeId());
        if (passGeneration < p.generation() || objects == null) {
            return false;
        }
        return !unsettledVolumes.contains(p.volumeId());
    }

    private VolumeStatus volumeStatus(State s, String volumeId) {
        if (!s.objects().containsKey(volumeId)) {
            return new VolumeStatus(nodeId, true, "", List.of(), List.of());
        }
        List<String> volumeDegraded = degraded.stream()
                .filter(line -> Names.volumeOfDm(nodeId, line.split("[ :]", 2)[0]).filter(volumeId::equals).isPresent())
                .map(line -> nodeId + ": " + line).toList();
        List<PoolUsage> volumePools = pools.stream().filter(p -> p.volumeId().equals(volumeId)).toList();
        long setAt = volumeSetAt.computeIfAbsent(volumeId, v -> lastSequenceNumber(ctx));
        boolean up = lastHeartbeat != null && !lastHeartbeat.isBefore(Instant.now().minus(DOWN_AFTER));
        if (up && passGeneration >= setAt && !unsettledVolumes.contains(volumeId)) {
            return new VolumeStatus(nodeId, true, "", volumeDegraded, volumePools);
        }
        return new VolumeStatus(nodeId, false, waitingFor(new AwaitProgress(volumeId, setAt, ctx.getSystem().ignoreRef())),
                volumeDegraded, volumePools);
    }

    /** Why a volume's objects are not in place here yet, in words for the volume's view. */
    private String waitingFor(AwaitProgress p) {
        if (lastHeartbeat == null) {
            return nodeId + ": no heartbeat from its agent yet";
        }
        if (lastHeartbeat.isBefore(Instant.now().minus(DOWN_AFTER))) {
            return nodeId + ": agent silent since " + lastHeartbeat;
        }
        if (passGeneration < p.generation()) {
            return nodeId + ": agent's last pass was at generation " + passGeneration + ", needs " + p.generation();
        }
        return nodeId + ": objects not in place yet" + (failures.isEmpty() ? "" : "; kernel refused: "
                + String.join("; ", failures.subList(0, Math.min(3, failures.size()))));
    }

    /** Asks every volume with something here whether it still holds it; nothing changes until {@link Audited}. */
    private ReplyEffect<Event, State> onAudit(State s) {
        if (auditing) {
            return Effect().noReply();
        }
        List<String> volumes = List.copyOf(ReservationAudit.volumes(decided(s)));
        if (volumes.isEmpty()) {
            audit.orphans(Map.of());
            return Effect().noReply();
        }
        auditing = true;
        ClusterSharding sharding = ClusterSharding.get(ctx.getSystem());
        List<CompletableFuture<Boolean>> asks = volumes.stream().map(v -> sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, v)
                .<Volume.Holding>ask(r -> new Volume.Holds(nodeId, r), AUDIT_ASK)
                .thenApply(Volume.Holding::holds).exceptionally(t -> true).toCompletableFuture()).toList();
        ctx.pipeToSelf(CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new)), (done, failure) -> {
            Map<String, Boolean> holds = new HashMap<>();
            for (int i = 0; i < volumes.size(); i++) {
                holds.put(volumes.get(i), asks.get(i).join());
            }
            return new Audited(holds);
        });
        return Effect().noReply();
    }

    private ReplyEffect<Event, State> onAudited(State journal, Audited a) {
        auditing = false;
        State s = decided(journal);
        List<String> orphans = audit.orphans(a.holds());
        for (String v : orphans) {
            String why = "no volume " + v + " holds it: two audits " + AUDIT_EVERY.toSeconds() + " s apart found it not holding";
            ctx.getLog().warn("node {}: releasing what {} reserved here ({} extents, ANA group {}): {}", nodeId, v,
                    ReservationAudit.keysOf(s, v).size(), s.anaGroups().containsKey(v), why);
            decide(journal, new OrphanReleased(v, ReservationAudit.keysOf(s, v), s.anaGroups().containsKey(v), why), st -> {});
        }
        return Effect().noReply();
    }

    private ReplyEffect<Event, State> onGetKernel(State s, GetKernel g) {
        if (agent == null) {
            g.replyTo().tell(new ToAgent.KernelReport(Optional.empty()));
        } else {
            agent.tell(new ToAgent.GetKernel(g.replyTo()));
        }
        return Effect().noReply();
    }

    private ReplyEffect<Event, State> onOrder(State s, Order o) {
        if (agent == null || lastHeartbeat == null || Duration.between(lastHeartbeat, Instant.now()).compareTo(DOWN_AFTER) > 0) {
            o.order().replyTo().tell(ToAgent.OrderDone.refused(nodeId + ": no agent heard from"
                    + (lastHeartbeat == null ? " since this control member started" : " since " + lastHeartbeat)));
        } else {
            agent.tell(o.order());
        }
        return Effect().noReply();
    }

    /**
     * Pushes the newest desired state when the agent has not got it yet: the volumes that changed
     * since the last push, then a Sync naming all of them (a volume not named leaves the node). Coalesced (at most one push per tick); when the agent has
     * not acknowledged within RESEND_AFTER, or is a new agent, everything is sent again.
     */
    private ReplyEffect<Event, State> onPushTick(State s) {
        expireWaiters();
        long generation = lastSequenceNumber(ctx);
        if (agent == null || s.info().isEmpty() || agentSeen >= generation) {
            return Effect().noReply();
        }
        boolean newer = pushed < generation;
        boolean lost = Instant.now().isAfter(pushedAt.plus(RESEND_AFTER));
        if (!newer && !lost) {
            return Effect().noReply();
        }
        if (lost || !agent.equals(sentTo)) {
            sent.clear();
        }
        s.objects().forEach((volume, objects) -> {
            NodeObjects before = sent.get(volume);
            if (objects != before && !objects.equals(before)) {
                agent.tell(before != null && objects.equals(before.created())
                        ? new ToAgent.VolumeCreated(volume, sentVersions.get(volume), generation)
                        : new ToAgent.PutVolume(volume, objects, generation));
                sent.put(volume, objects);
                sentVersions.put(volume, generation);
            }
        });
        sent.keySet().retainAll(s.objects().keySet());
        sentVersions.keySet().retainAll(s.objects().keySet());
        agent.tell(new ToAgent.Sync(generation, s.info().get().endpoints(), new TreeMap<>(sentVersions), s.dirty(), s.witnesses()));
        sentTo = agent;
        pushed = generation;
        pushedAt = Instant.now();
        return Effect().noReply();
    }

    private NodeView view(State s) {
        if (s != viewed) {
            viewedCapacity = capacity(s);
            viewedGroups = anaGroups(s);
            viewed = s;
        }
        String state = s.info().isEmpty() ? "UNREGISTERED"
                : lastHeartbeat != null && lastHeartbeat.isAfter(Instant.now().minus(DOWN_AFTER)) ? "UP" : "DOWN";
        // Not heard from since this entity started (a control member restarted or took it over):
        // its DOWN is not news yet.
        boolean settling = lastHeartbeat == null && startedAt.isAfter(Instant.now().minus(DOWN_AFTER));
        return new NodeView(nodeId, state, s.info(), Optional.ofNullable(lastHeartbeat), viewedCapacity,
                s.objects().size(), s.anaGroups().size(), viewedGroups, lastSequenceNumber(ctx), reached, failures, settling,
                new TreeSet<>(s.removals().keySet()), zeroing, imports);
    }

    private static NodeView.Capacity capacity(State s) {
        long total = s.diskSectors();
        long reserved = s.extents().values().stream().mapToLong(Placement.Extent::lengthSectors).sum();
        List<Extents.Gap> gaps = clean(s);
        return new NodeView.Capacity(total * 512, reserved * 512, gaps.stream().mapToLong(Extents.Gap::length).sum() * 512,
                largest(gaps) * 512, gaps.size(), DirtyRanges.sectors(s.dirty()) * 512);
    }

    /** The groups handed out, by port and group, each with its domain and how many volumes are in it. */
    private static List<NodeView.AnaGroup> anaGroups(State s) {
        Map<List<Integer>, NodeView.AnaGroup> groups = new TreeMap<>(Comparator.comparing((List<Integer> k) -> k.get(0))
                .thenComparing(k -> k.get(1)));
        s.anaGroups().values().forEach(slot -> groups.merge(List.of(slot.portId(), slot.group()),
                new NodeView.AnaGroup(slot.portId(), slot.group(), slot.domain(), 1),
                (g, one) -> new NodeView.AnaGroup(g.portId(), g.group(), g.domain(), g.volumes() + 1)));
        return List.copyOf(groups.values());
    }

    private static long largest(List<Extents.Gap> gaps) {
        return gaps.stream().mapToLong(Extents.Gap::length).max().orElse(0);
    }

    /** What a reservation can get: free, and known to be zero (a dirty range counts as taken until it is cleaned). */
    private static List<Extents.Gap> clean(State s) {
        return Extents.clean(s.diskSectors(), s.extents().values(), s.dirty());
    }

    @Override
    public EventHandler<State, Event> eventHandler() {
        return newEventHandlerBuilder().forAnyState()
                .onEvent(Decided.class, (s, e) -> StateDraft.fold(s, e.decisions()))
                .onEvent(Decision.class, (s, e) -> StateDraft.fold(s, List.of(e)))
                .build();
    }
}
