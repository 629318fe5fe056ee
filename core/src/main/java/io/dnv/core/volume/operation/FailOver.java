package io.dnv.core.volume.operation;

import io.dnv.core.kernel.AnaGroups;
import io.dnv.core.node.StorageNode;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.Volume;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A controller's node failed (docs/failover.md): fence it, then promote a standby in its place.
 * The volume's placement already has the failed controller FENCED when this starts.
 *
 * <ol>
 *   <li>FENCE — every node but the failed one gets the fenced plan: the disk nodes take the
 *       failed node off its LDs' allow-lists (their agents drop its connections and drain its
 *       I/O), the other actives stop exporting legs to it;</li>
 *   <li>FENCE_WAIT — every one of them converged: nothing of the failed node can land any more;</li>
 *   <li>PROMOTE — the first standby takes the failed active's slot, its namespace moving to its
 *       node's active ANA group (a failed standby is only dropped);</li>
 *   <li>PROMOTE_APPLY, PROMOTE_WAIT — the promoted plan: the successor assembles the legs from
 *       their metadata (never nosync, never zeroed: the groups are created), swaps its error
 *       device for the stripe and turns optimized.</li>
 * </ol>
 *
 * Whatever the volume was doing is {@code paused} and resumed, at its stage, against the new
 * placement once this is done: a failover never waits behind an attach or an extend.
 *
 * @param awaiting in the WAIT stages: the generation each node's agent must reach
 */
public record FailOver(String failedNode, Stage stage, long attempt, Instant requestedAt, Map<String, Long> awaiting,
                       Optional<Operation> paused) implements Operation {

    public enum Stage { FENCE, FENCE_WAIT, PROMOTE, PROMOTE_APPLY, PROMOTE_WAIT }

    static final Duration DEADLINE = Duration.ofSeconds(10);

    public FailOver {
        awaiting = Map.copyOf(awaiting);
        paused = paused == null ? Optional.empty() : paused;
    }

    public static FailOver start(String failedNode, Instant requestedAt, long attempt, Optional<Operation> paused) {
        return new FailOver(failedNode, Stage.FENCE, attempt, requestedAt, Map.of(), paused);
    }

    public FailOver at(Stage next, long newAttempt) {
        return new FailOver(failedNode, next, newAttempt, requestedAt, Map.of(), paused);
    }

    public FailOver waiting(Map<String, Long> generations, long newAttempt) {
        Map<String, Long> others = new HashMap<>(generations);
        others.remove(failedNode);   // it converges to nothing only when it comes back
        return new FailOver(failedNode, stage == Stage.FENCE ? Stage.FENCE_WAIT : Stage.PROMOTE_WAIT, newAttempt, requestedAt,
                others, paused);
    }

    @Override
    public String name() {
        return "failover";
    }

    @Override
    public Duration deadline() {
        return DEADLINE;
    }

    @Override
    public Operation resumed(long newAttempt) {
        Stage again = switch (stage) {
            case FENCE_WAIT -> Stage.FENCE;
            case PROMOTE_WAIT -> Stage.PROMOTE_APPLY;
            default -> stage;
        };
        return at(again, newAttempt);
    }

    @Override
    public CompletionStage<StepResult> run(Volume.State s, Peers peers) {
        return switch (stage) {
            case FENCE, PROMOTE_APPLY -> Steps.apply(s, peers, Steps.plan(s, s.exported()));
            case FENCE_WAIT, PROMOTE_WAIT -> Steps.converge(s, peers, awaiting).thenApply(a -> a);
            case PROMOTE -> promote(s, peers);
        };
    }

    @Override
    public Outcome onResult(Volume.State s, StepResult r, Duration stageAge) {
        return switch (stage) {
            case FENCE, PROMOTE_APPLY -> Outcome.persist(new Volume.ObjectsApplied(Steps.expect(r, StepResult.Applied.class, this)
                    .generations()));
            case FENCE_WAIT -> {
                StepResult.Awaited a = Steps.expect(r, StepResult.Awaited.class, this);
                yield a.settled() ? Outcome.persist(new Volume.Fenced()) : Outcome.poll(String.join("; ", a.waitingFor()));
            }
            case PROMOTE -> r instanceof StepResult.Reserved p ? Outcome.persist(new Volume.SuccessorPlaced(p.placement()))
                    : Outcome.persist(new Volume.FailedOver(((StepResult.Refused) r).reason(), Instant.now()));
            case PROMOTE_WAIT -> {
                StepResult.Awaited a = Steps.expect(r, StepResult.Awaited.class, this);
                yield a.settled() ? Outcome.persist(new Volume.FailedOver("", Instant.now())) : Outcome.poll(String.join("; ", a.waitingFor()));
            }
        };
    }

    /**
     * The placement with the first standby in the failed active's slot, in its node's active ANA
     * domain and keeping its cntlid ranges; Refused (nothing to promote) when the failed node was
     * a standby, or no standby is left.
     */
    private CompletionStage<StepResult> promote(Volume.State s, Peers peers) {
        Placement p = s.placement().orElseThrow();
        List<Placement.Controller> cs = p.controllers();
        int failed = -1;
        int successor = -1;
        for (int slot = 0; slot < cs.size(); slot++) {
            if (cs.get(slot).nodeId().equals(failedNode) && cs.get(slot).role() == Placement.Role.FENCED) {
                failed = slot;
            } else if (successor < 0 && cs.get(slot).role() == Placement.Role.STANDBY) {
                successor = slot;
            }
        }
        int activeSlots = s.spec().orElseThrow().activeControllers();
        if (failed < 0 || failed >= activeSlots) {
            return CompletableFuture.completedFuture(new StepResult.Refused(""));   // a standby failed: it is dropped
        }
        if (successor < 0) {
            return CompletableFuture.completedFuture(new StepResult.Refused("no standby to promote in place of " + failedNode));
        }
        Placement.Controller next = cs.get(successor);
        int failedSlot = failed;
        int successorSlot = successor;
        return peers.moveAnaGroup(next.nodeId(), s.name(), next.exportPortId(), AnaGroups.ACTIVE).thenApply(reply -> {
            if (reply.group().isEmpty()) {
                throw new IllegalStateException("promoting " + next.nodeId() + ": " + reply.refusal());
            }
            List<Placement.Controller> promoted = new java.util.ArrayList<>(cs);
            promoted.set(failedSlot, next.as(Placement.Role.ACTIVE, reply.group().get(), successorSlot));
            promoted.remove(successorSlot);
            return new StepResult.Reserved(new Placement(promoted, p.legs(), p.lost()));
        });
    }
}
