package io.dnv.core.volume.operation;

import io.dnv.core.volume.Volume;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * Bringing the kernel's allow-lists to {@code hosts}: every controller's volume export allows
 * exactly those hosts once the agents converged. Attach and detach requests that arrive while
 * it runs only change the volume's wanted hosts; when this one is done, the next starts with
 * whatever is wanted then, so requests queue and none is lost.
 *
 * @param awaiting in {@link Stage#CONVERGE}: the generation each node's agent must reach
 */
public record ChangeAttachments(List<String> hosts, Stage stage, long attempt, Instant requestedAt, Map<String, Long> awaiting)
        implements Operation {

    public enum Stage { APPLY, CONVERGE }

    static final Duration DEADLINE = Duration.ofSeconds(30);

    public ChangeAttachments {
        hosts = List.copyOf(hosts);
        awaiting = Map.copyOf(awaiting);
    }

    public static ChangeAttachments start(List<String> hosts, Instant requestedAt, long attempt) {
        return new ChangeAttachments(hosts, Stage.APPLY, attempt, requestedAt, Map.of());
    }

    public ChangeAttachments converging(Map<String, Long> generations, long newAttempt) {
        return new ChangeAttachments(hosts, Stage.CONVERGE, newAttempt, requestedAt, generations);
    }

    @Override
    public String name() {
        return "attachments";
    }

    @Override
    public Operation resumed(long newAttempt) {
        return new ChangeAttachments(hosts, Stage.APPLY, newAttempt, requestedAt, Map.of());
    }

    @Override
    public Duration deadline() {
        return DEADLINE;
    }

    @Override
    public CompletionStage<StepResult> run(Volume.State s, Peers peers) {
        return switch (stage) {
            case APPLY -> Steps.apply(s, peers, Steps.plan(s, hosts));
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
                yield a.settled() ? Outcome.persist(new Volume.Converged()) : Outcome.poll(String.join("; ", a.waitingFor()));
            }
        };
    }
}
