package io.dnv.node.sim.dm;

import io.dnv.node.sim.block.BlockDevice;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.BitSet;

/**
 * The simulator's raid1 member metadata at the start of the side's meta device: a 4 KiB header
 * (magic, array and region size, member index, events counter, failed members) followed by the
 * write-intent bitmap, one bit per region. A dirty bit means "the sides may differ here": set
 * before a region is written, cleared only when every side is in sync and idle.
 */
final class Raid1Superblock {

    static final int HEADER_BYTES = 4096;
    private static final byte[] MAGIC = "DNVRAID1".getBytes(StandardCharsets.US_ASCII);
    private static final int MAX_MEMBERS = 253;

    final long arraySectors;
    final long regionSectors;
    final int member;
    final int members;
    long events;
    final boolean[] failed;
    final BitSet dirty;

    Raid1Superblock(long arraySectors, long regionSectors, int member, int members, long events,
                    boolean[] failed, BitSet dirty) {
        this.arraySectors = arraySectors;
        this.regionSectors = regionSectors;
        this.member = member;
        this.members = members;
        this.events = events;
        this.failed = failed.clone();
        this.dirty = (BitSet) dirty.clone();
    }

    static int regions(long arraySectors, long regionSectors) {
        return (int) ((arraySectors + regionSectors - 1) / regionSectors);
    }

    static long bytesNeeded(int regions) {
        return HEADER_BYTES + bitmapBytes(regions);
    }

    private static int bitmapBytes(int regions) {
        int bytes = (regions + 7) / 8;
        return (bytes + BlockDevice.SECTOR - 1) / BlockDevice.SECTOR * BlockDevice.SECTOR;
    }

    /** Null when the header is all zero: a brand-new member. The bitmap is as long as the header's sizes make it. */
    static Raid1Superblock read(BlockDevice meta) throws IOException, TableError {
        ByteBuffer b = MetadataHeader.read(meta, HEADER_BYTES, MAGIC, "raid",
                "Failed to load superblocks (no raid1 superblock on a non-zero metadata device)");
        if (b == null) {
            return null;
        }
        int member = b.getInt();
        int members = b.getInt();
        long region = b.getLong();
        long array = b.getLong();
        long events = b.getLong();
        if (region <= 0 || array <= 0 || members <= 0 || members > MAX_MEMBERS) {
            throw TableError.target("raid", "Failed to load superblocks (a raid1 superblock with impossible sizes)");
        }
        boolean[] failed = new boolean[members];
        for (int i = 0; i < members && i < MAX_MEMBERS; i++) {
            failed[i] = b.get() != 0;
        }
        byte[] bitmap = new byte[bitmapBytes(regions(array, region))];
        meta.read(HEADER_BYTES, bitmap);
        return new Raid1Superblock(array, region, member, members, events, failed, BitSet.valueOf(bitmap));
    }

    void write(BlockDevice meta) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES);
        b.put(MAGIC).putInt(member).putInt(members).putLong(regionSectors).putLong(arraySectors).putLong(events);
        for (boolean f : failed) {
            b.put((byte) (f ? 1 : 0));
        }
        meta.write(0, b.array());
        meta.write(HEADER_BYTES, bitmap(0, bitmapBytes(regions(arraySectors, regionSectors))));
    }

    /** Persists only the bitmap sectors holding regions [from, to]: the per-write cost stays one sector. */
    void writeBitmap(BlockDevice meta, int fromRegion, int toRegion) throws IOException {
        int bitsPerSector = BlockDevice.SECTOR * 8;
        int first = fromRegion / bitsPerSector * BlockDevice.SECTOR;
        int last = toRegion / bitsPerSector * BlockDevice.SECTOR;
        meta.write(HEADER_BYTES + first, bitmap(first, last - first + BlockDevice.SECTOR));
    }

    private byte[] bitmap(int fromByte, int length) {
        byte[] all = Arrays.copyOf(dirty.toByteArray(), fromByte + length);
        return Arrays.copyOfRange(all, fromByte, fromByte + length);
    }
}
