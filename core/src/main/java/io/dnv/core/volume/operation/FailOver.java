package io.dnv.core.volume.operation;

import io.dnv.core.CborSerializable;
import io.dnv.core.kernel.AnaGroups;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.node.StorageNode;
import io.dnv.core.plan.CntlidRanges;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.Placer;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeSpec;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A controller's node failed (docs/failover.md): fence it, promote a standby in its place, place
 * a new standby. The volume's placement already has the failed controller FENCED and its disk
 * lost when this starts.
 *
 * <ol>
 *   <li>FENCE, FENCE_WAIT — every node but the failed ones gets the fenced plan and converges: the
 *       disk nodes took the failed node off its LDs (their agents dropped its connections and
 *       drained its I/O), the other actives stopped exporting legs to it. Nothing of it can land
 *       any more;</li>
 *   <li>PROMOTE — the first standby takes the failed active's slot, its namespace moving to its
 *       node's active ANA group (a failed standby: nothing to promote);</li>
 *   <li>PROMOTE_APPLY, PROMOTE_WAIT — the promoted plan: the successor assembles the legs from
 *       their metadata (never nosync, never zeroed: the groups are created), swaps its error
 *       device for the stripe and turns optimized; the other actives connect its leg exports as
 *       new paths of the leg namespaces they stripe over, keeping the failed owner's path until
 *       then;</li>
 *   <li>STANDBY_CHOOSE, STANDBY_RESERVE — a node for a new standby, recorded before its ANA group
 *       is reserved (in its node's standby domain; not on a node of the volume's other
 *       controllers, nor one that failed under it); nowhere to place one: the volume runs
 *       without, and says so;</li>
 *   <li>STANDBY_APPLY, STANDBY_WAIT — the plan with the new standby (an error device exported in
 *       an inaccessible group, importing nothing) and without the failed owners' paths; once in
 *       place, the failed nodes give back the volume's ANA groups (carried out when their agents
 *       confirm, see StorageNode) and the failover is over.</li>
 * </ol>
 *
 * A node that only imports a snapshot of the volume (a hydrating clone's first active) and
 * failed meanwhile is not waited for in the WAIT stages ({@link Steps#settledButFailedImporters}):
 * the clone's own failover asks this volume for the export on its successor, which it could not
 * while this waited.
 *
 * Whatever the volume was doing is {@code paused} and resumed, at its stage, against the new
 * placement once this is done: a failover never waits behind an attach or an extend.
 *
 * @param awaiting  in the WAIT stages: the generation each node's agent must reach
 * @param successor who took the failed active's slot, from its promotion on ("" nobody)
 * @param standby   the node chosen for the new standby, from STANDBY_CHOOSE on ("" none)
 * @param note      why no new standby was placed ("" one was, or none was needed)
 * @param timeline  when each stage began
 */
public record FailOver(String failedNode, Stage stage, long attempt, Instant requestedAt, Map<String, Long> awaiting,
                       Optional<Operation> paused, String successor, String standby, String note, List<Timing> timeline)
        implements Operation {

    public enum Stage {
        FENCE, FENCE_WAIT, PROMOTE, PROMOTE_APPLY, PROMOTE_WAIT, STANDBY_CHOOSE, STANDBY_RESERVE, STANDBY_APPLY, STANDBY_WAIT
    }

    static final Duration DEADLINE = Duration.ofSeconds(10);

    /** A finished failover as the volume's view shows it: what it did and when each stage began, and when it ended. */
    public record Summary(String failedNode, Instant requestedAt, String successor, String standby, String note, String error,
                          List<Timing> timeline) implements CborSerializable {
        public Summary {
            timeline = List.copyOf(timeline);
        }
    }

    public FailOver {
        awaiting = Map.copyOf(awaiting);
        paused = paused == null ? Optional.empty() : paused;
        successor = successor == null ? "" : successor;
        standby = standby == null ? "" : standby;
        note = note == null ? "" : note;
        timeline = timeline == null ? List.of() : List.copyOf(timeline);
    }

    public static FailOver start(String failedNode, Instant requestedAt, long attempt, Optional<Operation> paused) {
        return new FailOver(failedNode, Stage.FENCE, attempt, requestedAt, Map.of(), paused, "", "", "",
                List.of(new Timing(Stage.FENCE.name().toLowerCase(), requestedAt)));
    }

    /** The next stage, entered at {@code at} (null in journals from before stages were timed). */
    public FailOver at(Stage next, long newAttempt, Instant at) {
        return next(next, newAttempt, at, Map.of(), successor, standby, note);
    }

    /** Applied: the matching wait, for {@code generations}. */
    public FailOver waiting(Map<String, Long> generations, long newAttempt, Instant at) {
        Stage next = switch (stage) {
            case FENCE -> Stage.FENCE_WAIT;
            case PROMOTE_APPLY -> Stage.PROMOTE_WAIT;
            default -> Stage.STANDBY_WAIT;
        };
        return next(next, newAttempt, at, generations, successor, standby, note);
    }

    public FailOver promoted(String newSuccessor, long newAttempt, Instant at) {
        return next(Stage.STANDBY_CHOOSE, newAttempt, at, Map.of(), newSuccessor, "", note);
    }

    public FailOver standbyChosen(String node, long newAttempt, Instant at) {
        return next(Stage.STANDBY_RESERVE, newAttempt, at, Map.of(), successor, node, note);
    }

    public FailOver withoutStandby(String why, long newAttempt, Instant at) {
        return next(Stage.STANDBY_APPLY, newAttempt, at, Map.of(), successor, "", why);
    }

    public Summary ended(String error, Instant at) {
        List<Timing> all = new ArrayList<>(timeline);
        if (at != null) {
            all.add(new Timing(Timing.END, at));
        }
        return new Summary(failedNode, requestedAt, successor, standby, note, error, all);
    }

    private FailOver next(Stage next, long newAttempt, Instant at, Map<String, Long> newAwaiting, String newSuccessor, String newStandby,
                          String newNote) {
        List<Timing> more = new ArrayList<>(timeline);
        if (at != null) {
            more.add(new Timing(next.name().toLowerCase(), at));
        }
        return new FailOver(failedNode, next, newAttempt, requestedAt, newAwaiting, paused, newSuccessor, newStandby, newNote, more);
    }

    @Override
    public String name() {
        return "failover";
    }

    @Override
    public Duration deadline() {
        return DEADLINE;
    }

    /** Taken up after a failover of another node: waits apply again, and whether a standby is wanted is asked again. */
    @Override
    public Operation resumed(long newAttempt) {
        Stage again = switch (stage) {
            case FENCE_WAIT -> Stage.FENCE;
            case PROMOTE_WAIT -> Stage.PROMOTE_APPLY;
            case STANDBY_CHOOSE, STANDBY_RESERVE, STANDBY_APPLY, STANDBY_WAIT -> Stage.STANDBY_CHOOSE;
            default -> stage;
        };
        return new FailOver(failedNode, again, newAttempt, requestedAt, Map.of(), paused, successor, "", note, timeline);
    }

    @Override
    public CompletionStage<StepResult> run(Volume.State s, Peers peers) {
        return switch (stage) {
            case FENCE, STANDBY_APPLY -> Steps.apply(s, peers, Steps.plan(s, s.exported()));
            case PROMOTE_APPLY -> reimported(s, peers).thenCompose(deferred -> deferred.isPresent()
                    ? CompletableFuture.completedFuture(deferred.get()) : Steps.apply(s, peers, Steps.plan(s, s.exported())));
            case FENCE_WAIT, PROMOTE_WAIT -> Steps.converge(s, peers, awaiting).thenApply(a -> a);
            case PROMOTE -> promote(s, peers);
            case STANDBY_CHOOSE -> chooseStandby(s, peers);
            case STANDBY_RESERVE -> reserveStandby(s, peers);
            // Once in place, the failed nodes give back their places in the volume's ANA groups.
            case STANDBY_WAIT -> Steps.converge(s, peers, awaiting).thenCompose(a -> Steps.settledButFailedImporters(s, a)
                    ? releaseLost(s, peers) : CompletableFuture.completedFuture(a));
        };
    }

    @Override
    public Outcome onResult(Volume.State s, StepResult r, Duration stageAge) {
        Instant now = Instant.now();
        if (stage == Stage.PROMOTE_APPLY && r instanceof StepResult.Deferred d) {
            return new Outcome.Again(CreateVolume.SOURCE_AGAIN, d.waitingFor());
        }
        return switch (stage) {
            case FENCE, PROMOTE_APPLY, STANDBY_APPLY -> Outcome.persist(new Volume.ObjectsApplied(
                    Steps.expect(r, StepResult.Applied.class, this).generations(), now));
            case FENCE_WAIT -> {
                StepResult.Awaited a = Steps.expect(r, StepResult.Awaited.class, this);
                yield Steps.settledButFailedImporters(s, a) ? Outcome.persist(new Volume.Fenced(now))
                        : Outcome.poll(String.join("; ", a.waitingFor()));
            }
            case PROMOTE -> {
                if (r instanceof StepResult.Reserved p) {
                    yield Outcome.persist(new Volume.SuccessorPlaced(p.placement(), now));
                }
                String why = Steps.expect(r, StepResult.Refused.class, this).reason();
                yield Outcome.persist(why.isEmpty() ? new Volume.Promoted("", now) : new Volume.FailedOver(why, now));
            }
            case PROMOTE_WAIT -> {
                StepResult.Awaited a = Steps.expect(r, StepResult.Awaited.class, this);
                yield Steps.settledButFailedImporters(s, a) ? Outcome.persist(new Volume.Promoted(successor(s), now))
                        : Outcome.poll(String.join("; ", a.waitingFor()));
            }
            case STANDBY_CHOOSE -> r instanceof StepResult.Chosen c
                    ? Outcome.persist(new Volume.StandbyChosen(c.choice().controllers().get(0), c.endpoints(), now))
                    : Outcome.persist(new Volume.NoStandbyPlaced(Steps.expect(r, StepResult.Refused.class, this).reason(), now));
            case STANDBY_RESERVE -> r instanceof StepResult.Reserved p
                    ? Outcome.persist(new Volume.StandbyPlaced(p.placement(), now))
                    : Outcome.persist(new Volume.NoStandbyPlaced(Steps.expect(r, StepResult.Refused.class, this).reason(), now));
            case STANDBY_WAIT -> {
                if (r instanceof StepResult.Awaited a) {
                    yield Outcome.poll(String.join("; ", a.waitingFor()));
                }
                Steps.expect(r, StepResult.Done.class, this);
                yield Outcome.persist(new Volume.FailedOver("", now));
            }
        };
    }

    private String successor(Volume.State s) {
        return s.placement().orElseThrow().controllers().stream().filter(c -> failedNode.equals(c.replacing()))
                .map(Placement.Controller::nodeId).findFirst().orElse("");
    }

    /**
     * The placement with the first standby in the failed active's slot, in its node's active ANA
     * domain and keeping its cntlid ranges; Refused with no reason when the failed node held no
     * active (a standby failed: it is only replaced), with one when no standby is left.
     */
    private CompletionStage<StepResult> promote(Volume.State s, Peers peers) {
        Placement p = s.placement().orElseThrow();
        OptionalInt failed = p.fencedActive(failedNode, s.spec().orElseThrow().activeControllers());
        if (failed.isEmpty()) {
            return CompletableFuture.completedFuture(new StepResult.Refused(""));
        }
        if (p.standbys().isEmpty()) {
            return CompletableFuture.completedFuture(new StepResult.Refused("no standby to promote in place of " + failedNode));
        }
        Placement.Controller next = p.standbys().get(0);
        String domain = AnaGroups.domain(failed.getAsInt(), s.spec().orElseThrow().activeControllers(), List.of(),
                CreateVolume.hydrating(s));
        return peers.moveAnaGroup(next.nodeId(), s.name(), next.exportPortId(), domain).thenApply(reply -> {
            if (reply.group().isEmpty()) {
                throw new IllegalStateException("promoting " + next.nodeId() + ": " + reply.refusal());
            }
            return new StepResult.Reserved(p.promoting(failed.getAsInt(), reply.group().get()));
        });
    }

    /**
     * A hydrating clone whose first active is replaced: its source exports the snapshot to the
     * successor (replacing the failed node's import) and the successor's agent has it before the
     * promoted plan names its legs there (docs/clone.md). Deferred until then; empty otherwise.
     */
    private CompletionStage<Optional<StepResult>> reimported(Volume.State s, Peers peers) {
        Placement.Controller first = s.placement().orElseThrow().controllers().get(0);
        boolean replaced = failedNode.equals(first.replacing());
        if (!replaced || s.cloneOf().flatMap(io.dnv.core.volume.Clone::hydratingFrom).isEmpty()) {
            return CompletableFuture.completedFuture(Optional.empty());
        }
        return CloneSteps.importSource(s, peers).thenApply(r -> r instanceof StepResult.Imported ? Optional.empty()
                : Optional.of(r instanceof StepResult.Deferred ? r : new StepResult.Deferred("the clone's source does not export to "
                + first.nodeId() + ": " + ((StepResult.Refused) r).reason())));
    }

    /** Refused with no reason when the volume has the standbys its spec asks for; with one when none can be placed. */
    private CompletionStage<StepResult> chooseStandby(Volume.State s, Peers peers) {
        Placement p = s.placement().orElseThrow();
        VolumeSpec spec = s.spec().orElseThrow();
        if (p.standbys().size() >= spec.standbyControllers()) {
            return CompletableFuture.completedFuture(new StepResult.Refused(""));
        }
        if (p.nextIdSlot(CntlidRanges.SLOTS).isEmpty()) {
            return CompletableFuture.completedFuture(new StepResult.Refused("every cntlid range of the volume is taken until the "
                    + "failover ends"));
        }
        Set<String> taken = new TreeSet<>();
        p.controllers().forEach(c -> taken.add(c.nodeId()));
        String domain = standbyDomain(p, spec, p.standbys().size());
        return peers.nodes().thenApply(nodes -> {
            Placer.Result r = Placer.chooseStandby(s.name(), domain, taken, p.lost(), nodes);
            if (r.choice().isEmpty()) {
                return new StepResult.Refused(r.refusal());
            }
            String node = r.choice().get().controllers().get(0);
            NodeEndpoints endpoints = nodes.stream().filter(n -> n.id().equals(node)).findFirst().orElseThrow().info().orElseThrow()
                    .endpoints();
            return new StepResult.Chosen(r.choice().get(), Map.of(node, endpoints));
        });
    }

    /**
     * The chosen node gives the new standby its place in the group of its domain; the standbys
     * there move to theirs (the first one's names the actives of now). A refusal gives back
     * what the chosen node may have reserved.
     */
    private CompletionStage<StepResult> reserveStandby(Volume.State s, Peers peers) {
        Placement p = s.placement().orElseThrow();
        VolumeSpec spec = s.spec().orElseThrow();
        List<Placement.Controller> standbys = p.standbys();
        List<CompletionStage<StorageNode.AnaGroupReply>> moves = new ArrayList<>();
        for (int rank = 0; rank < standbys.size(); rank++) {
            Placement.Controller c = standbys.get(rank);
            moves.add(peers.moveAnaGroup(c.nodeId(), s.name(), c.exportPortId(), standbyDomain(p, spec, rank)));
        }
        int port = s.endpoints().get(standby).volumePort().orElseThrow().id();
        CompletionStage<StorageNode.AnaGroupReply> own = peers.allocateAnaGroup(standby, s.name(), port,
                standbyDomain(p, spec, standbys.size()));
        return Stages.all(moves).thenCombine(own, (moved, reply) -> {
            if (reply.group().isEmpty()) {
                return (StepResult) new StepResult.Refused("could not reserve a standby on " + standby + ": " + reply.refusal());
            }
            Placement placed = p;
            for (int rank = 0; rank < standbys.size(); rank++) {
                // A standby whose move was refused keeps its group: only which domain it shares differs.
                if (moved.get(rank).group().isPresent()) {
                    placed = placed.regrouped(standbys.get(rank).nodeId(), moved.get(rank).group().get());
                }
            }
            return new StepResult.Reserved(placed.withStandby(new Placement.Controller(standby, Placement.Role.STANDBY, port,
                    reply.group().get(), p.nextIdSlot(CntlidRanges.SLOTS).orElseThrow())));
        }).thenCompose(result -> result instanceof StepResult.Reserved ? CompletableFuture.completedFuture(result)
                : peers.releaseAnaGroup(standby, s.name()).thenApply(done -> result));
    }

    /** The ANA domain of the standby ranked {@code rank}: the first one's is named by the active nodes, later ones are spares. */
    private static String standbyDomain(Placement p, VolumeSpec spec, int rank) {
        List<String> actives = p.controllers().subList(0, spec.activeControllers()).stream().map(Placement.Controller::nodeId).toList();
        return AnaGroups.domain(spec.activeControllers() + rank, spec.activeControllers(), actives);
    }

    /** Every failed node gives back the volume's place in its ANA groups (deferred there until its agent confirms). */
    private static CompletionStage<StepResult> releaseLost(Volume.State s, Peers peers) {
        return Stages.all(s.placement().orElseThrow().lost().stream().map(node -> peers.releaseAnaGroup(node, s.name())).toList())
                .thenApply(done -> new StepResult.Done());
    }
}
