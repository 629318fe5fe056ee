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
                           long raidDataSectors, long ldSectors) {

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
        long leg = legSectors(usable, spec.legCount());
        long data = roundUp(ceilDiv(leg * (100 + snapshotReservePercent), 100), THIN_BLOCK_SECTORS);
        long dataBlocks = data / THIN_BLOCK_SECTORS;
        long meta = thinMetaFor(dataBlocks);
        long raidData = meta + data;
        return new VolumeLayout(usable, leg, data, meta, raidData, RAID_META_SECTORS + raidData);
    }

    /** One leg of a stripe of {@code usableBytes} over {@code legCount} legs (a snapshot's legs are its size's). */
    public static long legSectors(long usableBytes, int legCount) {
        return usableBytes / SECTOR / legCount;
    }

    /** Stripe (and volume) size: every active controller stripes over all A·L legs. */
    public long stripeSectors() {
        return usableBytes / SECTOR;
    }

    /**
     * These legs under the stripe (the size hosts see) of {@code visible}: an extend grows every
     * leg first, and the stripes only once every leg they map is there.
     */
    public VolumeLayout withStripeOf(VolumeLayout visible) {
        return new VolumeLayout(visible.usableBytes, legSectors, poolDataSectors, thinMetaSectors, raidDataSectors, ldSectors);
    }

    /** The first raid1 group of every leg: what a create places. */
    public GroupSize firstGroup() {
        return new GroupSize(thinMetaSectors, poolDataSectors);
    }

    /**
     * The raid1 group an extend from {@code from} to {@code to} adds to every leg: thin data for
     * the leg's growth plus its snapshot reserve, in whole blocks, and thin metadata for those
     * blocks. Added to what the pool had, that is at least what a create of the larger size gets.
     */
    public static GroupSize growth(VolumeLayout from, VolumeLayout to, int snapshotReservePercent) {
        if (to.legSectors <= from.legSectors) {
            throw new IllegalArgumentException("an extend must grow the leg: " + from.legSectors + " to " + to.legSectors);
        }
        long data = roundUp(ceilDiv((to.legSectors - from.legSectors) * (100 + snapshotReservePercent), 100), THIN_BLOCK_SECTORS);
        return new GroupSize(thinMetaFor(data / THIN_BLOCK_SECTORS), data);
    }

    /**
     * The raid1 group a pool's growth adds to every leg: another snapshot reserve's worth of thin
     * data ({@code snapshotReservePercent} of the leg, at least one block) and metadata for it.
     */
    public GroupSize reserveGroup(int snapshotReservePercent) {
        long data = Math.max(THIN_BLOCK_SECTORS, roundUp(ceilDiv(legSectors * snapshotReservePercent, 100), THIN_BLOCK_SECTORS));
        return new GroupSize(thinMetaFor(data / THIN_BLOCK_SECTORS), data);
    }

    public static GroupSize growth(VolumeLayout from, VolumeLayout to) {
        return growth(from, to, DEFAULT_SNAPSHOT_RESERVE_PERCENT);
    }

    /** One raid1 group's share of the pool: its thin-metadata slice, then its thin-data slice. */
    public record GroupSize(long thinMetaSectors, long thinDataSectors) {
        public long raidDataSectors() {
            return thinMetaSectors + thinDataSectors;
        }

        public long ldSectors() {
            return RAID_META_SECTORS + raidDataSectors();
        }
    }

    private static long thinMetaFor(long dataBlocks) {
        return Math.min(MAX_THIN_META_SECTORS,
                Math.max(MIN_THIN_META_SECTORS, roundUp(ceilDiv(dataBlocks * THIN_META_BYTES_PER_BLOCK, SECTOR), 2048)));
    }

    static long roundUp(long v, long unit) {
        return ceilDiv(v, unit) * unit;
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
