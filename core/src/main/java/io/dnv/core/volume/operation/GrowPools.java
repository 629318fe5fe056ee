package io.dnv.core.volume.operation;

import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeLayout;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * Growing a volume's thin pools when one is past the low-water mark (snapshots ate its reserve):
 * one more raid1 group per leg, of another snapshot reserve's worth of thin data
 * ({@link VolumeLayout#reserveGroup}), added as an extend adds its groups ({@link NewGroups}):
 * choose → reserve → build → await_build → grow → await_grow. Every leg grows, not only the one
 * past the mark: the stripe spreads every write over all legs in 16 KiB chunks, so what a
 * snapshot keeps fills every leg's pool alike, and the legs keep one group count.
 *
 * <p>The volume's size does not change: {@link Stage#GROW} reloads every leg's thin-meta and
 * thin-data with the new slices and the pool with its new length (dm-thin takes the space at
 * resume), the thin and the stripes stay as they are. A refusal before anything was built (no
 * room: {@code PoolGrowthFailed}) gives the groups back; the volume is FULL then (docs/snapshots.md).
 * From the build on it only goes forward, as an extend does.
 *
 * @param group    the index of the raid1 group it adds to every leg
 * @param size     the group's slices of the pool
 * @param reason   why it was asked for: the pool past the mark
 * @param sides    from {@link Stage#RESERVE} on: the disk nodes chosen for each leg's new group
 * @param awaiting in the AWAIT stages: the generation each node's agent must reach
 */
public record GrowPools(int group, VolumeLayout.GroupSize size, String reason, Stage stage, long attempt, Instant requestedAt,
                        List<List<String>> sides, Map<String, Long> awaiting) implements Operation {

    public enum Stage { CHOOSE, RESERVE, BUILD, AWAIT_BUILD, GROW, AWAIT_GROW }

    /** How the volume's error begins when its pools could not be grown: with a pool past the mark, it is FULL. */
    public static final String NOT_GROWN = "pools not grown: ";

    public GrowPools {
        sides = sides.stream().map(List::copyOf).toList();
        awaiting = Map.copyOf(awaiting);
    }

    public static GrowPools start(int group, VolumeLayout.GroupSize size, String reason, Instant requestedAt, long attempt) {
        return new GrowPools(group, size, reason, Stage.CHOOSE, attempt, requestedAt, List.of(), Map.of());
    }

    public GrowPools chosen(List<List<String>> chosenSides, long newAttempt) {
        return new GrowPools(group, size, reason, Stage.RESERVE, newAttempt, requestedAt, chosenSides, Map.of());
    }

    public GrowPools at(Stage next, long newAttempt) {
        return new GrowPools(group, size, reason, next, newAttempt, requestedAt, sides, Map.of());
    }

    /** An applying stage's objects are persisted on every node: wait for the agents. */
    public GrowPools converging(Map<String, Long> generations, long newAttempt) {
        Stage next = switch (stage) {
            case BUILD -> Stage.AWAIT_BUILD;
            case GROW -> Stage.AWAIT_GROW;
            default -> throw new IllegalStateException("pool growth at " + stage + " applies nothing");
        };
        return new GrowPools(group, size, reason, next, newAttempt, requestedAt, sides, generations);
    }

    @Override
    public Operation resumed(long newAttempt) {
        Stage again = switch (stage) {
            case AWAIT_BUILD -> Stage.BUILD;
            case AWAIT_GROW -> Stage.GROW;
            default -> stage;
        };
        return at(again, newAttempt);
    }

    @Override
    public String name() {
        return "grow-pools";
    }

    @Override
    public Duration deadline() {
        return ExtendVolume.DEADLINE;
    }

    @Override
    public CompletionStage<StepResult> run(Volume.State s, Peers peers) {
        return switch (stage) {
            case CHOOSE -> NewGroups.choose(s, peers, group, size);
            case RESERVE -> NewGroups.reserve(s, peers, group, sides, size);
            // A brand-new group is left out of the pool by the planner; once built it counts as
            // created and the same plan puts it in: thin-meta, thin-data and the pool grow.
            case BUILD, GROW -> Steps.apply(s, peers, Steps.plan(s, s.exported()));
            case AWAIT_BUILD, AWAIT_GROW -> Steps.converge(s, peers, awaiting).thenApply(a -> a);
        };
    }

    @Override
    public Outcome onResult(Volume.State s, StepResult r, Duration stageAge) {
        return switch (stage) {
            case CHOOSE -> NewGroups.chosen(r, stageAge, this, Volume.PoolGrowthNodesChosen::new, Volume.PoolGrowthFailed::new);
            case RESERVE -> NewGroups.reserved(r, this, Volume.PoolGroupsReserved::new, Volume.PoolGrowthFailed::new);
            case BUILD, GROW -> Outcome.persist(new Volume.ObjectsApplied(Steps.expect(r, StepResult.Applied.class, this).generations(),
                    Instant.now()));
            case AWAIT_BUILD -> NewGroups.settled(r, this, new Volume.PoolGroupsBuilt());
            case AWAIT_GROW -> NewGroups.settled(r, this, new Volume.PoolsGrown());
        };
    }
}
