package io.dnv.core.volume.operation;

import io.dnv.core.volume.Volume;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletionStage;

/**
 * Deleting a snapshot: every leg's owner sends its pool {@code delete <thinId>} (an id already
 * gone is done), then the snapshot leaves the volume. One stage; a refusal (a pool not there,
 * an agent not heard from) is tried again, shown as overdue past the deadline.
 */
public record DeleteSnapshot(String snapshotId, int thinId, Stage stage, long attempt, Instant requestedAt) implements Operation {

    public enum Stage { DELETE }

    static final Duration DEADLINE = Duration.ofSeconds(30);

    public static DeleteSnapshot start(String snapshotId, int thinId, Instant requestedAt, long attempt) {
        return new DeleteSnapshot(snapshotId, thinId, Stage.DELETE, attempt, requestedAt);
    }

    @Override
    public String name() {
        return "delete-snapshot";
    }

    @Override
    public Duration deadline() {
        return DEADLINE;
    }

    /** Against the new placement: the legs' new owners delete it from the same pools. */
    @Override
    public Operation resumed(long newAttempt) {
        return new DeleteSnapshot(snapshotId, thinId, stage, newAttempt, requestedAt);
    }

    @Override
    public CompletionStage<StepResult> run(Volume.State s, Peers peers) {
        return CreateSnapshot.deleteThins(s, peers, thinId);
    }

    @Override
    public Outcome onResult(Volume.State s, StepResult r, Duration stageAge) {
        Steps.expect(r, StepResult.Done.class, this);
        return Outcome.persist(new Volume.SnapshotDeleted(snapshotId));
    }
}
