package io.dnv.core.volume.operation;

import io.dnv.core.kernel.Names;
import io.dnv.core.node.ToAgent;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.Snapshot;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeSpec;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Taking a crash-consistent snapshot of a volume online (picture 120, docs/snapshots.md):
 *
 * <ol>
 *   <li>HOLD — every active's agent suspends the volume's stripe (its I/O in flight drained,
 *       the hosts' new I/O held), each for at most {@link IoHolds#BOUND}: after that the agent
 *       resumes it by itself;</li>
 *   <li>SNAP — every leg's owner, while its own hold is in force, suspends the leg's thin (the
 *       origin), sends {@code create_snap <thinId> 0} to the leg's pool and resumes the thin;</li>
 *   <li>RELEASE — every active resumes its stripe and says whether its hold was intact until
 *       then. Every hold intact: no write reached any leg between the first and the last
 *       create_snap, so the legs together are one image → READY.</li>
 * </ol>
 *
 * Anything else — a refusal, a node that does not answer, a hold that lapsed (the control
 * member running this died, or a step took longer than the bound) — goes to UNDO: every hold
 * under the snapshot's token is released and the snapshot's thin deleted from every leg's
 * pool, then the snapshot is taken again from HOLD, {@link #TRIES} times in all, and FAILED after
 * that. So a failure leaves no stripe suspended and no thin behind, and a retry never finds a
 * thin of an earlier, inconsistent try (an id that exists counts as done).
 *
 * @param holds in SNAP and RELEASE: the hold each active's agent answered, by node
 * @param tries how many times the snapshot was undone and taken again
 * @param failure in UNDO: why
 */
public record CreateSnapshot(String snapshotId, int thinId, Stage stage, long attempt, Instant requestedAt,
                             Map<String, String> holds, int tries, Optional<String> failure) implements Operation {

    public enum Stage { HOLD, SNAP, RELEASE, UNDO }

    public static final int TRIES = 3;
    static final Duration DEADLINE = Duration.ofSeconds(30);

    public CreateSnapshot {
        holds = Map.copyOf(holds);
        failure = failure == null ? Optional.empty() : failure;
    }

    public static CreateSnapshot start(String snapshotId, int thinId, Instant requestedAt, long attempt) {
        return new CreateSnapshot(snapshotId, thinId, Stage.HOLD, attempt, requestedAt, Map.of(), 0, Optional.empty());
    }

    public CreateSnapshot held(Map<String, String> byNode, long newAttempt) {
        return new CreateSnapshot(snapshotId, thinId, Stage.SNAP, newAttempt, requestedAt, byNode, tries, Optional.empty());
    }

    public CreateSnapshot at(Stage next, long newAttempt) {
        return new CreateSnapshot(snapshotId, thinId, next, newAttempt, requestedAt, holds, tries, failure);
    }

    public CreateSnapshot undoing(String why, long newAttempt) {
        return new CreateSnapshot(snapshotId, thinId, Stage.UNDO, newAttempt, requestedAt, Map.of(), tries, Optional.of(why));
    }

    /** Undone, taken again from the hold. */
    public CreateSnapshot retried(long newAttempt) {
        return new CreateSnapshot(snapshotId, thinId, Stage.HOLD, newAttempt, requestedAt, Map.of(), tries + 1, Optional.empty());
    }

    /** Another try is left after this undo. */
    public boolean retries() {
        return tries + 1 < TRIES;
    }

    /**
     * After a failover: the failed node's hold is gone and the legs have new owners, so what was
     * held or snapped before is undone and the snapshot taken again against the new placement.
     */
    @Override
    public Operation resumed(long newAttempt) {
        return switch (stage) {
            case HOLD -> new CreateSnapshot(snapshotId, thinId, Stage.HOLD, newAttempt, requestedAt, Map.of(), tries, Optional.empty());
            case SNAP, RELEASE -> undoing("a failover moved the volume's controllers while the snapshot was taken", newAttempt);
            case UNDO -> at(Stage.UNDO, newAttempt);
        };
    }

    @Override
    public String name() {
        return "snapshot";
    }

    @Override
    public Duration deadline() {
        return DEADLINE;
    }

    /** What every order of this snapshot is held and released under: one per snapshot of one volume. */
    public String token() {
        return snapshotId;
    }

    @Override
    public CompletionStage<StepResult> run(Volume.State s, Peers peers) {
        return switch (stage) {
            case HOLD -> IoHolds.hold(peers, token(), stripes(s));
            case SNAP -> snap(s, peers);
            case RELEASE -> IoHolds.release(peers, token(), holds);
            case UNDO -> IoHolds.releaseAll(peers, token(), stripes(s).keySet())
                    .thenCompose(released -> deleteThins(s, peers, thinId));
        };
    }

    @Override
    public Outcome onResult(Volume.State s, StepResult r, Duration stageAge) {
        return switch (stage) {
            case HOLD -> r instanceof StepResult.Held h ? Outcome.persist(new Volume.StripesHeld(h.holds()))
                    : Outcome.persist(new Volume.SnapshotUndoing(Steps.expect(r, StepResult.Refused.class, this).reason()));
            case SNAP -> r instanceof StepResult.Done ? Outcome.persist(new Volume.ThinsSnapped())
                    : Outcome.persist(new Volume.SnapshotUndoing(Steps.expect(r, StepResult.Refused.class, this).reason()));
            case RELEASE -> {
                StepResult.Released released = Steps.expect(r, StepResult.Released.class, this);
                yield Outcome.persist(released.lapsed().isEmpty() ? new Volume.SnapshotTaken(snapshotId, released.heldMillis())
                        : new Volume.SnapshotUndoing("the hold of " + String.join(", ", released.lapsed())
                        + " lapsed before it was released: the snapshot may not be consistent"));
            }
            case UNDO -> {
                Steps.expect(r, StepResult.Done.class, this);
                yield Outcome.persist(retries() ? new Volume.SnapshotRetried()
                        : new Volume.SnapshotFailed(snapshotId, failure.orElse("") + " (tried " + TRIES + " times)"));
            }
        };
    }

    /** The stripe of every active, by node. */
    private static Map<String, List<String>> stripes(Volume.State s) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        addStripes(out, s.name(), s.placement().orElseThrow());
        return out;
    }

    /** Adds the volume's stripe of every active to the devices by node (a group holds several volumes' on one node). */
    static void addStripes(Map<String, List<String>> byNode, String volumeId, Placement p) {
        p.actives().forEach(c -> byNode.merge(c.nodeId(), List.of(Names.volume(c.nodeId(), volumeId)),
                (a, b) -> java.util.stream.Stream.concat(a.stream(), b.stream()).toList()));
    }

    /** Every leg's owner snapshots its legs' thins, each owner under its own hold. */
    private CompletionStage<StepResult> snap(Volume.State s, Peers peers) {
        Map<String, List<ToAgent.ThinSnap>> byOwner = new LinkedHashMap<>();
        addThinSnaps(byOwner, s.name(), s.spec().orElseThrow(), s.placement().orElseThrow(), thinId);
        return snap(peers, token(), holds, byOwner);
    }

    /** Adds a snapshot {@code thinId} of each of the volume's legs to what its owner snaps. */
    static void addThinSnaps(Map<String, List<ToAgent.ThinSnap>> byOwner, String volumeId, VolumeSpec spec, Placement p, int thinId) {
        legsByOwner(spec, p).forEach((owner, legs) -> legs.forEach(leg -> byOwner.computeIfAbsent(owner, o -> new ArrayList<>())
                .add(new ToAgent.ThinSnap(Names.pool(owner, volumeId, leg), Names.thin(owner, volumeId, leg), Snapshot.ORIGIN_THIN_ID,
                        thinId))));
    }

    /** Every owner snaps its thins, each under its own node's hold (one order per node). */
    static CompletionStage<StepResult> snap(Peers peers, String token, Map<String, String> holds,
                                            Map<String, List<ToAgent.ThinSnap>> byOwner) {
        List<String> owners = List.copyOf(byOwner.keySet());
        List<CompletionStage<ToAgent.OrderDone>> asks = new ArrayList<>();
        for (String owner : owners) {
            String holdId = holds.get(owner);
            if (holdId == null) {
                return CompletableFuture.completedFuture(new StepResult.Refused(owner + " owns a leg but holds no stripe"));
            }
            asks.add(IoHolds.answered(owner, peers.snapThins(owner, token, holdId, byOwner.get(owner))));
        }
        return Stages.all(asks).thenApply(answers -> {
            List<String> refusals = IoHolds.refusals(owners, answers);
            return refusals.isEmpty() ? new StepResult.Done() : new StepResult.Refused("could not snapshot: " + String.join("; ", refusals));
        });
    }

    /** The legs of the volume by the node that owns each now. */
    private static Map<String, List<Integer>> legsByOwner(VolumeSpec spec, Placement p) {
        Map<String, List<Integer>> out = new LinkedHashMap<>();
        for (int leg = 0; leg < spec.legCount(); leg++) {
            out.computeIfAbsent(p.owner(leg, spec).nodeId(), o -> new ArrayList<>()).add(leg);
        }
        return out;
    }

    /** Thin {@code thinId} deleted from every leg's pool (gone already is done); fails unless every owner did. */
    static CompletionStage<StepResult> deleteThins(Volume.State s, Peers peers, int thinId) {
        return deleteThins(s.name(), s.spec().orElseThrow(), s.placement().orElseThrow(), peers, thinId);
    }

    static CompletionStage<StepResult> deleteThins(String volumeId, VolumeSpec spec, Placement p, Peers peers, int thinId) {
        Map<String, List<Integer>> byOwner = legsByOwner(spec, p);
        List<String> owners = List.copyOf(byOwner.keySet());
        return Stages.all(owners.stream().map(o -> peers.deleteThins(o, byOwner.get(o).stream()
                .map(leg -> new ToAgent.PoolThin(Names.pool(o, volumeId, leg), thinId)).toList())).toList()).thenApply(answers -> {
            List<String> refusals = IoHolds.refusals(owners, answers);
            if (!refusals.isEmpty()) {
                throw new IllegalStateException("could not delete thin " + thinId + ": " + String.join("; ", refusals));
            }
            return new StepResult.Done();
        });
    }
}
