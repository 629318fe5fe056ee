package io.dnv.core.volume.operation;

import io.dnv.core.DomainError;
import io.dnv.core.volume.Clone;
import io.dnv.core.volume.SnapshotView;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeSource;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Predicate;

/**
 * A clone's asks of its source volume (docs/clone.md), shared by the create, the finish and the
 * delete: take the snapshot (a volume source), have it exported to the first active, let both
 * go. The source answers each by name or id, so a stage asked again after a crash asks the same.
 * A source busy with another operation is asked again (Deferred); one that refuses for good
 * (no such snapshot, a FAILED one) ends the clone's create.
 */
final class CloneSteps {

    private CloneSteps() {}

    static Clone clone(Volume.State s) {
        return s.cloneOf().orElseThrow(() -> new IllegalStateException(s.name() + " is no clone"));
    }

    /** The snapshot the clone hydrates from, once READY: a snapshot source's, or the one the source volume takes for it. */
    static CompletionStage<StepResult> source(Volume.State s, Peers peers) {
        Clone c = clone(s);
        String volume = c.source().volumeId();
        CompletionStage<Volume.SnapshotResult> asked = c.snapshotId().isPresent()
                ? find(peers, volume, x -> x.id().equals(c.snapshotId().get())).thenApply(found -> found
                        .map(x -> new Volume.SnapshotResult(Optional.of(x), Optional.empty()))
                        .orElseGet(() -> new Volume.SnapshotResult(Optional.empty(), Optional.of(new DomainError.NotFound("no snapshot " + c.snapshotId().get())))))
                : peers.takeSnapshot(volume, VolumeSource.snapshotName(s.name()));
        return asked.thenApply(r -> {
            if (r.error().isPresent()) {
                return refusal(r.error().get(), "source " + c.source().snapshotId().orElse(volume));
            }
            SnapshotView v = r.snapshot().orElseThrow();
            return switch (v.state()) {
                case "READY" -> new StepResult.Sourced(v.id());
                case "CREATING" -> new StepResult.Deferred("the source's snapshot " + v.id() + " is being taken");
                default -> new StepResult.Refused("the source's snapshot " + v.id() + " is " + v.state()
                        + v.error().map(x -> ": " + x).orElse(""));
            };
        });
    }

    /** The source exports the snapshot to the clone's first active; Imported once that node's agent has it. */
    static CompletionStage<StepResult> importSource(Volume.State s, Peers peers) {
        Clone c = clone(s);
        String firstActive = s.placement().orElseThrow().controllers().get(0).nodeId();
        String snapshot = c.snapshotId().orElseThrow();
        return peers.exportSnapshot(c.source().volumeId(), snapshot, s.name(), firstActive).thenApply(r -> {
            if (r.error().isPresent()) {
                return refusal(r.error().get(), "exporting " + snapshot + " to " + firstActive);
            }
            return r.settled() ? new StepResult.Imported(r.export().orElseThrow())
                    : new StepResult.Deferred(c.source().volumeId() + " is exporting " + snapshot + " to " + firstActive);
        });
    }

    /**
     * Nothing of the source held any more: its export to the clone released, and the snapshot
     * it took for the clone deleted (found by its name if the clone never heard its id). Deferred
     * while the source takes the export off its kernels; fails (and is tried again) while the
     * source is busy otherwise.
     */
    static CompletionStage<StepResult> releaseSource(Volume.State s, Peers peers) {
        Clone c = clone(s);
        String volume = c.source().volumeId();
        CompletionStage<Optional<String>> snapshot = c.snapshotId().isPresent() || !c.ownSnapshot()
                ? CompletableFuture.completedFuture(c.snapshotId())
                : find(peers, volume, x -> x.name().equals(VolumeSource.snapshotName(s.name()))).thenApply(x -> x.map(SnapshotView::id));
        return snapshot.thenCompose(id -> {
            if (id.isEmpty()) {
                return CompletableFuture.completedFuture(new StepResult.Done());
            }
            return peers.releaseSnapshotExport(volume, id.get(), s.name()).thenCompose(released -> {
                released.error().ifPresent(e -> {
                    throw new IllegalStateException("releasing the export of " + id.get() + ": " + e.detail());
                });
                if (!released.settled()) {
                    // Asked again until the source has the export off its kernels: a clone let go
                    // leaves its source free (the snapshot deletable at once).
                    return CompletableFuture.completedFuture(new StepResult.Deferred(volume + " is taking its export of " + id.get()
                            + " off the kernels"));
                }
                if (!c.ownSnapshot()) {
                    return CompletableFuture.completedFuture(new StepResult.Done());
                }
                return peers.dropSnapshot(volume, id.get()).thenApply(dropped -> {
                    dropped.error().filter(e -> !(e instanceof DomainError.NotFound)).ifPresent(e -> {
                        throw new IllegalStateException("deleting " + id.get() + ": " + e.detail());
                    });
                    return new StepResult.Done();
                });
            });
        });
    }

    private static CompletionStage<Optional<SnapshotView>> find(Peers peers, String volumeId, Predicate<SnapshotView> which) {
        return peers.snapshots(volumeId).thenApply(l -> l.snapshots().stream().filter(which).findFirst());
    }

    /** A conflict naming an operation under way: asked again; anything else: the clone cannot be made. */
    private static StepResult refusal(DomainError e, String what) {
        return e instanceof DomainError.Conflict busy && busy.operation().isPresent()
                ? new StepResult.Deferred(what + ": " + busy.detail())
                : new StepResult.Refused(what + ": " + e.detail());
    }
}
