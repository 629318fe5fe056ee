package io.dnv.core.volume;

import io.dnv.core.CborSerializable;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * A volume's snapshots, in the order they were taken, the last thin id handed out, and who
 * imports which snapshot (a clone's source, exported while it hydrates). Folded
 * on its own ({@link #after}): every event of the volume passes through this fold and through
 * the volume's, so the volume's handlers never carry the catalog along.
 */
public record Snapshots(List<Snapshot> items, int lastThinId, List<SnapshotImport> imports) implements CborSerializable {

    public static final Snapshots NONE = new Snapshots(List.of(), Snapshot.ORIGIN_THIN_ID);

    public Snapshots {
        items = items == null ? List.of() : List.copyOf(items);
        // Journals from before exports were recorded have none.
        imports = imports == null ? List.of() : List.copyOf(imports);
    }

    public Snapshots(List<Snapshot> items, int lastThinId) {
        this(items, lastThinId, List.of());
    }

    /** Who imports snapshot {@code snapshotId}. */
    public List<SnapshotImport> importsOf(String snapshotId) {
        return imports.stream().filter(i -> i.snapshotId().equals(snapshotId)).toList();
    }

    /** Every node that imports one of the snapshots. */
    public List<String> importers() {
        return imports.stream().map(SnapshotImport::nodeId).distinct().sorted().toList();
    }

    public Optional<Snapshot> get(String id) {
        return items.stream().filter(s -> s.id().equals(id)).findFirst();
    }

    public Optional<Snapshot> named(String name) {
        return items.stream().filter(s -> s.name().equals(name)).findFirst();
    }

    public int nextThinId() {
        return lastThinId + 1;
    }

    /** The catalog after {@code e}: a new volume (or none) has no snapshots; snapshot events move one. */
    Snapshots after(Volume.Event e) {
        if (e instanceof Volume.CreateRequested || e instanceof Volume.Deleted) {
            return NONE;
        }
        if (e instanceof Volume.SnapshotRequested r) {
            List<Snapshot> more = new ArrayList<>(items);
            more.add(new Snapshot(r.snapshotId(), r.name(), r.thinId(), Snapshot.Status.CREATING, r.at(), r.sizeBytes(),
                    Optional.empty(), 0));
            return new Snapshots(more, Math.max(lastThinId, r.thinId()), imports);
        }
        if (e instanceof Volume.GroupSnapshotJoined j) {
            return after(new Volume.SnapshotRequested(j.snapshotId(), j.name(), j.thinId(), j.sizeBytes(), j.at()));
        }
        if (e instanceof Volume.GroupSnapshotLeft l) {
            return after(new Volume.SnapshotDeleted(l.snapshotId()));
        }
        if (e instanceof Volume.SnapshotTaken t) {
            return changed(t.snapshotId(), s -> s.with(Snapshot.Status.READY, Optional.empty(), t.heldMillis()));
        }
        if (e instanceof Volume.SnapshotFailed f) {
            return changed(f.snapshotId(), s -> s.with(Snapshot.Status.FAILED, Optional.of(f.reason()), 0));
        }
        if (e instanceof Volume.SnapshotDeleteRequested d) {
            return changed(d.snapshotId(), s -> s.with(Snapshot.Status.DELETING, s.error(), s.heldMillis()));
        }
        if (e instanceof Volume.SnapshotDeleted d) {
            return new Snapshots(items.stream().filter(s -> !s.id().equals(d.snapshotId())).toList(), lastThinId, imports);
        }
        if (e instanceof Volume.SnapshotImported i) {
            List<SnapshotImport> more = new ArrayList<>(imports);
            more.add(i.imported());
            return new Snapshots(items, lastThinId, more);
        }
        if (e instanceof Volume.SnapshotImportReleased r) {
            return new Snapshots(items, lastThinId, imports.stream()
                    .filter(i -> !(i.snapshotId().equals(r.snapshotId()) && i.volumeId().equals(r.volumeId()))).toList());
        }
        return this;
    }

    private Snapshots changed(String id, UnaryOperator<Snapshot> change) {
        return new Snapshots(items.stream().map(s -> s.id().equals(id) ? change.apply(s) : s).toList(), lastThinId, imports);
    }
}
