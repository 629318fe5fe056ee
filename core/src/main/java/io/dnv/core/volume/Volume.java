package io.dnv.core.volume;

import io.dnv.core.CborSerializable;
import io.dnv.core.kernel.Names;
import io.dnv.core.node.NodeDirectory;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.node.NodeView;
import io.dnv.core.node.StorageNode;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.plan.Planner;
import org.apache.pekko.Done;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A volume (its id is its name): the saga that creates, attaches, detaches and deletes it.
 * Every step is persisted before it acts, and the next step is derived from the state alone,
 * so after a crash the entity resumes where it stopped: choose nodes → reserve (legs reserve
 * their extents, controller nodes an ANA group) → hand every node its kernel objects → wait
 * until every agent converged → mark the groups created (never zeroed again) → READY.
 * Delete: take the objects away → wait (disk slices are zeroed by their agents) → release.
 */
public final class Volume extends EventSourcedBehaviorWithEnforcedReplies<Volume.Command, Volume.Event, Volume.State> {

    public static final EntityTypeKey<Command> ENTITY_TYPE_KEY = EntityTypeKey.create(Command.class, "Volume");
    static final Duration ASK = Duration.ofSeconds(10);
    static final Duration POLL = Duration.ofMillis(100);
    static final Duration RETRY = Duration.ofMillis(500);
    static final int VOLUME_PORT_INDEX = 0;
    /** Concurrent creates can take what a choice counted on; after this many refusals the create fails. */
    static final int PLACEMENT_ATTEMPTS = 5;
    /** Every event carries it, so the read side finds every volume that changed with one eventsByTag query. */
    public static final String TAG = "volume";
    private static final Set<String> TAGS = Set.of(TAG);

    public enum Phase { EMPTY, CREATING, READY, DELETING, FAILED, DELETED }

    // commands

    public sealed interface Command extends CborSerializable {}

    public record Create(String name, VolumeSpec spec, ActorRef<Result> replyTo) implements Command {}

    public record Get(ActorRef<Result> replyTo) implements Command {}

    public record Attach(String hostNqn, ActorRef<AttachResult> replyTo) implements Command {}

    public record Detach(String hostNqn, ActorRef<Result> replyTo) implements Command {}

    public record Delete(ActorRef<Result> replyTo) implements Command {}

    private enum Advance implements Command { INSTANCE }

    /** Sharding's stop message: after the volume asked to be passivated, or when its shard is handed off. */
    private enum Stop implements Command { INSTANCE }

    private record StepDone(String step, Object value, Throwable failure) implements Command {}

    // replies

    /** A view, or a problem with the HTTP status it maps to. */
    public record Result(Optional<VolumeView> volume, int status, String problem) implements CborSerializable {
        static Result ok(VolumeView v) {
            return new Result(Optional.of(v), 200, "");
        }

        static Result problem(int status, String problem) {
            return new Result(Optional.empty(), status, problem);
        }
    }

    public record AttachResult(Optional<ConnectInfo> connect, int status, String problem) implements CborSerializable {}

    // events

    public sealed interface Event extends CborSerializable {}

    public record CreateRequested(String name, VolumeSpec spec, Instant at) implements Event {}

    public record NodesChosen(Placer.Choice choice, Map<String, NodeEndpoints> endpoints) implements Event {}

    public record Reserved(Placement placement) implements Event {}

    /** Every involved node persisted the volume's objects; converged once each agent reached its generation. */
    public record ObjectsApplied(Map<String, Long> generations) implements Event {}

    public record Converged() implements Event {}

    /** The groups are created: from now on nothing of theirs is zeroed or created with nosync again. */
    public record BecameReady() implements Event {}

    public record CreateFailed(String reason) implements Event {}

    /** Another create took what this one chose (everything it got is given back): choose again. */
    public record PlacementRefused(String reason) implements Event {}

    public record AttachmentsChanged(List<String> attachments) implements Event {}

    public record DeleteRequested() implements Event {}

    public record Deleted() implements Event {}

    // state

    /**
     * @param applied  the nodes hold the objects the current state calls for
     * @param awaiting generations each node's agent must reach before the step is done
     */
    public record State(Phase phase, String name, Optional<VolumeSpec> spec, Optional<Instant> createdAt,
                        Optional<Placer.Choice> choice, Map<String, NodeEndpoints> endpoints, Optional<Placement> placement,
                        List<String> attachments, boolean applied, Map<String, Long> awaiting, Optional<String> error,
                        int placementAttempts) implements CborSerializable {

        static State empty(Phase phase) {
            return new State(phase, "", Optional.empty(), Optional.empty(), Optional.empty(), Map.of(), Optional.empty(),
                    List.of(), false, Map.of(), Optional.empty(), 0);
        }

        State with(Phase p, Optional<Placer.Choice> c, Map<String, NodeEndpoints> e, Optional<Placement> pl, List<String> att,
                   boolean app, Map<String, Long> aw, Optional<String> err) {
            return new State(p, name, spec, createdAt, c, Map.copyOf(e), pl, List.copyOf(att), app, Map.copyOf(aw), err,
                    placementAttempts);
        }

        /** The next step of the saga, derived from the state alone. */
        String nextStep() {
            return switch (phase) {
                case CREATING -> choice.isEmpty() ? "choose" : placement.isEmpty() ? "reserve" : !applied ? "apply"
                        : !awaiting.isEmpty() ? "converge" : "finalize";
                case READY -> !applied ? "apply" : !awaiting.isEmpty() ? "converge" : "";
                case DELETING -> !applied ? "remove" : !awaiting.isEmpty() ? "converge" : "release";
                default -> "";
            };
        }

        /** Every node that holds something of the volume. */
        List<String> nodes() {
            TreeSet<String> n = new TreeSet<>();
            placement.ifPresent(p -> {
                p.controllers().forEach(c -> n.add(c.nodeId()));
                p.legs().forEach(l -> l.groups().forEach(g -> g.sides().forEach(x -> n.add(x.nodeId()))));
            });
            return List.copyOf(n);
        }
    }

    /**
     * Remembered: a volume with an unfinished step restarts by itself when the member hosting it
     * is lost. A volume that does not exist (never created, or deleted) asks to be passivated,
     * which also takes it out of the remembered set: else every name ever created or merely
     * looked up would stay in memory and restart with its shard, forever.
     */
    public static void init(ActorSystem<?> system) {
        ClusterSharding.get(system).init(Entity.of(ENTITY_TYPE_KEY, c -> create(c.getEntityId(), c.getShard()))
                .withRole("control").withStopMessage(Stop.INSTANCE)
                .withSettings(ClusterShardingSettings.create(system).withRememberEntities(true)));
    }

    public static Behavior<Command> create(String volumeId, ActorRef<ClusterSharding.ShardCommand> shard) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new Volume(volumeId, shard, ctx, timers)));
    }

    private final String volumeId;
    private final ActorRef<ClusterSharding.ShardCommand> shard;
    private final ActorContext<Command> ctx;
    private final TimerScheduler<Command> timers;
    private final ClusterSharding sharding;
    // In memory: whether a step is under way, and callers waiting for the kernel to follow.
    private boolean stepInFlight;
    // In memory: this incarnation asked to be passivated (it did not exist then). Any other stop
    // is a hand-off (a rebalance, a member leaving).
    private boolean passivationAsked;
    private final List<Attach> waitingAttaches = new ArrayList<>();
    private final List<Detach> waitingDetaches = new ArrayList<>();

    private Volume(String volumeId, ActorRef<ClusterSharding.ShardCommand> shard, ActorContext<Command> ctx,
                   TimerScheduler<Command> timers) {
        super(PersistenceId.of(ENTITY_TYPE_KEY.name(), volumeId));
        this.volumeId = volumeId;
        this.shard = shard;
        this.ctx = ctx;
        this.timers = timers;
        this.sharding = ClusterSharding.get(ctx.getSystem());
    }

    @Override
    public State emptyState() {
        return State.empty(Phase.EMPTY);
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
        return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), s -> advanceSoon()).build();
    }

    // ---------------------------------------------------------------- commands, per phase

    @Override
    public CommandHandlerWithReply<Command, Event, State> commandHandler() {
        CommandHandlerWithReplyBuilder<Command, Event, State> b = newCommandHandlerWithReplyBuilder();
        b.forState(s -> s.phase() == Phase.EMPTY || s.phase() == Phase.DELETED)
                .onCommand(Create.class, this::onCreate)
                .onCommand(Get.class, (s, c) -> absent(c.replyTo(), notFound()))
                .onCommand(Attach.class, (s, c) -> absent(c.replyTo(), new AttachResult(Optional.empty(), 404, notFound().problem())))
                .onCommand(Detach.class, (s, c) -> absent(c.replyTo(), notFound()))
                .onCommand(Delete.class, (s, c) -> absent(c.replyTo(), notFound()))
                .onCommand(Stop.class, (s, c) -> Effect().stop().thenNoReply());
        b.forState(s -> s.phase() == Phase.CREATING || s.phase() == Phase.READY || s.phase() == Phase.FAILED)
                .onCommand(Create.class, this::onCreateAgain)
                .onCommand(Attach.class, this::onAttach)
                .onCommand(Detach.class, this::onDetach)
                .onCommand(Delete.class, this::onDelete);
        b.forState(s -> s.phase() == Phase.DELETING)
                .onCommand(Create.class, (s, c) -> Effect().reply(c.replyTo(), Result.problem(409, "volume " + volumeId + " is being deleted")))
                .onCommand(Attach.class, (s, c) -> Effect().reply(c.replyTo(),
                        new AttachResult(Optional.empty(), 409, "volume " + volumeId + " is being deleted")))
                .onCommand(Detach.class, (s, c) -> Effect().reply(c.replyTo(), Result.ok(view(s))))
                .onCommand(Delete.class, (s, c) -> Effect().reply(c.replyTo(), Result.ok(view(s))));
        b.forAnyState()
                .onCommand(Stop.class, (s, c) -> passivationAsked ? stopAndComeBack() : Effect().stop().thenNoReply())
                .onCommand(Get.class, (s, c) -> Effect().reply(c.replyTo(), Result.ok(view(s))))
                .onCommand(Advance.class, (s, c) -> advance(s))
                .onCommand(StepDone.class, this::onStepDone);
        return b.build();
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
     * hand-off: it just stops, and its new home starts it again because it is remembered. Waking
     * itself then sent one message per volume into a region that was shutting down, and the
     * region waited for them until its shutdown timed out.
     */
    private ReplyEffect<Event, State> stopAndComeBack() {
        sharding.entityRefFor(ENTITY_TYPE_KEY, volumeId).tell(Advance.INSTANCE);
        return Effect().stop().thenNoReply();
    }

    private ReplyEffect<Event, State> onCreate(State s, Create c) {
        return Effect().persist(new CreateRequested(c.name(), c.spec(), Instant.now()))
                .thenRun(st -> advanceSoon())
                .thenReply(c.replyTo(), st -> Result.ok(view(st)));
    }

    /** Same name and same spec again is the same volume; another spec under the name is a conflict. */
    private ReplyEffect<Event, State> onCreateAgain(State s, Create c) {
        if (s.spec().equals(Optional.of(c.spec()))) {
            return Effect().reply(c.replyTo(), Result.ok(view(s)));
        }
        return Effect().reply(c.replyTo(), Result.problem(409, "volume " + volumeId + " exists with another spec ("
                + s.spec().map(Object::toString).orElse("?") + ")"));
    }

    private ReplyEffect<Event, State> onAttach(State s, Attach a) {
        if (s.phase() != Phase.READY) {
            return Effect().reply(a.replyTo(), new AttachResult(Optional.empty(), 409,
                    "volume " + volumeId + " is " + s.phase() + ", not READY"));
        }
        waitingAttaches.add(a);
        if (s.attachments().contains(a.hostNqn())) {
            advanceSoon();
            return Effect().noReply();
        }
        List<String> hosts = new ArrayList<>(s.attachments());
        hosts.add(a.hostNqn());
        return Effect().persist(new AttachmentsChanged(hosts)).thenRun(st -> advanceSoon()).thenNoReply();
    }

    private ReplyEffect<Event, State> onDetach(State s, Detach d) {
        if (!s.attachments().contains(d.hostNqn())) {
            return Effect().reply(d.replyTo(), Result.ok(view(s)));
        }
        waitingDetaches.add(d);
        List<String> hosts = new ArrayList<>(s.attachments());
        hosts.remove(d.hostNqn());
        return Effect().persist(new AttachmentsChanged(hosts)).thenRun(st -> advanceSoon()).thenNoReply();
    }

    private ReplyEffect<Event, State> onDelete(State s, Delete d) {
        if (!s.attachments().isEmpty()) {
            return Effect().reply(d.replyTo(), Result.problem(409, "volume " + volumeId + " is attached to "
                    + String.join(", ", s.attachments()) + "; detach every host first"));
        }
        return Effect().persist(new DeleteRequested()).thenRun(st -> advanceSoon())
                .thenReply(d.replyTo(), st -> Result.ok(view(st)));
    }

    // ---------------------------------------------------------------- the saga

    private void advanceSoon() {
        timers.startSingleTimer(Advance.INSTANCE, Advance.INSTANCE, Duration.ZERO);
    }

    /** Starts the one step the state calls for, unless a step is already under way. */
    private ReplyEffect<Event, State> advance(State s) {
        if (stepInFlight) {
            return Effect().noReply();
        }
        String step = s.nextStep();
        if (step.isEmpty()) {
            answerWaiters(s);
            return Effect().noReply();
        }
        stepInFlight = true;
        CompletionStage<?> work = switch (step) {
            case "choose" -> choose(s);
            case "reserve" -> reserve(s);
            case "apply" -> apply(s, false);
            case "remove" -> apply(s, true);
            case "converge" -> converged(s);
            case "finalize" -> finalizeCreate(s);
            default -> releaseEverything(s);
        };
        ctx.pipeToSelf(work, (value, failure) -> new StepDone(step, value, failure));
        return Effect().noReply();
    }

    private ReplyEffect<Event, State> onStepDone(State s, StepDone d) {
        stepInFlight = false;
        if (d.failure() != null) {
            ctx.getLog().warn("volume {}: step {} failed, retrying: {}", volumeId, d.step(), d.failure().toString());
            timers.startSingleTimer(Advance.INSTANCE, Advance.INSTANCE, RETRY);
            return Effect().noReply();
        }
        if (d.step().equals("converge") && !Boolean.TRUE.equals(d.value())) {
            timers.startSingleTimer(Advance.INSTANCE, Advance.INSTANCE, POLL);
            return Effect().noReply();
        }
        Event e = switch (d.step()) {
            case "choose" -> d.value() instanceof Event ev ? ev : new CreateFailed((String) d.value());
            case "reserve" -> d.value() instanceof Event ev ? ev
                    : s.placementAttempts() + 1 < PLACEMENT_ATTEMPTS ? new PlacementRefused((String) d.value())
                    : new CreateFailed((String) d.value());
            case "apply", "remove" -> new ObjectsApplied(generations(d.value()));
            case "converge" -> s.phase() == Phase.CREATING ? new BecameReady() : new Converged();
            case "finalize" -> new BecameReady();
            default -> new Deleted();
        };
        return Effect().persist(e).thenRun(st -> {
            if (st.phase() == Phase.DELETED) {
                passivate();
            } else {
                advanceSoon();
            }
        }).thenNoReply();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Long> generations(Object v) {
        return (Map<String, Long>) v;
    }

    private CompletionStage<Object> choose(State s) {
        VolumeSpec spec = s.spec().orElseThrow();
        return NodeDirectory.ref(sharding).ask(NodeDirectory.ListNodes::new, ASK)
                .thenCompose(dir -> Leg.all(dir.nodeIds().stream()
                        .map(id -> sharding.entityRefFor(StorageNode.ENTITY_TYPE_KEY, id).<NodeView>ask(StorageNode.GetNode::new, ASK))
                        .toList()))
                .thenApply(nodes -> {
                    Placer.Result r = Placer.choose(volumeId, spec, VolumeLayout.of(spec), nodes);
                    if (r.choice().isEmpty()) {
                        return r.refusal();
                    }
                    Map<String, NodeEndpoints> endpoints = new LinkedHashMap<>();
                    nodes.stream().filter(n -> n.info().isPresent()).forEach(n -> endpoints.put(n.id(), n.info().get().endpoints()));
                    return new NodesChosen(r.choice().get(), endpoints);
                });
    }

    /** Legs reserve their extents, controller nodes an ANA group; a refusal gives everything back first. */
    private CompletionStage<Object> reserve(State s) {
        VolumeSpec spec = s.spec().orElseThrow();
        Placer.Choice choice = s.choice().orElseThrow();
        long ld = VolumeLayout.of(spec).ldSectors();
        List<CompletionStage<Leg.Placed>> legs = new ArrayList<>();
        for (int leg = 0; leg < spec.legCount(); leg++) {
            List<String> sides = choice.sides().get(leg);
            legs.add(sharding.entityRefFor(Leg.ENTITY_TYPE_KEY, Leg.entityId(volumeId, leg)).ask(r -> new Leg.Place(sides, ld, r), ASK));
        }
        List<CompletionStage<StorageNode.AnaGroupReply>> groups = new ArrayList<>();
        for (String node : choice.controllers()) {
            int port = volumePort(s, node);
            groups.add(sharding.entityRefFor(StorageNode.ENTITY_TYPE_KEY, node)
                    .ask(r -> new StorageNode.AllocateAnaGroup(volumeId, port, r), ASK));
        }
        return Leg.all(legs).thenCombine(Leg.all(groups), (placed, anas) -> {
            List<String> refusals = new ArrayList<>();
            placed.stream().filter(p -> p.leg().isEmpty()).forEach(p -> refusals.add(p.refusal()));
            anas.stream().filter(a -> a.group().isEmpty()).forEach(a -> refusals.add(a.refusal()));
            if (!refusals.isEmpty()) {
                return (Object) ("could not reserve: " + String.join("; ", refusals));
            }
            List<Placement.Controller> controllers = new ArrayList<>();
            for (int slot = 0; slot < choice.controllers().size(); slot++) {
                String node = choice.controllers().get(slot);
                controllers.add(new Placement.Controller(node, slot < spec.activeControllers() ? Placement.Role.ACTIVE
                        : Placement.Role.STANDBY, volumePort(s, node), anas.get(slot).group().orElseThrow()));
            }
            return new Reserved(new Placement(controllers, placed.stream().map(p -> p.leg().orElseThrow()).toList()));
        }).thenCompose(result -> result instanceof Reserved ? CompletableFuture.completedFuture(result)
                : releaseEverything(s).thenApply(done -> result));
    }

    /** Hands every involved node the volume's objects (none when removing); answers the generations to wait for. */
    private CompletionStage<Object> apply(State s, boolean remove) {
        Map<String, NodeObjects> plan = remove || s.placement().isEmpty() ? Map.of()
                : Planner.plan(volumeId, s.spec().orElseThrow(), VolumeLayout.of(s.spec().orElseThrow()), s.placement().get(),
                s.attachments(), s.endpoints());
        List<String> nodes = s.nodes();
        List<CompletionStage<StorageNode.Generation>> asks = new ArrayList<>();
        for (String node : nodes) {
            NodeObjects objects = plan.getOrDefault(node, new NodeObjects(List.of(), List.of(), List.of(), List.of()));
            asks.add(sharding.entityRefFor(StorageNode.ENTITY_TYPE_KEY, node)
                    .ask(r -> new StorageNode.SetVolumeObjects(volumeId, objects, r), ASK));
        }
        return Leg.all(asks).thenApply(gens -> {
            Map<String, Long> byNode = new LinkedHashMap<>();
            for (int i = 0; i < nodes.size(); i++) {
                byNode.put(nodes.get(i), gens.get(i).value());
            }
            return byNode;
        });
    }

    /**
     * Creating and attaching wait until this volume's objects are in place on every node; a
     * delete waits until every node converged as a whole, because its extents are released
     * next and the agents zero them as they tear the devices down.
     */
    private CompletionStage<Boolean> converged(State s) {
        boolean wholeNode = s.phase() == Phase.DELETING;
        CompletionStage<Boolean> settled = Leg.all(s.awaiting().entrySet().stream()
                        .map(e -> sharding.entityRefFor(StorageNode.ENTITY_TYPE_KEY, e.getKey()).<StorageNode.Progress>ask(
                                r -> new StorageNode.AwaitProgress(volumeId, e.getValue(), wholeNode, r), ASK))
                        .toList())
                .thenApply(progress -> progress.stream().allMatch(StorageNode.Progress::settled));
        if (s.phase() != Phase.CREATING) {
            return settled;
        }
        // A create that converged finalizes in the same step, and its BecameReady stands for the
        // Converged it skips: one event and one hop fewer per create. Interrupted in between, the
        // step runs again; both halves are idempotent.
        return settled.thenCompose(done -> done ? finalizeCreate(s).thenApply(generations -> true)
                : CompletableFuture.completedFuture(false));
    }

    /**
     * The agents built every group: the nodes drop the brand-new preparations (zeroing, nosync,
     * create_thin) from the volume's objects, persisted before the volume records its groups
     * created and says READY (one event), so no later power cycle can zero a group a host has
     * written to. Only a small event per node, not the objects again.
     */
    private CompletionStage<List<StorageNode.Generation>> finalizeCreate(State s) {
        return Leg.all(s.nodes().stream()
                .map(node -> sharding.entityRefFor(StorageNode.ENTITY_TYPE_KEY, node).<StorageNode.Generation>ask(
                        r -> new StorageNode.MarkCreated(volumeId, r), ASK))
                .toList());
    }

    private CompletionStage<List<Done>> releaseEverything(State s) {
        List<CompletionStage<Done>> asks = new ArrayList<>();
        s.spec().ifPresent(spec -> {
            for (int leg = 0; leg < spec.legCount(); leg++) {
                asks.add(sharding.entityRefFor(Leg.ENTITY_TYPE_KEY, Leg.entityId(volumeId, leg)).ask(Leg.Release::new, ASK));
            }
        });
        s.choice().ifPresent(c -> c.controllers().forEach(node -> asks.add(sharding.entityRefFor(StorageNode.ENTITY_TYPE_KEY, node)
                .ask(r -> new StorageNode.ReleaseAnaGroup(volumeId, r), ASK))));
        return Leg.all(asks);
    }

    private static Placement created(Placement p) {
        return new Placement(p.controllers(), p.legs().stream().map(l -> new Placement.Leg(l.groups().stream()
                .map(g -> new Placement.Group(false, g.sides())).toList())).toList());
    }

    private static int volumePort(State s, String node) {
        return s.endpoints().get(node).volumePorts().get(VOLUME_PORT_INDEX).id();
    }

    private void answerWaiters(State s) {
        if (s.phase() != Phase.READY || !s.nextStep().isEmpty()) {
            return;
        }
        for (Attach a : waitingAttaches) {
            a.replyTo().tell(s.attachments().contains(a.hostNqn())
                    ? new AttachResult(Optional.of(connectInfo(s, a.hostNqn())), 200, "")
                    : new AttachResult(Optional.empty(), 409, "host " + a.hostNqn() + " was detached meanwhile"));
        }
        waitingAttaches.clear();
        waitingDetaches.forEach(d -> d.replyTo().tell(Result.ok(view(s))));
        waitingDetaches.clear();
    }

    private ConnectInfo connectInfo(State s, String host) {
        String nqn = Names.volumeNqn(volumeId);
        HostContract h = HostContract.DEFAULT;
        List<ConnectInfo.Path> paths = view(s).controllers().stream().map(c -> new ConnectInfo.Path(c.transport(), c.address(),
                c.port(), c.anaState(), "nvme connect -t " + c.transport() + " -a " + c.address() + " -s " + c.port() + " -n " + nqn
                + " --hostnqn=" + host + " --hostid=" + Names.hostId(host) + " --keep-alive-tmo=" + h.keepAliveTmo()
                + " --ctrl-loss-tmo=" + h.ctrlLossTmo() + " --reconnect-delay=" + h.reconnectDelay())).toList();
        return new ConnectInfo(nqn, host, paths, h);
    }

    private Result notFound() {
        return Result.problem(404, "no volume " + volumeId);
    }

    VolumeView view(State s) {
        VolumeSpec spec = s.spec().orElse(null);
        long size = spec == null || s.phase() != Phase.READY ? 0 : VolumeLayout.of(spec).usableBytes();
        List<VolumeView.Controller> controllers = new ArrayList<>();
        List<VolumeView.LegView> legs = new ArrayList<>();
        s.placement().ifPresent(p -> {
            for (int slot = 0; slot < p.controllers().size(); slot++) {
                Placement.Controller c = p.controllers().get(slot);
                NodeEndpoints e = s.endpoints().get(c.nodeId());
                var port = e.port(c.exportPortId());
                controllers.add(new VolumeView.Controller(c.nodeId(), slot, c.role().name(),
                        c.role() == Placement.Role.ACTIVE ? "optimized" : "inaccessible", port.transport(), port.address(), port.serviceId()));
            }
            for (int leg = 0; leg < p.legs().size(); leg++) {
                List<VolumeView.GroupView> groups = new ArrayList<>();
                List<Placement.Group> gs = p.legs().get(leg).groups();
                for (int g = 0; g < gs.size(); g++) {
                    groups.add(new VolumeView.GroupView(g, gs.get(g).brandNew(), gs.get(g).sides().stream()
                            .map(x -> new VolumeView.Side(x.nodeId(), x.startSector(), x.lengthSectors())).toList()));
                }
                legs.add(new VolumeView.LegView(leg, p.owner(leg, spec).nodeId(), groups));
            }
        });
        String state = switch (s.phase()) {
            case EMPTY, DELETED -> "DELETED";
            default -> s.phase().name();
        };
        String step = s.nextStep().isEmpty() ? s.phase().name().toLowerCase() : s.nextStep();
        return new VolumeView(volumeId, s.name(), state, step, size, spec, controllers, legs, s.attachments(), s.error(),
                s.createdAt().orElse(Instant.EPOCH));
    }

    // ---------------------------------------------------------------- events: a pure fold

    @Override
    public EventHandler<State, Event> eventHandler() {
        return newEventHandlerBuilder().forAnyState()
                .onEvent(CreateRequested.class, (s, e) -> new State(Phase.CREATING, e.name(), Optional.of(e.spec()),
                        Optional.of(e.at()), Optional.empty(), Map.of(), Optional.empty(), List.of(), false, Map.of(), Optional.empty(), 0))
                .onEvent(PlacementRefused.class, (s, e) -> new State(s.phase(), s.name(), s.spec(), s.createdAt(), Optional.empty(),
                        Map.of(), Optional.empty(), s.attachments(), false, Map.of(), Optional.of(e.reason()), s.placementAttempts() + 1))
                .onEvent(NodesChosen.class, (s, e) -> s.with(s.phase(), Optional.of(e.choice()), e.endpoints(), s.placement(),
                        s.attachments(), false, Map.of(), s.error()))
                .onEvent(Reserved.class, (s, e) -> s.with(s.phase(), s.choice(), s.endpoints(), Optional.of(e.placement()),
                        s.attachments(), false, Map.of(), s.error()))
                .onEvent(ObjectsApplied.class, (s, e) -> s.with(s.phase(), s.choice(), s.endpoints(), s.placement(),
                        s.attachments(), true, e.generations(), s.error()))
                .onEvent(Converged.class, (s, e) -> s.with(s.phase(), s.choice(), s.endpoints(), s.placement(),
                        s.attachments(), true, Map.of(), s.error()))
                .onEvent(BecameReady.class, (s, e) -> s.with(Phase.READY, s.choice(), s.endpoints(), s.placement().map(Volume::created),
                        s.attachments(), true, Map.of(), s.error()))
                .onEvent(CreateFailed.class, (s, e) -> s.with(Phase.FAILED, s.choice(), s.endpoints(), s.placement(),
                        s.attachments(), true, Map.of(), Optional.of(e.reason())))
                .onEvent(AttachmentsChanged.class, (s, e) -> s.with(s.phase(), s.choice(), s.endpoints(), s.placement(),
                        e.attachments(), false, Map.of(), s.error()))
                .onEvent(DeleteRequested.class, (s, e) -> s.with(Phase.DELETING, s.choice(), s.endpoints(), s.placement(),
                        s.attachments(), false, Map.of(), s.error()))
                .onEvent(Deleted.class, (s, e) -> State.empty(Phase.DELETED))
                .build();
    }
}
