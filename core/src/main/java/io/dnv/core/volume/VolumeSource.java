package io.dnv.core.volume;

import io.dnv.core.CborSerializable;

import java.util.Optional;

/**
 * What a new volume is a clone of (docs/clone.md): snapshot {@code snapshotId} of volume
 * {@code volumeId}, or, with no snapshot named, the volume itself, snapshotted first (that
 * snapshot, named {@link #snapshotName}, is the clone's and goes once the clone is hydrated).
 */
public record VolumeSource(String volumeId, Optional<String> snapshotId) implements CborSerializable {

    public VolumeSource {
        snapshotId = snapshotId == null ? Optional.empty() : snapshotId;
    }

    public static VolumeSource ofSnapshot(String snapshotId) {
        return new VolumeSource(Snapshot.volumeOf(snapshotId).orElseThrow(() -> new IllegalArgumentException("no snapshot id: "
                + snapshotId)), Optional.of(snapshotId));
    }

    public static VolumeSource ofVolume(String volumeId) {
        return new VolumeSource(volumeId, Optional.empty());
    }

    /** The name of the snapshot a clone of a volume takes of it. */
    public static String snapshotName(String cloneId) {
        return "clone.of." + cloneId;
    }
}
