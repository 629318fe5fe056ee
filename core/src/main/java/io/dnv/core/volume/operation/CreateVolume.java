package io.dnv.core.volume.operation;

import io.dnv.core.kernel.AnaGroups;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.node.NodeView;
import io.dnv.core.node.StorageNode;
import io.dnv.core.volume.Leg;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.Placer;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;

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
 * Creating a volume: choose nodes → reserve (legs their extents, controller nodes an ANA group)
 * → hand every node its objects → wait until every agent has them in place, then mark the
 * groups created (never zeroed again) → READY. Superseded by a delete at any stage.
 *
 * <p>A node of the create declared failed meanwhile (docs/failover.md) rolls it back: nothing of
 * a volume is served yet, so rather than fail over, everything it applied is taken off every
 * node (ROLL_BACK) and everything it reserved given back (RELEASE), as a delete would, and it
 * chooses again, never on a node in {@code avoid}. What the failed node held stays reserved
 * there until its agent confirms it gone (StorageNode), so nothing is handed out while a kernel
 * may still use it.
 *
 * <p>A clone (docs/clone.md) first has its source snapshot READY (SOURCE: a volume source takes
 * one), places its first active where dm-clone is, and between RESERVE and APPLY has the
 * snapshot exported to that node (IMPORT), so the objects it applies find the snapshot's legs
 * there. A clone's create that fails lets its source go first (UNSOURCE), then says FAILED.
 *
 * @param awaiting in {@link Stage#CONVERGE}: the generation each node's agent must reach
 * @param avoid    nodes that failed under this create: never chosen again by it
 * @param failure  in {@link Stage#UNSOURCE}: why the create failed
 */
public record CreateVolume(Stage stage, long attempt, Instant requestedAt, Map<String, Long> awaiting, Set<String> avoid,
                           Optional<String> failure) implements Operation {

    public enum Stage { CHOOSE, RESERVE, APPLY, CONVERGE, FINALIZE, ROLL_BACK, RELEASE, SOURCE, IMPORT, UNSOURCE }

    /** Concurrent creates can take what a choice counted on; after this many refusals the create fails. */
    public static final int PLACEMENT_ATTEMPTS = 5;
    /**
     * Right after a control member starts, node entities have not heard their agents yet and
     * look down. A choice that fails while some node is still settling (or still confirming the
     * removal of a placement rolled back) waits this long before it counts as a refusal.
     */
    static final Duration SETTLE = Duration.ofSeconds(10);
    static final Duration DEADLINE = Duration.ofSeconds(60);
    /** A source still taking its snapshot, or busy, or exporting, is asked again after this. */
    static final Duration SOURCE_AGAIN = Duration.ofMillis(300);

    public CreateVolume {
        awaiting = Map.copyOf(awaiting);
        avoid = avoid == null ? Set.of() : Set.copyOf(avoid);
        failure = failure == null ? Optional.empty() : failure;
    }

    public CreateVolume(Stage stage, long attempt, Instant requestedAt, Map<String, Long> awaiting, Set<String> avoid) {
        this(stage, attempt, requestedAt, awaiting, avoid, Optional.empty());
    }

    public static CreateVolume start(Instant requestedAt, long attempt) {
        return start(requestedAt, attempt, false);
    }

    /** A clone's create starts with its source. */
    public static CreateVolume start(Instant requestedAt, long attempt, boolean clone) {
        return new CreateVolume(clone ? Stage.SOURCE : Stage.CHOOSE, attempt, requestedAt, Map.of(), Set.of());
    }

    /** The clone's create failed: its source is let go before it says so. */
    public CreateVolume unsourcing(String why, long newAttempt) {
        return new CreateVolume(Stage.UNSOURCE, newAttempt, requestedAt, Map.of(), avoid, Optional.of(why));
    }

    @Override
    public Operation resumed(long newAttempt) {
        return at(stage == Stage.CONVERGE ? Stage.APPLY : stage, newAttempt);
    }

    public CreateVolume at(Stage next, long newAttempt) {
        return new CreateVolume(next, newAttempt, requestedAt, Map.of(), avoid, failure);
    }

    public CreateVolume converging(Map<String, Long> generations, long newAttempt) {
        return new CreateVolume(Stage.CONVERGE, newAttempt, requestedAt, generations, avoid, failure);
    }

    /** {@code node} failed: everything is taken back, then the create chooses again without it. */
    public CreateVolume rollingBack(String node, long newAttempt) {
        Set<String> more = new TreeSet<>(avoid);
        more.add(node);
        return new CreateVolume(Stage.ROLL_BACK, newAttempt, requestedAt, Map.of(), more);
    }

    @Override
    public String name() {
        return "create";
    }

    @Override
    public Duration deadline() {
        return DEADLINE;
    }

    @Override
    public CompletionStage<StepResult> run(Volume.State s, Peers peers) {
        return switch (stage) {
            case SOURCE -> CloneSteps.source(s, peers);
            case IMPORT -> CloneSteps.importSource(s, peers);
            case UNSOURCE -> CloneSteps.releaseSource(s, peers);
            case CHOOSE -> choose(s, peers);
            case RESERVE -> reserve(s, peers);
            case APPLY -> Steps.apply(s, peers, Steps.plan(s, s.attachments()));
            // A create that converged finalizes in the same step, and its BecameReady stands for
            // the Converged it skips. Interrupted in between, the step runs again: both halves
            // are idempotent.
            case CONVERGE -> Steps.converge(s, peers, awaiting).thenCompose(a -> a.settled()
                    ? markCreated(s, peers) : CompletableFuture.completedFuture(a));
            case FINALIZE -> markCreated(s, peers);
            // Every node of the placement, whether or not the apply got there (DeleteVolume's REMOVE).
            case ROLL_BACK -> Steps.apply(s, peers, Map.of()).thenApply(applied -> new StepResult.Done());
            case RELEASE -> Steps.releaseEverything(s, peers);
        };
    }

    @Override
    public Outcome onResult(Volume.State s, StepResult r, Duration stageAge) {
        return switch (stage) {
            case SOURCE -> r instanceof StepResult.Sourced x ? Outcome.persist(new Volume.CloneSourceSnapshotted(x.snapshotId()))
                    : r instanceof StepResult.Deferred d ? new Outcome.Again(SOURCE_AGAIN, d.waitingFor())
                    : failed(s, Steps.expect(r, StepResult.Refused.class, this).reason());
            case IMPORT -> r instanceof StepResult.Imported x ? Outcome.persist(new Volume.CloneSourceImported(x.exported()))
                    : r instanceof StepResult.Deferred d ? new Outcome.Again(SOURCE_AGAIN, d.waitingFor())
                    : failed(s, Steps.expect(r, StepResult.Refused.class, this).reason());
            case UNSOURCE -> {
                if (r instanceof StepResult.Deferred d) {
                    yield new Outcome.Again(SOURCE_AGAIN, d.waitingFor());
                }
                Steps.expect(r, StepResult.Done.class, this);
                yield Outcome.persist(new Volume.CreateFailed(failure.orElse("")));
            }
            case CHOOSE -> {
                if (r instanceof StepResult.Chosen c) {
                    yield Outcome.persist(new Volume.NodesChosen(c.choice(), c.endpoints()));
                }
                if (r instanceof StepResult.Deferred d && stageAge.compareTo(SETTLE) < 0) {
                    yield new Outcome.Again(Duration.ofMillis(500), d.waitingFor());
                }
                yield failed(s, r instanceof StepResult.Deferred d ? d.waitingFor()
                        : Steps.expect(r, StepResult.Refused.class, this).reason());
            }
            case RESERVE -> {
                if (r instanceof StepResult.Reserved p) {
                    yield Outcome.persist(new Volume.Reserved(p.placement()));
                }
                String why = Steps.expect(r, StepResult.Refused.class, this).reason();
                yield s.placementAttempts() + 1 < PLACEMENT_ATTEMPTS ? Outcome.persist(new Volume.PlacementRefused(why)) : failed(s, why);
            }
            case APPLY -> Outcome.persist(new Volume.ObjectsApplied(Steps.expect(r, StepResult.Applied.class, this).generations(),
                    Instant.now()));
            case CONVERGE -> r instanceof StepResult.Awaited a
                    ? Outcome.poll(String.join("; ", a.waitingFor()))
                    : finalized(r);
            case FINALIZE -> finalized(r);
            case ROLL_BACK -> {
                Steps.expect(r, StepResult.Done.class, this);
                yield Outcome.persist(new Volume.ObjectsRemoved());
            }
            case RELEASE -> {
                Steps.expect(r, StepResult.Done.class, this);
                yield Outcome.persist(new Volume.PlacementRefused(String.join(", ", avoid)
                        + " failed while the volume was being created: placed again without"));
            }
        };
    }

    /** FAILED; a clone lets its source go first. */
    private static Outcome failed(Volume.State s, String why) {
        return Outcome.persist(s.cloneOf().isPresent() ? new Volume.CloneSourceReleasing(why) : new Volume.CreateFailed(why));
    }

    private Outcome finalized(StepResult r) {
        Steps.expect(r, StepResult.Done.class, this);
        return Outcome.persist(new Volume.BecameReady());
    }

    private CompletionStage<StepResult> choose(Volume.State s, Peers peers) {
        VolumeSpec spec = s.spec().orElseThrow();
        return peers.nodes().thenApply(nodes -> {
            // A clone's first active builds the volume over dm-clone while it hydrates.
            Placer.Result r = Placer.choose(s.name(), spec, VolumeLayout.of(spec), nodes, avoid,
                    s.cloneOf().isPresent() ? Set.of(Placer.DM_CLONE) : Set.of());
            if (r.choice().isEmpty()) {
                List<String> settling = nodes.stream().filter(NodeView::settling).map(NodeView::id).toList();
                if (!settling.isEmpty()) {
                    return new StepResult.Deferred(r.refusal() + "; waiting for the first heartbeats of " + String.join(", ", settling));
                }
                // A rolled-back placement's nodes take the name again once their agents confirmed it gone.
                List<String> removing = nodes.stream().filter(n -> n.up() && n.removing().contains(s.name()) && !avoid.contains(n.id()))
                        .map(NodeView::id).toList();
                return removing.isEmpty() ? new StepResult.Refused(r.refusal()) : new StepResult.Deferred(r.refusal()
                        + "; waiting for " + String.join(", ", removing) + " to confirm the earlier placement gone");
            }
            Map<String, NodeEndpoints> endpoints = new LinkedHashMap<>();
            nodes.stream().filter(n -> n.info().isPresent()).forEach(n -> endpoints.put(n.id(), n.info().get().endpoints()));
            return new StepResult.Chosen(r.choice().get(), endpoints);
        });
    }

    /**
     * Legs reserve their extents, controller nodes a place in the ANA group of the controller's
     * failover domain; a refusal gives everything back first.
     */
    private static CompletionStage<StepResult> reserve(Volume.State s, Peers peers) {
        VolumeSpec spec = s.spec().orElseThrow();
        Placer.Choice choice = s.choice().orElseThrow();
        long ld = VolumeLayout.of(spec).ldSectors();
        List<CompletionStage<Leg.Placed>> legs = new ArrayList<>();
        for (int leg = 0; leg < spec.legCount(); leg++) {
            legs.add(peers.placeLeg(s.name(), leg, 0, choice.sides().get(leg), ld));
        }
        List<CompletionStage<StorageNode.AnaGroupReply>> groups = new ArrayList<>();
        for (int slot = 0; slot < choice.controllers().size(); slot++) {
            String node = choice.controllers().get(slot);
            String domain = AnaGroups.domain(slot, spec.activeControllers(), choice.controllers(), hydrating(s));
            groups.add(peers.allocateAnaGroup(node, s.name(), volumePort(s, node), domain));
        }
        return Stages.all(legs).thenCombine(Stages.all(groups), (placed, anas) -> {
            List<String> refusals = new ArrayList<>();
            placed.stream().filter(p -> p.leg().isEmpty()).forEach(p -> refusals.add(p.refusal()));
            anas.stream().filter(a -> a.group().isEmpty()).forEach(a -> refusals.add(a.refusal()));
            if (!refusals.isEmpty()) {
                return (StepResult) new StepResult.Refused("could not reserve: " + String.join("; ", refusals));
            }
            List<Placement.Controller> controllers = new ArrayList<>();
            for (int slot = 0; slot < choice.controllers().size(); slot++) {
                String node = choice.controllers().get(slot);
                controllers.add(new Placement.Controller(node, slot < spec.activeControllers() ? Placement.Role.ACTIVE
                        : Placement.Role.STANDBY, volumePort(s, node), anas.get(slot).group().orElseThrow()));
            }
            return new StepResult.Reserved(new Placement(controllers, placed.stream().map(p -> p.leg().orElseThrow()).toList()));
        }).thenCompose(result -> result instanceof StepResult.Reserved ? CompletableFuture.completedFuture(result)
                : Steps.releaseEverything(s, peers).thenApply(done -> result));
    }

    /**
     * The agents built every group: the nodes drop the brand-new preparations (zeroing, nosync,
     * create_thin) from the volume's objects, persisted before the volume records its groups
     * created and says READY, so no later power cycle can zero a group a host has written to.
     */
    private static CompletionStage<StepResult> markCreated(Volume.State s, Peers peers) {
        return Stages.all(s.nodes().stream().map(node -> peers.markCreated(node, s.name())).toList())
                .thenApply(gens -> new StepResult.Done());
    }

    /** A clone's other actives wait in a group of their own while it hydrates (AnaGroups.hydrating). */
    static java.util.Optional<String> hydrating(Volume.State s) {
        return s.cloneOf().filter(c -> c.status() == io.dnv.core.volume.Clone.Status.SOURCING
                || c.status() == io.dnv.core.volume.Clone.Status.HYDRATING).map(c -> s.name());
    }

    private static int volumePort(Volume.State s, String node) {
        return s.endpoints().get(node).volumePort().orElseThrow().id();
    }
}
