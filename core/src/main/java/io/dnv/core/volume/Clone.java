package io.dnv.core.volume;

import io.dnv.core.CborSerializable;
import io.dnv.core.plan.CloneSource;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * A volume created as a clone, and how far it is (docs/clone.md): its source, the snapshot it
 * hydrates from once known, the snapshot's legs as exported to its first active, and the
 * hydration's progress. Folded on its own ({@link #after}), like the snapshot catalog.
 *
 * <ul>
 *   <li>SOURCING — being created: the source snapshotted (a volume source) and its snapshot
 *       exported to the first active;</li>
 *   <li>HYDRATING — READY, reading and writing through dm-clone while it copies the source;</li>
 *   <li>HYDRATED — every region copied: the clone swapped for the plain stripe, the source let go;</li>
 *   <li>DONE — a volume like any other; {@code source} says where it came from.</li>
 * </ul>
 *
 * @param ownSnapshot the snapshot was taken for the clone (a volume source): deleted with the export
 * @param released    the source's export (and own snapshot) are released: nothing of the source is held
 */
public record Clone(VolumeSource source, Optional<String> snapshotId, boolean ownSnapshot,
                    Optional<Volume.ExportedSnapshot> exported, Status status, Progress progress, boolean released)
        implements CborSerializable {

    public enum Status { SOURCING, HYDRATING, HYDRATED, DONE }

    /**
     * Regions hydrated of all, as the first active's dm-clone last said, when, and how fast since
     * the one before ({@code bytesPerSecond}); zeroes before the first look.
     */
    public record Progress(long hydratedRegions, long totalRegions, long bytesPerSecond, Optional<Instant> at)
            implements CborSerializable {

        public static final Progress NONE = new Progress(0, 0, 0, Optional.empty());

        public Progress {
            at = at == null ? Optional.empty() : at;
        }

        public int percent() {
            return totalRegions == 0 ? 0 : (int) (hydratedRegions * 100 / totalRegions);
        }

        public boolean complete() {
            return totalRegions > 0 && hydratedRegions == totalRegions;
        }

        /** The next look: its rate from the regions copied since this one. */
        public Progress next(long hydrated, long total, Instant now) {
            long rate = at.filter(then -> now.isAfter(then) && hydrated >= hydratedRegions)
                    .map(then -> (hydrated - hydratedRegions) * CloneSource.REGION_SECTORS * VolumeLayout.SECTOR * 1000
                            / Math.max(1, Duration.between(then, now).toMillis()))
                    .orElse(0L);
            return new Progress(hydrated, total, rate, Optional.of(now));
        }
    }

    public Clone {
        snapshotId = snapshotId == null ? Optional.empty() : snapshotId;
        exported = exported == null ? Optional.empty() : exported;
        progress = progress == null ? Progress.NONE : progress;
    }

    static Clone start(VolumeSource source) {
        return new Clone(source, source.snapshotId(), source.snapshotId().isEmpty(), Optional.empty(), Status.SOURCING,
                Progress.NONE, false);
    }

    /** While it hydrates, what the planner builds the first active over. */
    public Optional<CloneSource> hydratingFrom() {
        return status == Status.SOURCING || status == Status.HYDRATING ? imported() : Optional.empty();
    }

    private Optional<CloneSource> imported() {
        return exported.map(e -> new CloneSource(source.volumeId(), e.thinId(), e.legCount(), e.legSectors()));
    }

    /**
     * The sectors of dm-clone's metadata thin in the first leg's pool (CloneSource), from the
     * import until the clone lets its source go: the finish drops the thin before it releases,
     * and a failed create or a delete removes it with the clone's objects first.
     */
    public long metadataSectors() {
        return released || status == Status.DONE ? 0 : imported().map(CloneSource::metadataSectors).orElse(0L);
    }

    /** The clone after {@code e}: a new volume is one if asked with a source; its clone events move it on. */
    static Optional<Clone> after(Optional<Clone> now, Volume.Event e) {
        if (e instanceof Volume.CreateRequested r) {
            return r.source().map(Clone::start);
        }
        if (e instanceof Volume.Deleted) {
            return Optional.empty();
        }
        return now.map(c -> c.after(e));
    }

    private Clone after(Volume.Event e) {
        if (e instanceof Volume.CloneSourceSnapshotted t) {
            return new Clone(source, Optional.of(t.snapshotId()), ownSnapshot, exported, status, progress, released);
        }
        if (e instanceof Volume.CloneSourceImported i) {
            return new Clone(source, snapshotId, ownSnapshot, Optional.of(i.exported()), status, progress, released);
        }
        if (e instanceof Volume.BecameReady && status == Status.SOURCING) {
            return new Clone(source, snapshotId, ownSnapshot, exported, Status.HYDRATING, progress, released);
        }
        if (e instanceof Volume.HydrationProgressed p) {
            return new Clone(source, snapshotId, ownSnapshot, exported, status, p.progress(), released);
        }
        if (e instanceof Volume.CloneHydrated h) {
            return new Clone(source, snapshotId, ownSnapshot, exported, Status.HYDRATED, h.progress(), released);
        }
        if (e instanceof Volume.CloneSourceReleased || e instanceof Volume.CreateFailed) {
            // A create of a clone fails only once it let its source go (CreateVolume's UNSOURCE).
            return new Clone(source, snapshotId, ownSnapshot, exported, status == Status.HYDRATED ? Status.DONE : status, progress,
                    true);
        }
        return this;
    }
}
