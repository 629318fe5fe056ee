package io.dnv.core.plan;

import io.dnv.core.CborSerializable;
import io.dnv.core.kernel.Names;
import io.dnv.core.volume.VolumeLayout;

/**
 * What a clone hydrates from, while it does (docs/clone.md): snapshot {@code thinId} of volume
 * {@code volumeId}, exported by every leg's owner there ({@link SnapshotExport}) and imported by
 * the clone's first active, which stripes its {@code legCount} legs of {@code legSectors} the
 * source volume's way and builds its own volume device over a dm-clone of them.
 */
public record CloneSource(String volumeId, int thinId, int legCount, long legSectors) implements CborSerializable {

    /**
     * dm-clone's region (64 KiB): the unit copied, in the background and before a write to a region
     * not yet copied; a power of two of 8 to 2097152 sectors (the kernel's rule), four stripe chunks.
     */
    public static final long REGION_SECTORS = 4L * VolumeLayout.STRIPE_CHUNK_SECTORS;
    /** The clone metadata's floor: its superblock, space maps and bitset's btree need a few blocks whatever the size. */
    static final long MIN_METADATA_SECTORS = 8192;

    public CloneSource {
        if (!Names.isVolumeId(volumeId) || thinId < 1 || legCount < 1 || legSectors <= 0) {
            throw new IllegalArgumentException("a clone's source needs a volume, a snapshot's thin id and its legs: " + volumeId + ", "
                    + thinId + ", " + legCount + " x " + legSectors);
        }
    }

    /** The source volume as the snapshot holds it: every leg striped. */
    public long sectors() {
        return legCount * legSectors;
    }

    public long regions() {
        return (sectors() + REGION_SECTORS - 1) / REGION_SECTORS;
    }

    /**
     * The clone's metadata device: dm-clone keeps one bit per region in a persistent-data bitset;
     * 4 bits of room per region, at least the floor, in whole MiB.
     */
    public long metadataSectors() {
        long bytes = Math.max(MIN_METADATA_SECTORS * VolumeLayout.SECTOR, regions() / 2);
        long mib = 1L << 20;
        return (bytes + mib - 1) / mib * mib / VolumeLayout.SECTOR;
    }
}
