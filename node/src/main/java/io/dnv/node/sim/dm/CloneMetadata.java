package io.dnv.node.sim.dm;

import io.dnv.node.sim.block.BlockDevice;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.BitSet;

/**
 * The simulator's dm-clone metadata (its own format, as for raid1 and thin): a 4 KiB header
 * (magic, region size, target size) followed by one bit per region, set once the region is
 * hydrated. A region's bit is on the metadata device before anything relies on the region
 * being hydrated, so a power cycle never reads a region from a half-copied destination.
 */
final class CloneMetadata {

    static final int HEADER_BYTES = 4096;
    private static final byte[] MAGIC = "DNVCLONE".getBytes(StandardCharsets.US_ASCII);

    private final BlockDevice device;
    final long regionSectors;
    final long targetSectors;
    final int regions;
    /** What is on the device; written one bitmap sector at a time. */
    private final BitSet persisted;

    private CloneMetadata(BlockDevice device, long regionSectors, long targetSectors, BitSet persisted) {
        this.device = device;
        this.regionSectors = regionSectors;
        this.targetSectors = targetSectors;
        this.regions = regions(targetSectors, regionSectors);
        this.persisted = persisted;
    }

    static int regions(long targetSectors, long regionSectors) {
        return (int) ((targetSectors + regionSectors - 1) / regionSectors);
    }

    static long bytesNeeded(int regions) {
        return HEADER_BYTES + ((regions + 7L) / 8 + BlockDevice.SECTOR - 1) / BlockDevice.SECTOR * BlockDevice.SECTOR;
    }

    /**
     * dm_clone_metadata_open's checks, without writing: a blank header (all zero) is a new clone,
     * anything else must be a clone of this region and target size.
     */
    static void check(BlockDevice device, long regionSectors, long targetSectors) throws IOException, TableError {
        if (device.sizeSectors() * BlockDevice.SECTOR < bytesNeeded(regions(targetSectors, regionSectors))) {
            throw TableError.target("clone", "Failed to load metadata (metadata device too small)");
        }
        Header h = header(device);
        if (h != null && (h.regionSectors != regionSectors || h.targetSectors != targetSectors)) {
            throw TableError.target("clone", "Failed to load metadata (Region and/or target size don't match the ones in metadata)");
        }
    }

    /** Opens the metadata, formatting a blank device. */
    static CloneMetadata open(BlockDevice device, long regionSectors, long targetSectors) throws IOException, TableError {
        check(device, regionSectors, targetSectors);
        int regions = regions(targetSectors, regionSectors);
        if (header(device) == null) {
            ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES);
            b.put(MAGIC).putLong(regionSectors).putLong(targetSectors);
            device.writeZeroes(HEADER_BYTES, bytesNeeded(regions) - HEADER_BYTES);
            device.write(0, b.array());
            return new CloneMetadata(device, regionSectors, targetSectors, new BitSet());
        }
        byte[] bitmap = new byte[(int) (bytesNeeded(regions) - HEADER_BYTES)];
        device.read(HEADER_BYTES, bitmap);
        BitSet hydrated = BitSet.valueOf(bitmap);
        hydrated.clear(regions, Math.max(regions, hydrated.length()));
        return new CloneMetadata(device, regionSectors, targetSectors, hydrated);
    }

    /** The regions hydrated as the device records them. */
    synchronized BitSet hydrated() {
        return (BitSet) persisted.clone();
    }

    /** Records region {@code r} as hydrated; returns once it is on the metadata device. */
    synchronized void markHydrated(int r) throws IOException {
        persisted.set(r);
        int bitsPerSector = BlockDevice.SECTOR * 8;
        int from = r / bitsPerSector * BlockDevice.SECTOR;
        byte[] all = Arrays.copyOf(persisted.toByteArray(), from + BlockDevice.SECTOR);
        device.write(HEADER_BYTES + from, Arrays.copyOfRange(all, from, from + BlockDevice.SECTOR));
    }

    /** Metadata blocks of 4 KiB on the device, and those this format uses: for the status line. */
    long totalBlocks() {
        return device.sizeSectors() * BlockDevice.SECTOR / 4096;
    }

    long usedBlocks() {
        return (bytesNeeded(regions) + 4095) / 4096;
    }

    private record Header(long regionSectors, long targetSectors) {}

    private static Header header(BlockDevice device) throws IOException, TableError {
        ByteBuffer b = MetadataHeader.read(device, HEADER_BYTES, MAGIC, "clone",
                "Failed to load metadata (Superblock check failed: no clone metadata on a non-zero device)");
        return b == null ? null : new Header(b.getLong(), b.getLong());
    }
}
