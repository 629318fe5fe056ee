package io.dnv.node.sim.dm;

import io.dnv.node.sim.block.BlockDevice;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * The simulator's thin-pool metadata, in 4 KiB blocks on the metadata device: block 0 is the
 * superblock, the rest two equal log areas. Every change is one appended record (create, snap,
 * delete, map); the superblock's record count is the commit point, written after the record, so
 * a change is durable when {@link #append} returns and a power cut before that loses only it.
 * A full area is compacted into the other one (the live state as records), then the superblock
 * flips to it. Not thread-safe: the pool calls it under its lock.
 */
final class ThinPoolMetadata {

    static final int BLOCK_BYTES = 4096;
    private static final int RECORD_BYTES = 32;
    private static final int RECORDS_PER_BLOCK = BLOCK_BYTES / RECORD_BYTES;
    private static final byte[] MAGIC = "DNVTHIN1".getBytes(StandardCharsets.US_ASCII);
    private static final int CREATE = 1;
    private static final int SNAP = 2;
    private static final int DELETE = 3;
    private static final int MAP = 4;

    /** What a load needs to know before it commits to a pool: the stored block size and data size. */
    record Header(long blockSectors, long dataBlocks) {}

    /** Metadata space ran out even after compaction (Linux: the pool drops to read-only). */
    static final class Full extends IOException {
        Full(String message) {
            super(message);
        }
    }

    private final BlockDevice device;
    private final int areaBlocks;
    private final long blockSectors;
    private long dataBlocks;
    private int activeArea;
    private int records;
    private byte[] tail = new byte[BLOCK_BYTES];
    private final TreeMap<Long, TreeMap<Long, Long>> thins = new TreeMap<>();
    private int[] refcount;

    private ThinPoolMetadata(BlockDevice device, long blockSectors, long dataBlocks) {
        this.device = device;
        this.areaBlocks = areaBlocks(device.sizeSectors());
        this.blockSectors = blockSectors;
        this.dataBlocks = dataBlocks;
        this.refcount = new int[(int) dataBlocks];
    }

    private static int areaBlocks(long metadataSectors) {
        return (int) ((metadataSectors * BlockDevice.SECTOR / BLOCK_BYTES - 1) / 2);
    }

    /** Records one area holds: the most mappings plus thin devices the pool can ever describe. */
    static long capacity(long metadataSectors) {
        return Math.max(0, (long) areaBlocks(metadataSectors) * RECORDS_PER_BLOCK);
    }

    /** Null when the first 4 KiB are zero: Linux formats such a device as a new pool. */
    static Header peek(BlockDevice device) throws IOException, TableError {
        ByteBuffer b = MetadataHeader.read(device, BLOCK_BYTES, MAGIC, "thin-pool",
                "Error creating metadata object (superblock validation failed: bad magic)");
        return b == null ? null : new Header(b.getLong(), b.getLong());
    }

    /** Formats a zeroed device or replays an existing one; the caller checked {@link #peek} already. */
    static ThinPoolMetadata open(BlockDevice device, long blockSectors, long dataBlocks) throws IOException, TableError {
        Header h = peek(device);
        ThinPoolMetadata md = new ThinPoolMetadata(device, blockSectors, h == null ? dataBlocks : h.dataBlocks());
        if (h == null) {
            md.writeSuperblock();
        } else {
            md.replay();
            md.resize(dataBlocks);
        }
        return md;
    }

    private void replay() throws IOException {
        byte[] sb = new byte[BLOCK_BYTES];
        device.read(0, sb);
        ByteBuffer h = ByteBuffer.wrap(sb, MAGIC.length + 16, 8);
        activeArea = h.getInt();
        int count = h.getInt();
        byte[] block = new byte[BLOCK_BYTES];
        for (int i = 0; i < count; i++) {
            if (i % RECORDS_PER_BLOCK == 0) {
                device.read(blockOffset(activeArea, i), block);
            }
            ByteBuffer r = ByteBuffer.wrap(block, (i % RECORDS_PER_BLOCK) * RECORD_BYTES, RECORD_BYTES);
            apply(r.getInt(), r.getLong(), r.getLong(), r.getLong());
        }
        records = count;
        tail = block.clone();
    }

    private void apply(int type, long id, long a, long b) {
        switch (type) {
            case CREATE -> thins.put(id, new TreeMap<>());
            case SNAP -> {
                TreeMap<Long, Long> copy = new TreeMap<>(thins.get(a));
                copy.values().forEach(d -> refcount[d.intValue()]++);
                thins.put(id, copy);
            }
            case DELETE -> thins.remove(id).values().forEach(d -> refcount[d.intValue()]--);
            case MAP -> {
                Long old = thins.get(id).put(a, b);
                if (old != null) {
                    refcount[old.intValue()]--;
                }
                refcount[(int) b]++;
            }
            default -> throw new IllegalStateException("unknown thin metadata record type " + type);
        }
    }

    private long blockOffset(int area, int record) {
        return (1L + (long) area * areaBlocks + record / RECORDS_PER_BLOCK) * BLOCK_BYTES;
    }

    private void append(int type, long id, long a, long b) throws IOException {
        if (records >= capacity(device.sizeSectors())) {
            compact();
        }
        if (records % RECORDS_PER_BLOCK == 0) {
            tail = new byte[BLOCK_BYTES];
        }
        ByteBuffer.wrap(tail, (records % RECORDS_PER_BLOCK) * RECORD_BYTES, RECORD_BYTES)
                .putInt(type).putLong(id).putLong(a).putLong(b);
        device.write(blockOffset(activeArea, records), tail);
        records++;
        writeSuperblock();
        apply(type, id, a, b);
    }

    private void compact() throws IOException {
        long needed = thins.size() + thins.values().stream().mapToLong(Map::size).sum() + 1;
        if (needed > capacity(device.sizeSectors())) {
            throw new Full("No space left on device (thin-pool metadata full: " + needed + " records)");
        }
        int area = 1 - activeArea;
        int n = 0;
        byte[] block = new byte[BLOCK_BYTES];
        for (Map.Entry<Long, TreeMap<Long, Long>> t : thins.entrySet()) {
            n = put(block, area, n, CREATE, t.getKey(), 0, 0);
            for (Map.Entry<Long, Long> m : t.getValue().entrySet()) {
                n = put(block, area, n, MAP, t.getKey(), m.getKey(), m.getValue());
            }
        }
        if (n % RECORDS_PER_BLOCK != 0) {
            device.write(blockOffset(area, n - 1), block);
        }
        activeArea = area;
        records = n;
        tail = block;
        writeSuperblock();
    }

    private int put(byte[] block, int area, int n, int type, long id, long a, long b) throws IOException {
        if (n % RECORDS_PER_BLOCK == 0) {
            Arrays.fill(block, (byte) 0);
        }
        ByteBuffer.wrap(block, (n % RECORDS_PER_BLOCK) * RECORD_BYTES, RECORD_BYTES).putInt(type).putLong(id).putLong(a).putLong(b);
        if ((n + 1) % RECORDS_PER_BLOCK == 0) {
            device.write(blockOffset(area, n), block);
        }
        return n + 1;
    }

    private void writeSuperblock() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(BLOCK_BYTES);
        b.put(MAGIC).putLong(blockSectors).putLong(dataBlocks).putInt(activeArea).putInt(records);
        device.write(0, b.array());
    }

    boolean exists(long id) {
        return thins.containsKey(id);
    }

    void createThin(long id) throws IOException {
        append(CREATE, id, 0, 0);
    }

    void createSnap(long id, long origin) throws IOException {
        append(SNAP, id, origin, 0);
    }

    void delete(long id) throws IOException {
        append(DELETE, id, 0, 0);
    }

    /** The data block behind a thin block, or -1 when it was never written. */
    long lookup(long id, long block) {
        Long d = thins.get(id).get(block);
        return d == null ? -1 : d;
    }

    boolean shared(long dataBlock) {
        return refcount[(int) dataBlock] > 1;
    }

    /** The lowest free data block, or -1 when the data device is full. */
    long free() {
        for (int i = 0; i < dataBlocks; i++) {
            if (refcount[i] == 0) {
                return i;
            }
        }
        return -1;
    }

    void map(long id, long block, long dataBlock) throws IOException {
        append(MAP, id, block, dataBlock);
    }

    void resize(long newDataBlocks) throws IOException {
        if (newDataBlocks > dataBlocks) {
            dataBlocks = newDataBlocks;
            refcount = Arrays.copyOf(refcount, (int) newDataBlocks);
            writeSuperblock();
        }
    }

    long dataBlocks() {
        return dataBlocks;
    }

    long usedDataBlocks() {
        return Arrays.stream(refcount).filter(r -> r > 0).count();
    }

    long usedMetadataBlocks() {
        return 1 + (records + RECORDS_PER_BLOCK - 1) / RECORDS_PER_BLOCK;
    }

    long totalMetadataBlocks() {
        return device.sizeSectors() * BlockDevice.SECTOR / BLOCK_BYTES;
    }

    long mappedBlocks(long id) {
        return thins.get(id).size();
    }

    /** The highest mapped thin block, or -1. */
    long highestMapped(long id) {
        TreeMap<Long, Long> m = thins.get(id);
        return m.isEmpty() ? -1 : m.lastKey();
    }
}
