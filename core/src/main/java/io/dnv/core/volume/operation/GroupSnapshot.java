package io.dnv.core.volume.operation;

import io.dnv.core.CborSerializable;
import io.dnv.core.DomainError;
import io.dnv.core.node.ToAgent;
import io.dnv.core.volume.SnapshotGroup;
import io.dnv.core.volume.Volume;

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
 * What a snapshot group does now (docs/snapshots.md, "Group snapshots"): a snapshot of several
 * volumes at one point, taken as {@link CreateSnapshot} takes one volume's, over every member at
 * once:
 *
 * <ol>
 *   <li>JOIN — every member volume records its part (its snapshot, CREATING, as its one
 *       operation); one that cannot (missing, busy, not READY, the name taken) → LEAVE: the
 *       members that joined drop their part, and the group is refused as if never asked;</li>
 *   <li>HOLD — every active of every member suspends the member's stripe, one hold per node under
 *       the group's token for all the stripes it serves;</li>
 *   <li>SNAP — every leg owner snaps every member's legs it owns, under its node's hold;</li>
 *   <li>RELEASE — every hold released; each must have been intact, and no member failed over
 *       since the hold;</li>
 *   <li>UNDO (anything else) — every hold under the token released, every member's snapshot thin
 *       deleted from every leg's pool, then taken again from HOLD, {@link CreateSnapshot#TRIES}
 *       times in all;</li>
 *   <li>FINISH — every member ends its part: its snapshot READY, or FAILED with the reason;</li>
 *   <li>DROP — deleting the group: every member deletes its snapshot.</li>
 * </ol>
 *
 * A member whose part a failover paused is waited for at HOLD, UNDO, FINISH and LEAVE; at SNAP
 * or RELEASE, a failover since the hold makes the try suspect (the holds were on the old
 * controllers) and it is undone against the new placement, as a volume's own snapshot is.
 *
 * @param holds     in SNAP and RELEASE: the hold each node answered
 * @param failovers in SNAP and RELEASE: how many failovers each member's part had gone through at the hold
 * @param failure   in UNDO, and in FINISH of a group that failed: why
 */
public record GroupSnapshot(Stage stage, long attempt, Instant requestedAt, Map<String, String> holds,
                            Map<String, Integer> failovers, int tries, Optional<String> failure) implements CborSerializable {

    public enum Stage { JOIN, LEAVE, HOLD, SNAP, RELEASE, UNDO, FINISH, DROP }

    static final Duration DEADLINE = Duration.ofSeconds(30);
    /** How soon a stage that waits for members (a failover, a delete under way) looks again. */
    static final Duration LOOK = Duration.ofMillis(200);

    public GroupSnapshot {
        holds = Map.copyOf(holds);
        failovers = Map.copyOf(failovers);
        failure = failure == null ? Optional.empty() : failure;
    }

    public static GroupSnapshot at(Stage stage, Instant requestedAt, long attempt) {
        return new GroupSnapshot(stage, attempt, requestedAt, Map.of(), Map.of(), 0, Optional.empty());
    }

    public GroupSnapshot next(Stage next, long newAttempt) {
        return new GroupSnapshot(next, newAttempt, requestedAt, holds, failovers, tries, failure);
    }

    public GroupSnapshot held(Map<String, String> byNode, Map<String, Integer> partFailovers, long newAttempt) {
        return new GroupSnapshot(Stage.SNAP, newAttempt, requestedAt, byNode, partFailovers, tries, Optional.empty());
    }

    public GroupSnapshot undoing(String why, long newAttempt) {
        return new GroupSnapshot(Stage.UNDO, newAttempt, requestedAt, Map.of(), Map.of(), tries, Optional.of(why));
    }

    public GroupSnapshot retried(long newAttempt) {
        return new GroupSnapshot(Stage.HOLD, newAttempt, requestedAt, Map.of(), Map.of(), tries + 1, Optional.empty());
    }

    /** Every member is told: READY ({@code why} empty) or FAILED. */
    public GroupSnapshot finishing(Optional<String> why, long newAttempt) {
        return new GroupSnapshot(Stage.FINISH, newAttempt, requestedAt, Map.of(), Map.of(), tries, why);
    }

    public boolean retries() {
        return tries + 1 < CreateSnapshot.TRIES;
    }

    public String stageName() {
        return stage.name().toLowerCase();
    }

    public Duration deadline() {
        return DEADLINE;
    }

    /** What every hold of the group is taken and released under, on every node. */
    public static String token(String groupId) {
        return "snapshot-group/" + groupId;
    }

    /** What a step came back with. */
    public sealed interface Result {}

    record Joined(Map<String, Integer> thinIds) implements Result {}

    record JoinRefused(DomainError error) implements Result {}

    record Held(Map<String, String> holds, Map<String, Integer> failovers) implements Result {}

    record Released(List<String> lapsed, long heldMillis, Optional<String> moved) implements Result {}

    record Refused(String reason) implements Result {}

    /** Members not there yet (a failover, a delete under way): looked at again shortly. */
    record Wait(String why) implements Result {}

    record Done() implements Result {}

    /** An event that moves the group on, or another look later. */
    public sealed interface Outcome {}

    public record Persist(SnapshotGroup.Event event) implements Outcome {}

    public record Again(Duration after, String waitingFor) implements Outcome {}

    /** The current stage's step: one round of asks of the members and their nodes. */
    public CompletionStage<Result> run(SnapshotGroup.State g, Peers peers, Members members) {
        String token = token(g.name());
        return switch (stage) {
            case JOIN -> each(g, v -> members.join(v, g.name(), g.name())).thenApply(replies -> joined(g, replies));
            case LEAVE -> each(g, v -> members.leave(v, g.name())).thenApply(GroupSnapshot::allOut);
            case HOLD -> parts(g, members).thenCompose(parts -> {
                Optional<String> notIn = notIn(parts);
                if (notIn.isPresent()) {
                    return CompletableFuture.completedFuture(new Wait(notIn.get()));
                }
                return IoHolds.hold(peers, token, stripes(parts)).thenApply(r -> r instanceof StepResult.Held h
                        ? new Held(h.holds(), failovers(parts)) : new Refused(((StepResult.Refused) r).reason()));
            });
            case SNAP -> parts(g, members).thenCompose(parts -> {
                Optional<String> moved = moved(parts);
                if (moved.isPresent()) {
                    return CompletableFuture.completedFuture(new Refused(moved.get()));
                }
                Map<String, List<ToAgent.ThinSnap>> byOwner = new LinkedHashMap<>();
                layouts(parts).forEach((v, p) -> CreateSnapshot.addThinSnaps(byOwner, v, p.spec(), p.placement(), p.thinId()));
                return CreateSnapshot.snap(peers, token, holds, byOwner).thenApply(r -> r instanceof StepResult.Refused x
                        ? new Refused(x.reason()) : new Done());
            });
            case RELEASE -> IoHolds.release(peers, token, holds).thenCompose(r -> parts(g, members).thenApply(parts ->
                    new Released(((StepResult.Released) r).lapsed(), ((StepResult.Released) r).heldMillis(), moved(parts))));
            case UNDO -> parts(g, members).thenCompose(parts -> {
                Optional<String> notIn = notIn(parts);
                if (notIn.isPresent()) {
                    return CompletableFuture.completedFuture(new Wait(notIn.get()));
                }
                Map<String, Volume.GroupPart> in = layouts(parts);
                return IoHolds.releaseAll(peers, token, stripes(parts).keySet()).thenCompose(released -> Stages.all(in.entrySet()
                        .stream().map(e -> CreateSnapshot.deleteThins(e.getKey(), e.getValue().spec(), e.getValue().placement(), peers,
                                e.getValue().thinId())).toList())).thenApply(done -> new Done());
            });
            case FINISH -> each(g, v -> members.end(v, g.name(), failure.isEmpty(), g.heldMillis(), failure.orElse("")))
                    .thenApply(GroupSnapshot::allOut);
            case DROP -> each(g, v -> members.dropSnapshot(v, g.snapshotId(v))).thenApply(results -> {
                List<String> left = new ArrayList<>();
                results.forEach((v, r) -> {
                    if (!(r.error().orElse(null) instanceof DomainError.NotFound)) {
                        left.add(r.snapshot().map(x -> x.id() + " " + x.state()).orElse(v + ": " + r.error().map(DomainError::detail).orElse("")));
                    }
                });
                return left.isEmpty() ? new Done() : new Wait("not deleted yet: " + String.join(", ", left));
            });
        };
    }

    /** What the step's result means for the group. */
    public Outcome onResult(SnapshotGroup.State g, Result r) {
        if (r instanceof Wait w) {
            return new Again(LOOK, w.why());
        }
        return new Persist(switch (stage) {
            case JOIN -> r instanceof Joined j ? new SnapshotGroup.MembersJoined(j.thinIds())
                    : new SnapshotGroup.JoinRefused(expect(r, JoinRefused.class).error());
            case LEAVE -> done(r, new SnapshotGroup.Refused());
            case HOLD -> r instanceof Held h ? new SnapshotGroup.StripesHeld(h.holds(), h.failovers())
                    : new SnapshotGroup.Undoing(expect(r, Refused.class).reason());
            case SNAP -> r instanceof Done ? new SnapshotGroup.ThinsSnapped() : new SnapshotGroup.Undoing(expect(r, Refused.class).reason());
            case RELEASE -> {
                Released released = expect(r, Released.class);
                yield !released.lapsed().isEmpty() ? new SnapshotGroup.Undoing("the hold of " + String.join(", ", released.lapsed())
                        + " lapsed before it was released: the snapshots may not be consistent")
                        : released.moved().isPresent() ? new SnapshotGroup.Undoing(released.moved().get())
                        : new SnapshotGroup.Taken(released.heldMillis());
            }
            case UNDO -> done(r, retries() ? new SnapshotGroup.Retried()
                    : new SnapshotGroup.Failed(failure.orElse("") + " (tried " + CreateSnapshot.TRIES + " times)"));
            case FINISH -> done(r, new SnapshotGroup.MembersTold());
            case DROP -> done(r, new SnapshotGroup.Deleted());
        });
    }

    private SnapshotGroup.Event done(Result r, SnapshotGroup.Event next) {
        expect(r, Done.class);
        return next;
    }

    private <T extends Result> T expect(Result r, Class<T> type) {
        if (!type.isInstance(r)) {
            throw new IllegalStateException("snapshot group at " + stageName() + " expects " + type.getSimpleName() + ", got " + r);
        }
        return type.cast(r);
    }

    /** Every member asked at once, the answers by member. */
    private static <T> CompletionStage<Map<String, T>> each(SnapshotGroup.State g, java.util.function.Function<String, CompletionStage<T>> ask) {
        List<String> vs = g.volumeIds();
        return Stages.all(vs.stream().map(ask).toList()).thenApply(answers -> {
            Map<String, T> out = new LinkedHashMap<>();
            for (int i = 0; i < vs.size(); i++) {
                out.put(vs.get(i), answers.get(i));
            }
            return out;
        });
    }

    private static Result joined(SnapshotGroup.State g, Map<String, Volume.GroupPartReply> replies) {
        Map<String, Integer> thinIds = new LinkedHashMap<>();
        for (var e : replies.entrySet()) {
            if (e.getValue().status() == Volume.PartStatus.REFUSED) {
                return new JoinRefused(e.getValue().refusal().orElseThrow());
            }
            if (e.getValue().status() == Volume.PartStatus.OUT) {
                throw new IllegalStateException("volume " + e.getKey() + " answered a join with no part");
            }
            // A part a failover paused has no layout now, but it has its snapshot.
            e.getValue().part().ifPresent(p -> thinIds.put(e.getKey(), p.thinId()));
        }
        if (thinIds.size() < replies.size()) {
            return new Wait("a member joined but is failing over");
        }
        return new Joined(thinIds);
    }

    private static Result allOut(Map<String, Volume.GroupPartReply> replies) {
        List<String> paused = replies.entrySet().stream().filter(e -> e.getValue().status() == Volume.PartStatus.PAUSED)
                .map(Map.Entry::getKey).toList();
        return paused.isEmpty() ? new Done() : new Wait("failing over: " + String.join(", ", paused));
    }

    private static CompletionStage<Map<String, Volume.GroupPartReply>> parts(SnapshotGroup.State g, Members members) {
        return each(g, v -> members.part(v, g.name()));
    }

    /** Why not every member runs its part now: one failing over, or one whose part is gone. */
    private static Optional<String> notIn(Map<String, Volume.GroupPartReply> parts) {
        for (var e : parts.entrySet()) {
            if (e.getValue().status() == Volume.PartStatus.PAUSED) {
                return Optional.of("volume " + e.getKey() + " is failing over");
            }
            if (e.getValue().status() != Volume.PartStatus.IN) {
                throw new IllegalStateException("volume " + e.getKey() + " has no part in the group (" + e.getValue().status() + ")");
            }
        }
        return Optional.empty();
    }

    /** A member failing over, or failed over since the hold: what was held or snapped is suspect. */
    private Optional<String> moved(Map<String, Volume.GroupPartReply> parts) {
        for (var e : parts.entrySet()) {
            Optional<Volume.GroupPart> p = e.getValue().part();
            if (p.isEmpty() || p.get().failovers() != failovers.getOrDefault(e.getKey(), -1)) {
                return Optional.of("a failover moved the controllers of volume " + e.getKey() + " while the group was snapshotted");
            }
        }
        return Optional.empty();
    }

    private static Map<String, Integer> failovers(Map<String, Volume.GroupPartReply> parts) {
        Map<String, Integer> out = new LinkedHashMap<>();
        parts.forEach((v, r) -> out.put(v, r.part().orElseThrow().failovers()));
        return out;
    }

    /** Every member's stripe on every active, by node: one hold per node covers all it serves. */
    private static Map<String, List<String>> stripes(Map<String, Volume.GroupPartReply> parts) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        layouts(parts).forEach((v, p) -> CreateSnapshot.addStripes(out, v, p.placement()));
        return out;
    }

    /** Each member's part, every one running (checked before). */
    private static Map<String, Volume.GroupPart> layouts(Map<String, Volume.GroupPartReply> parts) {
        Map<String, Volume.GroupPart> out = new LinkedHashMap<>();
        parts.forEach((v, r) -> out.put(v, r.part().orElseThrow()));
        return out;
    }
}
