package io.dnv.core.volume.operation;

import io.dnv.core.plan.NodeObjects;
import io.dnv.core.volume.Volume;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * Deleting a volume: every node that may hold its objects is told to hold none → the legs and
 * controller nodes give back what they reserved → gone. Neither stage waits for an agent: a
 * node keeps a removed volume's extents and ANA group reserved until its agent reports that
 * nothing of the volume is left in its kernel (a released LD is zeroed before it goes), so a
 * delete finishes for the user even while a node is down, and nothing is handed to another
 * volume while a kernel may still use it. Supersedes a create at any stage. A clone that still
 * holds something of its source lets it go once its objects are off the nodes (UNSOURCE): the
 * source's export to it, and the snapshot it took of a volume source.
 */
public record DeleteVolume(Stage stage, long attempt, Instant requestedAt) implements Operation {

    public enum Stage { REMOVE, RELEASE, UNSOURCE }

    static final Duration DEADLINE = Duration.ofSeconds(30);

    public static DeleteVolume start(Instant requestedAt, long attempt) {
        return new DeleteVolume(Stage.REMOVE, attempt, requestedAt);
    }

    @Override
    public Operation resumed(long newAttempt) {
        return at(stage, newAttempt);
    }

    public DeleteVolume at(Stage next, long newAttempt) {
        return new DeleteVolume(next, newAttempt, requestedAt);
    }

    @Override
    public String name() {
        return "delete";
    }

    @Override
    public Duration deadline() {
        return DEADLINE;
    }

    @Override
    public CompletionStage<StepResult> run(Volume.State s, Peers peers) {
        return switch (stage) {
            // Every node of the placement, whether or not the create got as far as applying
            // there: an apply may have reached a node without the volume hearing back.
            case REMOVE -> Steps.apply(s, peers, Map.<String, NodeObjects>of()).thenApply(applied -> new StepResult.Done());
            case RELEASE -> Steps.releaseEverything(s, peers);
            case UNSOURCE -> CloneSteps.releaseSource(s, peers);
        };
    }

    @Override
    public Outcome onResult(Volume.State s, StepResult r, Duration stageAge) {
        Steps.expect(r, StepResult.Done.class, this);
        return switch (stage) {
            case REMOVE -> Outcome.persist(s.cloneOf().filter(c -> !c.released()).isPresent()
                    ? new Volume.CloneSourceReleasing("the clone is deleted") : new Volume.ObjectsRemoved());
            case UNSOURCE -> r instanceof StepResult.Deferred d ? new Outcome.Again(CreateVolume.SOURCE_AGAIN, d.waitingFor())
                    : Outcome.persist(new Volume.CloneSourceReleased());
            case RELEASE -> Outcome.persist(new Volume.Deleted());
        };
    }
}
