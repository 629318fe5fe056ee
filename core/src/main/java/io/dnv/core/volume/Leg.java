package io.dnv.core.volume;

import io.dnv.core.CborSerializable;
import io.dnv.core.JournalFailure;
import io.dnv.core.node.StorageNode;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.SnapshotSelectionCriteria;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.Recovery;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * One leg of a volume (id "&lt;volume&gt;/&lt;leg&gt;"): it owns its raid1 groups — which disk
 * extents hold each side, reserved from the storage nodes under keys of its own. A group is
 * brand new when placed; the Volume records, in its own placement, when its groups are created
 * (one fact, one owner). The Volume entity orchestrates; the leg keeps its extents.
 */
public final class Leg extends EventSourcedBehaviorWithEnforcedReplies<Leg.Command, Leg.Event, Leg.State> {

    public static final EntityTypeKey<Command> ENTITY_TYPE_KEY = EntityTypeKey.create(Command.class, "Leg");
    static final Duration ASK = Duration.ofSeconds(10);

    public sealed interface Command extends CborSerializable {}

    /**
     * Reserve one LD of {@code ldSectors} on each of {@code sideNodes} for raid1 group
     * {@code group}: 0 at create, the next one at an extend. Idempotent: a leg that has the group
     * answers it; one that lacks an earlier group refuses.
     */
    public record Place(int group, List<String> sideNodes, long ldSectors, ActorRef<Placed> replyTo) implements Command {}

    /** Release every extent (each disk node frees it once its agent confirmed the volume's objects gone and zeroed). */
    public record Release(ActorRef<Done> replyTo) implements Command {}

    /**
     * Release the last group, which no node's objects ever named: an extend refused before it
     * built anything gives its groups back. Done at once when the leg does not have the group.
     */
    public record ReleaseGroup(int group, ActorRef<Done> replyTo) implements Command {}

    public record Get(ActorRef<State> replyTo) implements Command {}

    /** Sharding's stop message: after the leg asked to be passivated, or when its shard is handed off. */
    private enum Stop implements Command { INSTANCE }

    private record Reserved(Place request, List<StorageNode.Reservation> results, Throwable failure) implements Command {}

    /** {@code group}: the one group released, or -1 for all of them. */
    private record Released(int group, ActorRef<Done> replyTo, Throwable failure) implements Command {}

    private record RefusedAndReleased(Place request, String refusal) implements Command {}

    public record Placed(Optional<Placement.Leg> leg, String refusal) implements CborSerializable {}

    public sealed interface Event extends CborSerializable {}

    public record GroupPlaced(Placement.Group group) implements Event {}

    public record ExtentsReleased() implements Event {}

    /** The last group's extents were given back (an extend that could not place every leg). */
    public record GroupReleased(int group) implements Event {}

    public record State(List<Placement.Group> groups, boolean released) implements CborSerializable {
        public Optional<Placement.Leg> leg() {
            return groups.isEmpty() || released ? Optional.empty() : Optional.of(new Placement.Leg(groups));
        }
    }

    /**
     * A leg is asked at create and at delete, and idles in between, for the volume's whole life:
     * once it answered and has no attempt under way it asks its shard to passivate it, and the
     * next ask starts it again from its few events. Else every live volume kept four idle
     * entities in memory.
     */
    public static void init(ActorSystem<?> system) {
        ClusterSharding.get(system).init(Entity.of(ENTITY_TYPE_KEY, c -> create(c.getEntityId(), c.getShard()))
                .withRole("control").withStopMessage(Stop.INSTANCE));
    }

    public static String entityId(String volumeId, int leg) {
        return volumeId + "/" + leg;
    }

    public static Behavior<Command> create(String legId, ActorRef<ClusterSharding.ShardCommand> shard) {
        return Behaviors.setup(ctx -> new Leg(legId, shard, ctx));
    }

    private final String legId;
    private final String volumeId;
    private final ActorRef<ClusterSharding.ShardCommand> shard;
    private final ActorContext<Command> ctx;
    private final ClusterSharding sharding;
    /**
     * In memory: a reservation or release is under way. Place and Release wait for it (stashed),
     * one attempt at a time: a Place retried while a refused attempt still gives back its keys
     * reserved the same keys again, then the release freed them under the placed group, and the
     * disk node handed the extent to another volume (ControllerCrashTest saw one extent in two
     * volumes).
     */
    private boolean attemptInFlight;

    private Leg(String legId, ActorRef<ClusterSharding.ShardCommand> shard, ActorContext<Command> ctx) {
        super(PersistenceId.of(ENTITY_TYPE_KEY.name(), legId), JournalFailure.RESTART);
        this.legId = legId;
        this.volumeId = legId.substring(0, legId.lastIndexOf('/'));
        this.shard = shard;
        this.ctx = ctx;
        this.sharding = ClusterSharding.get(ctx.getSystem());
    }

    @Override
    public State emptyState() {
        return new State(List.of(), false);
    }

    /**
     * A leg has a handful of events in its life (a group placed, its extents released), so it
     * keeps no snapshots and recovery does not look for one: a create starts four legs, and
     * each look was a query on the journal's database.
     */
    @Override
    public Recovery recovery() {
        return Recovery.withSnapshotSelectionCriteria(SnapshotSelectionCriteria.none());
    }

    private String key(int group, int side) {
        return legId + "/" + group + "/" + side;
    }

    @Override
    public CommandHandlerWithReply<Command, Event, State> commandHandler() {
        return newCommandHandlerWithReplyBuilder().forAnyState()
                .onCommand(Place.class, this::onPlace)
                .onCommand(Reserved.class, this::onReserved)
                .onCommand(Release.class, this::onRelease)
                .onCommand(ReleaseGroup.class, this::onReleaseGroup)
                .onCommand(Released.class, (st, r) -> onReleased(r))
                .onCommand(RefusedAndReleased.class, (st, r) -> onRefusedAndReleased(r))
                .onCommand(Get.class, (s, g) -> answerAndRest(g.replyTo(), s))
                .onCommand(Stop.class, (s, c) -> onStop())
                .build();
    }

    /**
     * A Place or Release that reached the leg after it asked to be passivated may have started
     * an attempt: the stop waits for it (its answer, and a release of what it reserved when
     * refused, must not be cut off), and the shard starts the leg again for what it buffered.
     */
    private ReplyEffect<Event, State> onStop() {
        return attemptInFlight ? Effect().stash() : Effect().stop().thenNoReply();
    }

    /** Answers without changing anything, then asks to be passivated unless an attempt is under way. */
    private <R> ReplyEffect<Event, State> answerAndRest(ActorRef<R> replyTo, R answer) {
        return Effect().none().thenRun(st -> passivateIfIdle()).thenReply(replyTo, st -> answer);
    }

    private void passivateIfIdle() {
        if (!attemptInFlight) {
            shard.tell(new ClusterSharding.Passivate<>(ctx.getSelf()));
        }
    }

    private ReplyEffect<Event, State> onPlace(State s, Place p) {
        if (attemptInFlight) {
            return Effect().stash();
        }
        List<Placement.Group> groups = s.released() ? List.of() : s.groups();
        if (groups.size() > p.group()) {
            return answerAndRest(p.replyTo(), new Placed(s.leg(), ""));
        }
        if (groups.size() < p.group()) {
            return answerAndRest(p.replyTo(), new Placed(Optional.empty(), "leg " + legId + " has " + groups.size()
                    + " groups, cannot place group " + p.group()));
        }
        attemptInFlight = true;
        List<CompletionStage<StorageNode.Reservation>> asks = new ArrayList<>();
        for (int side = 0; side < p.sideNodes().size(); side++) {
            String k = key(p.group(), side);
            asks.add(sharding.entityRefFor(StorageNode.ENTITY_TYPE_KEY, p.sideNodes().get(side))
                    .ask(r -> new StorageNode.Reserve(volumeId, k, p.ldSectors(), r), ASK));
        }
        ctx.pipeToSelf(all(asks), (results, failure) -> new Reserved(p, results, failure));
        return Effect().noReply();
    }

    private ReplyEffect<Event, State> onReserved(State s, Reserved r) {
        List<String> refusals = new ArrayList<>();
        if (r.failure() != null) {
            refusals.add("a disk node did not answer: " + r.failure().getMessage());
        } else {
            r.results().stream().filter(x -> x.extent().isEmpty()).forEach(x -> refusals.add(x.refusal()));
        }
        if (!refusals.isEmpty()) {
            // Give back what this attempt got before answering (still under way), so a refused
            // leg holds nothing.
            String why = String.join("; ", refusals);
            ctx.pipeToSelf(releaseGroup(r.request().group(), r.request().sideNodes()), (done, failure) -> new RefusedAndReleased(r.request(),
                    failure == null ? why : why + "; releasing failed: " + failure.getMessage()));
            return Effect().noReply();
        }
        attemptInFlight = false;
        List<Placement.Extent> sides = r.results().stream().map(x -> x.extent().orElseThrow()).toList();
        return Effect().persist(new GroupPlaced(Placement.Group.placed(sides))).thenRun(st -> passivateIfIdle())
                .thenReply(r.request().replyTo(), st -> new Placed(st.leg(), "")).thenUnstashAll();
    }

    private ReplyEffect<Event, State> onRefusedAndReleased(RefusedAndReleased r) {
        attemptInFlight = false;
        return answerAndRest(r.request().replyTo(), new Placed(Optional.empty(), r.refusal())).thenUnstashAll();
    }

    private ReplyEffect<Event, State> onRelease(State s, Release r) {
        if (attemptInFlight) {
            return Effect().stash();
        }
        if (s.groups().isEmpty() || s.released()) {
            return answerAndRest(r.replyTo(), Done.getInstance());
        }
        attemptInFlight = true;
        List<CompletionStage<List<Done>>> asks = new ArrayList<>();
        for (int g = 0; g < s.groups().size(); g++) {
            asks.add(releaseGroup(g, s.groups().get(g).sides().stream().map(Placement.Extent::nodeId).toList()));
        }
        ctx.pipeToSelf(all(asks), (done, failure) -> new Released(-1, r.replyTo(), failure));
        return Effect().noReply();
    }

    private ReplyEffect<Event, State> onReleaseGroup(State s, ReleaseGroup r) {
        if (attemptInFlight) {
            return Effect().stash();
        }
        if (s.released() || s.groups().size() <= r.group()) {
            return answerAndRest(r.replyTo(), Done.getInstance());
        }
        if (r.group() != s.groups().size() - 1) {
            // Keys are named by group index: only the last group can go without renaming the others.
            ctx.getLog().error("leg {}: asked to release group {} of {}, only the last can go", legId, r.group(), s.groups().size());
            return answerAndRest(r.replyTo(), Done.getInstance());
        }
        attemptInFlight = true;
        List<String> nodes = s.groups().get(r.group()).sides().stream().map(Placement.Extent::nodeId).toList();
        ctx.pipeToSelf(releaseGroup(r.group(), nodes), (done, failure) -> new Released(r.group(), r.replyTo(), failure));
        return Effect().noReply();
    }

    private ReplyEffect<Event, State> onReleased(Released r) {
        attemptInFlight = false;
        if (r.failure() != null) {
            ctx.getLog().warn("leg {}: releasing extents failed, the caller retries: {}", legId, r.failure().toString());
            return Effect().none().thenRun(st -> passivateIfIdle()).thenNoReply().thenUnstashAll();
        }
        Event e = r.group() < 0 ? new ExtentsReleased() : new GroupReleased(r.group());
        return Effect().persist(e).thenRun(st -> passivateIfIdle())
                .thenReply(r.replyTo(), st -> Done.getInstance()).thenUnstashAll();
    }

    /** Each side of one group gives back its key on its own disk node. */
    private CompletionStage<List<Done>> releaseGroup(int group, List<String> sideNodes) {
        List<CompletionStage<Done>> asks = new ArrayList<>();
        for (int side = 0; side < sideNodes.size(); side++) {
            List<String> keys = List.of(key(group, side));
            asks.add(sharding.entityRefFor(StorageNode.ENTITY_TYPE_KEY, sideNodes.get(side))
                    .ask(r -> new StorageNode.Release(volumeId, keys, r), ASK));
        }
        return all(asks);
    }

    private static <T> CompletionStage<List<T>> all(List<CompletionStage<T>> stages) {
        return io.dnv.core.volume.operation.Stages.all(stages);
    }

    @Override
    public EventHandler<State, Event> eventHandler() {
        return newEventHandlerBuilder().forAnyState()
                .onEvent(GroupPlaced.class, (s, e) -> {
                    List<Placement.Group> g = new ArrayList<>(s.released() ? List.of() : s.groups());
                    g.add(e.group());
                    return new State(g, false);
                })
                .onEvent(ExtentsReleased.class, (s, e) -> new State(s.groups(), true))
                .onEvent(GroupReleased.class, (s, e) -> new State(List.copyOf(s.groups().subList(0, Math.min(e.group(), s.groups().size()))), false))
                .build();
    }
}
