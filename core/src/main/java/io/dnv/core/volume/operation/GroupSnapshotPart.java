package io.dnv.core.volume.operation;

import io.dnv.core.volume.Volume;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A member volume's part in a snapshot group (SnapshotGroup, docs/snapshots.md "Group
 * snapshots"): the group holds, snaps and releases every member at once, so the volume's own
 * steps are none; it records the part as its one operation so that nothing else runs on it
 * meanwhile, and a failover pauses it as it would any operation. The group ends the part
 * ({@link Volume.EndGroupPart}, {@link Volume.LeaveGroup}); until then the volume only shows
 * what it waits for.
 *
 * @param failovers how many failovers paused the part: the group undoes what it held or snapped
 *                  before a failover moved the volume's controllers
 */
public record GroupSnapshotPart(String groupId, String snapshotId, int thinId, Stage stage, long attempt, Instant requestedAt,
                                int failovers) implements Operation {

    public enum Stage { PART }

    /** How often the volume looks again while the group works: it only shows what it waits for. */
    static final Duration LOOK = Duration.ofSeconds(1);
    static final Duration DEADLINE = Duration.ofSeconds(60);

    public static GroupSnapshotPart start(String groupId, String snapshotId, int thinId, Instant requestedAt, long attempt) {
        return new GroupSnapshotPart(groupId, snapshotId, thinId, Stage.PART, attempt, requestedAt, 0);
    }

    @Override
    public String name() {
        return "snapshot-group";
    }

    @Override
    public Duration deadline() {
        return DEADLINE;
    }

    @Override
    public Operation resumed(long newAttempt) {
        return new GroupSnapshotPart(groupId, snapshotId, thinId, stage, newAttempt, requestedAt, failovers + 1);
    }

    @Override
    public CompletionStage<StepResult> run(Volume.State volume, Peers peers) {
        return CompletableFuture.completedFuture(new StepResult.Deferred("snapshot group " + groupId + " to take " + snapshotId));
    }

    @Override
    public Outcome onResult(Volume.State volume, StepResult result, Duration stageAge) {
        return new Outcome.Again(LOOK, Steps.expect(result, StepResult.Deferred.class, this).waitingFor());
    }
}
