package io.dnv.core.volume.operation;

import io.dnv.core.kernel.AnaGroups;
import io.dnv.core.kernel.Names;
import io.dnv.core.node.StorageNode;
import io.dnv.core.node.ToAgent;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.Snapshot;
import io.dnv.core.volume.Volume;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * A clone is hydrated (docs/clone.md): every region of its source is on its own legs.
 *
 * <ol>
 *   <li>SWAP, SWAP_WAIT — the plan without dm-clone: the first active's volume device is reloaded
 *       from the clone to the plain stripe (the same dm name, so the export and the hosts' paths
 *       stay; host I/O pauses for the reload), the source stripe and the clone's metadata go;</li>
 *   <li>ACTIVATE, ACTIVATE_APPLY, ACTIVATE_WAIT — with more than one active: the others move from
 *       the clone's own hydrating ANA group to their node's active group and turn optimized;</li>
 *   <li>DROP_METADATA — the metadata's thin is deleted from the first leg's pool;</li>
 *   <li>RELEASE — the source's export to the clone goes, and the snapshot it took of a volume
 *       source: the source may be deleted again.</li>
 * </ol>
 *
 * @param awaiting in the WAIT stages: the generation each node's agent must reach
 */
public record FinishClone(Stage stage, long attempt, Instant requestedAt, Map<String, Long> awaiting) implements Operation {

    public enum Stage { SWAP, SWAP_WAIT, ACTIVATE, ACTIVATE_APPLY, ACTIVATE_WAIT, DROP_METADATA, RELEASE }

    static final Duration DEADLINE = Duration.ofSeconds(30);

    public FinishClone {
        awaiting = Map.copyOf(awaiting);
    }

    public static FinishClone start(Instant requestedAt, long attempt) {
        return new FinishClone(Stage.SWAP, attempt, requestedAt, Map.of());
    }

    public FinishClone at(Stage next, long newAttempt) {
        return new FinishClone(next, newAttempt, requestedAt, Map.of());
    }

    public FinishClone converging(Map<String, Long> generations, long newAttempt) {
        return new FinishClone(stage == Stage.SWAP ? Stage.SWAP_WAIT : Stage.ACTIVATE_WAIT, newAttempt, requestedAt, generations);
    }

    /** The agents have the plan: a volume with other actives moves them to their active groups next. */
    public FinishClone converged(int activeControllers, long newAttempt) {
        return at(stage == Stage.SWAP_WAIT && activeControllers > 1 ? Stage.ACTIVATE : Stage.DROP_METADATA, newAttempt);
    }

    @Override
    public String name() {
        return "finish-clone";
    }

    @Override
    public Duration deadline() {
        return DEADLINE;
    }

    @Override
    public Operation resumed(long newAttempt) {
        return at(switch (stage) {
            case SWAP_WAIT -> Stage.SWAP;
            case ACTIVATE_WAIT -> Stage.ACTIVATE_APPLY;
            default -> stage;
        }, newAttempt);
    }

    @Override
    public CompletionStage<StepResult> run(Volume.State s, Peers peers) {
        return switch (stage) {
            case SWAP, ACTIVATE_APPLY -> Steps.apply(s, peers, Steps.plan(s, s.exported()));
            case SWAP_WAIT, ACTIVATE_WAIT -> Steps.converge(s, peers, awaiting).thenApply(a -> a);
            case ACTIVATE -> activate(s, peers);
            case DROP_METADATA -> dropMetadata(s, peers);
            case RELEASE -> CloneSteps.releaseSource(s, peers);
        };
    }

    @Override
    public Outcome onResult(Volume.State s, StepResult r, Duration stageAge) {
        return switch (stage) {
            case SWAP, ACTIVATE_APPLY -> Outcome.persist(new Volume.ObjectsApplied(Steps.expect(r, StepResult.Applied.class, this)
                    .generations(), Instant.now()));
            case SWAP_WAIT, ACTIVATE_WAIT -> {
                StepResult.Awaited a = Steps.expect(r, StepResult.Awaited.class, this);
                yield a.settled() ? Outcome.persist(new Volume.Converged()) : Outcome.poll(String.join("; ", a.waitingFor()));
            }
            case ACTIVATE -> Outcome.persist(new Volume.CloneActivesRegrouped(Steps.expect(r, StepResult.Reserved.class, this)
                    .placement()));
            case DROP_METADATA -> {
                Steps.expect(r, StepResult.Done.class, this);
                yield Outcome.persist(new Volume.CloneMetadataDropped());
            }
            case RELEASE -> {
                if (r instanceof StepResult.Deferred d) {
                    yield new Outcome.Again(CreateVolume.SOURCE_AGAIN, d.waitingFor());
                }
                Steps.expect(r, StepResult.Done.class, this);
                yield Outcome.persist(new Volume.CloneSourceReleased());
            }
        };
    }

    /** Every active but the first takes its place in its node's active group (asked again, the same group). */
    private static CompletionStage<StepResult> activate(Volume.State s, Peers peers) {
        Placement p = s.placement().orElseThrow();
        List<Placement.Controller> others = p.actives().stream().filter(c -> c != p.controllers().get(0)).toList();
        List<CompletionStage<StorageNode.AnaGroupReply>> moves = new ArrayList<>();
        others.forEach(c -> moves.add(peers.moveAnaGroup(c.nodeId(), s.name(), c.exportPortId(), AnaGroups.ACTIVE)));
        return Stages.all(moves).thenApply(moved -> {
            Placement regrouped = p;
            for (int i = 0; i < others.size(); i++) {
                int group = moved.get(i).group().orElseThrow(() -> new IllegalStateException("no active ANA group: "
                        + moved.get(0).refusal()));
                regrouped = regrouped.regrouped(others.get(i).nodeId(), group);
            }
            return new StepResult.Reserved(regrouped);
        });
    }

    /** The metadata's thin deleted from the first leg's pool, on the leg's owner (gone already is done). */
    private static CompletionStage<StepResult> dropMetadata(Volume.State s, Peers peers) {
        String owner = s.placement().orElseThrow().controllers().get(0).nodeId();
        return peers.deleteThins(owner, List.of(new ToAgent.PoolThin(Names.pool(owner, s.name(), 0), Snapshot.CLONE_METADATA_THIN_ID)))
                .thenApply(done -> {
                    done.refusal().ifPresent(why -> {
                        throw new IllegalStateException("deleting the clone's metadata thin on " + owner + ": " + why);
                    });
                    return new StepResult.Done();
                });
    }
}
