package io.dnv.core.volume;

/**
 * The sizes every layer of a volume gets, in 512-byte sectors, from its spec. One leg is one
 * thin device in its own thin-pool; the pool's data and metadata live on raid1 groups of LDs.
 *
 * @param usableBytes      the size the host sees: the request rounded up to a multiple of A·L·16 KiB
 * @param legSectors       one leg's thin device
 * @param poolDataSectors  the first group's thin data: the leg plus the snapshot reserve, in whole thin blocks
 * @param thinMetaSectors  the first group's thin metadata: ~48 bytes per data block, at least 2 MiB
 * @param raidDataSectors  the raid1 of a group: thin metadata slice followed by the thin data slice
 * @param ldSectors        one logical disk: 1 MiB of raid1 metadata, then the raid1 data
 */
public record VolumeLayout(long usableBytes, long legSectors, long poolDataSectors, long thinMetaSectors,
                           long raidDataSectors, long ldSectors, long lowWaterBlocks) {

    public static final int SECTOR = 512;
    /** raid0 chunk: 16 KiB. */
    public static final int STRIPE_CHUNK_SECTORS = 32;
    /** Thin block: 1 MiB. */
    public static final long THIN_BLOCK_SECTORS = 2048;
    /**
     * raid1 metadata area at the head of every LD: superblock + bitmap always fit in 1 MiB, as
     * the kernel's region is at least len/2^21, so the bitmap has at most 2^21 bits (256 KiB).
     */
    public static final long RAID_META_SECTORS = 2048;
    static final long MIN_THIN_META_SECTORS = 4096;
    static final long MAX_THIN_META_SECTORS = 16L * 1024 * 1024 * 1024 / SECTOR;
    static final long THIN_META_BYTES_PER_BLOCK = 48;
    public static final int DEFAULT_SNAPSHOT_RESERVE_PERCENT = 20;

    public static VolumeLayout of(VolumeSpec spec) {
        return of(spec, DEFAULT_SNAPSHOT_RESERVE_PERCENT);
    }

    public static VolumeLayout of(VolumeSpec spec, int snapshotReservePercent) {
        if (snapshotReservePercent < 0 || snapshotReservePercent > 1000) {
            throw new IllegalArgumentException("snapshot reserve must be 0..1000 %");
        }
        long stripeUnit = (long) spec.legCount() * STRIPE_CHUNK_SECTORS * SECTOR;
        long usable = roundUp(spec.sizeBytes(), stripeUnit);
        long leg = usable / SECTOR / spec.legCount();
        long data = roundUp(ceilDiv(leg * (100 + snapshotReservePercent), 100), THIN_BLOCK_SECTORS);
        long dataBlocks = data / THIN_BLOCK_SECTORS;
        long meta = Math.min(MAX_THIN_META_SECTORS,
                Math.max(MIN_THIN_META_SECTORS, roundUp(ceilDiv(dataBlocks * THIN_META_BYTES_PER_BLOCK, SECTOR), 2048)));
        long raidData = meta + data;
        return new VolumeLayout(usable, leg, data, meta, raidData, RAID_META_SECTORS + raidData, Math.max(1, dataBlocks / 10));
    }

    /** Stripe (and volume) size: every active controller stripes over all A·L legs. */
    public long stripeSectors() {
        return usableBytes / SECTOR;
    }

    static long roundUp(long v, long unit) {
        return ceilDiv(v, unit) * unit;
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
