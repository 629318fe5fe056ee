package io.dnv.core.volume.operation;

import io.dnv.core.volume.Volume;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * Bringing the kernels to the snapshot imports the volume records (a clone's source,
 * docs/clone.md): every leg's owner exports each imported snapshot's thin, and each importer
 * connects it (or, released, lets it go). The volume's own objects do not change. APPLY hands
 * every node its objects, the importers and the {@code released} ones included; CONVERGE waits
 * until every agent has them in place, so an importer that hears the export is ready finds the
 * snapshot's namespaces on its node.
 *
 * <p>An importer that the control plane declared failed is not waited for: the volume importing
 * there fails over and releases it.
 *
 * @param released nodes whose import was released: told to drop theirs although they import nothing now
 * @param awaiting in {@link Stage#CONVERGE}: the generation each node's agent must reach
 */
public record ChangeExports(List<String> released, Stage stage, long attempt, Instant requestedAt, Map<String, Long> awaiting)
        implements Operation {

    public enum Stage { APPLY, CONVERGE }

    static final Duration DEADLINE = Duration.ofSeconds(30);

    public ChangeExports {
        released = List.copyOf(released);
        awaiting = Map.copyOf(awaiting);
    }

    public static ChangeExports start(List<String> released, Instant requestedAt, long attempt) {
        return new ChangeExports(released, Stage.APPLY, attempt, requestedAt, Map.of());
    }

    public ChangeExports converging(Map<String, Long> generations, long newAttempt) {
        return new ChangeExports(released, Stage.CONVERGE, newAttempt, requestedAt, generations);
    }

    @Override
    public String name() {
        return "export";
    }

    @Override
    public Operation resumed(long newAttempt) {
        return new ChangeExports(released, Stage.APPLY, newAttempt, requestedAt, Map.of());
    }

    @Override
    public Duration deadline() {
        return DEADLINE;
    }

    @Override
    public CompletionStage<StepResult> run(Volume.State s, Peers peers) {
        return switch (stage) {
            case APPLY -> Steps.apply(s, peers, Steps.plan(s, s.exported()));
            case CONVERGE -> Steps.converge(s, peers, awaiting).thenApply(a -> a);
        };
    }

    @Override
    public Outcome onResult(Volume.State s, StepResult r, Duration stageAge) {
        return switch (stage) {
            case APPLY -> Outcome.persist(new Volume.ObjectsApplied(Steps.expect(r, StepResult.Applied.class, this).generations(),
                    Instant.now()));
            case CONVERGE -> {
                StepResult.Awaited a = Steps.expect(r, StepResult.Awaited.class, this);
                yield Steps.settledButFailedImporters(s, a) ? Outcome.persist(new Volume.Converged())
                        : Outcome.poll(String.join("; ", a.waitingFor()));
            }
        };
    }
}
