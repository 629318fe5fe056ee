package io.dnv.core.volume;

import io.dnv.core.CborSerializable;

/**
 * Snapshot {@code snapshotId} of this volume imported by node {@code nodeId} for volume
 * {@code volumeId} (a clone hydrating from it): while it is recorded, every leg's owner exports
 * the snapshot's thin and the node connects it, and neither the snapshot nor the volume can be
 * deleted.
 */
public record SnapshotImport(String snapshotId, String volumeId, String nodeId) implements CborSerializable {}
