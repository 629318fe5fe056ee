package io.dnv.core.plan;

import io.dnv.core.CborSerializable;

import java.util.List;

/**
 * A snapshot of the volume exported to other nodes (a clone's source): every leg's thin
 * {@code thinId} activated beside its pool on the leg's owner, exported under
 * {@link io.dnv.core.kernel.Names#snapshotLegNqn} and imported by each of {@code importers}, which
 * find it as a namespace and stripe the legs the volume's way.
 *
 * @param legSectors one leg as the snapshot holds it: the leg's size when it was taken (a later
 *                   extend grows the origin, not the snapshot)
 */
public record SnapshotExport(int thinId, long legSectors, List<String> importers) implements CborSerializable {

    public SnapshotExport {
        importers = List.copyOf(importers);
        if (thinId < 1 || legSectors <= 0 || importers.isEmpty()) {
            throw new IllegalArgumentException("a snapshot export needs a snapshot's thin id, its leg size and an importer: "
                    + thinId + ", " + legSectors + ", " + importers);
        }
    }
}
