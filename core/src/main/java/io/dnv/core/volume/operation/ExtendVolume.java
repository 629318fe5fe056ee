package io.dnv.core.volume.operation;

import io.dnv.core.plan.NodeObjects;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * Growing a volume online from {@code fromBytes} to {@code toBytes} (picture 130): choose disk
 * nodes for one more raid1 group per leg → every leg reserves it from clean space → the nodes
 * build the groups (LDs exported and connected, raid1 created) beside the running pools → once
 * built the groups count as created, and every leg's thin-meta and thin-data take their slices,
 * the pool and thin grow (and a leg's export, told to revalidate its size) → the stripes and the
 * standbys' error devices grow, and every controller's export revalidates its size, so attached
 * hosts see the new size. Each growing stage is applied, then waited for, as a create's.
 *
 * <p>A refusal before anything was reserved or built (no room, a reservation refused) gives the
 * new groups back and ends the extend (FAILED to extend, the volume READY at its old size).
 * From the build on it only goes forward: a stage whose step fails is tried again, shown as
 * overdue past its deadline. A group is in a pool only in objects that no longer zero it, so a
 * host never writes where a power cycle could re-initialise; the stripes grow only once every
 * leg they map has grown (a raid0 over a smaller leg is refused).
 *
 * @param group    the index of the raid1 group the extend adds to every leg
 * @param sides    from {@link Stage#RESERVE} on: the disk nodes chosen for each leg's new group
 * @param awaiting in the AWAIT stages: the generation each node's agent must reach
 */
public record ExtendVolume(long fromBytes, long toBytes, int group, Stage stage, long attempt, Instant requestedAt,
                           List<List<String>> sides, Map<String, Long> awaiting) implements Operation {

    public enum Stage { CHOOSE, RESERVE, BUILD, AWAIT_BUILD, GROW_LEGS, AWAIT_LEGS, GROW_STRIPES, AWAIT_STRIPES }

    static final Duration DEADLINE = Duration.ofSeconds(60);

    public ExtendVolume {
        sides = sides.stream().map(List::copyOf).toList();
        awaiting = Map.copyOf(awaiting);
    }

    public static ExtendVolume start(long fromBytes, long toBytes, int group, Instant requestedAt, long attempt) {
        return new ExtendVolume(fromBytes, toBytes, group, Stage.CHOOSE, attempt, requestedAt, List.of(), Map.of());
    }

    public ExtendVolume chosen(List<List<String>> chosenSides, long newAttempt) {
        return new ExtendVolume(fromBytes, toBytes, group, Stage.RESERVE, newAttempt, requestedAt, chosenSides, Map.of());
    }

    @Override
    public Operation resumed(long newAttempt) {
        Stage again = switch (stage) {
            case AWAIT_BUILD -> Stage.BUILD;
            case AWAIT_LEGS -> Stage.GROW_LEGS;
            case AWAIT_STRIPES -> Stage.GROW_STRIPES;
            default -> stage;
        };
        return at(again, newAttempt);
    }

    public ExtendVolume at(Stage next, long newAttempt) {
        return new ExtendVolume(fromBytes, toBytes, group, next, newAttempt, requestedAt, sides, Map.of());
    }

    /** An applying stage's objects are persisted on every node: wait for the agents. */
    public ExtendVolume converging(Map<String, Long> generations, long newAttempt) {
        Stage next = switch (stage) {
            case BUILD -> Stage.AWAIT_BUILD;
            case GROW_LEGS -> Stage.AWAIT_LEGS;
            case GROW_STRIPES -> Stage.AWAIT_STRIPES;
            default -> throw new IllegalStateException("extend at " + stage + " applies nothing");
        };
        return new ExtendVolume(fromBytes, toBytes, group, next, newAttempt, requestedAt, sides, generations);
    }

    @Override
    public String name() {
        return "extend";
    }

    @Override
    public Duration deadline() {
        return DEADLINE;
    }

    /** The layout of the volume at the size it grows to. */
    public VolumeLayout target(VolumeSpec spec) {
        return VolumeLayout.of(resized(spec, toBytes));
    }

    /** The layout of the volume at the size it had when the extend began. */
    public VolumeLayout origin(VolumeSpec spec) {
        return VolumeLayout.of(resized(spec, fromBytes));
    }

    public static VolumeSpec resized(VolumeSpec spec, long bytes) {
        return new VolumeSpec(bytes, spec.activeControllers(), spec.standbyControllers(), spec.legsPerController(), spec.replicas());
    }

    @Override
    public CompletionStage<StepResult> run(Volume.State s, Peers peers) {
        VolumeSpec spec = s.spec().orElseThrow();
        VolumeLayout from = origin(spec);
        VolumeLayout to = target(spec);
        return switch (stage) {
            case CHOOSE -> NewGroups.choose(s, peers, group, size(spec));
            case RESERVE -> NewGroups.reserve(s, peers, group, sides, size(spec));
            // The kernels keep allowing the hosts they allow now: attach and detach requests that
            // arrive meanwhile wait for the extend (flows.md, the conflict rule).
            case BUILD -> Steps.apply(s, peers, plan(s, from));
            case GROW_LEGS -> Steps.apply(s, peers, plan(s, to.withStripeOf(from)));
            case GROW_STRIPES -> Steps.apply(s, peers, plan(s, to));
            case AWAIT_BUILD, AWAIT_LEGS, AWAIT_STRIPES -> Steps.converge(s, peers, awaiting).thenApply(a -> a);
        };
    }

    @Override
    public Outcome onResult(Volume.State s, StepResult r, Duration stageAge) {
        return switch (stage) {
            case CHOOSE -> NewGroups.chosen(r, stageAge, this, Volume.ExtendNodesChosen::new, Volume.ExtendFailed::new);
            case RESERVE -> NewGroups.reserved(r, this, Volume.GroupsReserved::new, Volume.ExtendFailed::new);
            case BUILD, GROW_LEGS, GROW_STRIPES ->
                    Outcome.persist(new Volume.ObjectsApplied(Steps.expect(r, StepResult.Applied.class, this).generations(),
                            Instant.now()));
            case AWAIT_BUILD -> NewGroups.settled(r, this, new Volume.GroupsBuilt());
            case AWAIT_LEGS -> NewGroups.settled(r, this, new Volume.LegsGrown());
            case AWAIT_STRIPES -> NewGroups.settled(r, this, new Volume.Extended());
        };
    }

    /** The objects of the volume's placement with its legs and stripes sized by {@code layout}. */
    private static Map<String, NodeObjects> plan(Volume.State s, VolumeLayout layout) {
        return Steps.plan(s, s.exported(), layout);
    }

    private VolumeLayout.GroupSize size(VolumeSpec spec) {
        return VolumeLayout.growth(origin(spec), target(spec));
    }
}
