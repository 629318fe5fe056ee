package io.dnv.node.sim.dm;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;

import static io.dnv.node.sim.dm.DmTestBed.read;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The whole leg stack of the design: linear slices of two disks → raid1 → thin-meta/thin-data →
 * thin-pool → two thin legs → raid0. Bytes written at the top are really on both disks.
 */
class StackBytesTest {

    /** Where raid1 side i's data slice starts on its disk, in sectors. */
    static final long DATA_SLICE = 2048;
    /** Where thin-data starts inside the raid1, in sectors. */
    static final long TDATA = 4096;
    static final int VOLUME_BYTES = 16384 * 512;

    @TempDir
    Path tmp;
    DmTestBed k;

    @BeforeEach
    void setUp() {
        k = new DmTestBed(tmp);
        k.disk("/dev/nvme0n1", 259, 0, 32768);
        k.disk("/dev/nvme1n1", 259, 1, 32768);
    }

    @AfterEach
    void tearDown() throws Exception {
        k.close();
    }

    /** Every table of the stack, in creation order; the same on every boot. */
    static void createStack(DmTestBed k) {
        for (int i = 0; i < 2; i++) {
            k.dm.create("ld" + i, "0 32768 linear /dev/nvme" + i + "n1 0");
            k.dm.create("r-m" + i, "0 2048 linear /dev/mapper/ld" + i + " 0");
            k.dm.create("r-d" + i, "0 24576 linear /dev/mapper/ld" + i + " " + DATA_SLICE);
        }
        k.dm.create("r1", "0 24576 raid raid1 4 0 region_size 1024 nosync 2 "
                + "/dev/mapper/r-m0 /dev/mapper/r-d0 /dev/mapper/r-m1 /dev/mapper/r-d1");
        k.dm.create("tmeta", "0 4096 linear /dev/mapper/r1 0");
        k.dm.create("tdata", "0 20480 linear /dev/mapper/r1 " + TDATA);
        k.dm.create("pool", "0 20480 thin-pool /dev/mapper/tmeta /dev/mapper/tdata 128 0 1 skip_block_zeroing");
    }

    static void createLegsAndVolume(DmTestBed k) {
        k.dm.create("leg0", "0 8192 thin /dev/mapper/pool 0");
        k.dm.create("leg1", "0 8192 thin /dev/mapper/pool 1");
        k.dm.create("vol", "0 16384 raid raid0 1 32 2 - /dev/mapper/leg0 - /dev/mapper/leg1");
    }

    @Test
    void bytesWrittenThroughRaid0OverThinsOverRaid1ReadBackAndLandOnBothDisks() {
        createStack(k);
        k.dm.message("pool", 0, "create_thin 0");
        k.dm.message("pool", 0, "create_thin 1");
        createLegsAndVolume(k);
        byte[] data = DmTestBed.pattern(42, VOLUME_BYTES / 2);
        DmTestBed.write(k.dev("vol"), 0, data);
        assertArrayEquals(data, read(k.dev("vol"), 0, data.length));

        // raid0 chunk 0 is leg0's first 16 KiB, the pool's first data block, at tdata offset 0.
        long onDisk = (DATA_SLICE + TDATA) * 512;
        byte[] firstChunk = Arrays.copyOf(data, 16384);
        assertArrayEquals(firstChunk, read(k.dev("/dev/nvme0n1"), onDisk, 16384));
        assertArrayEquals(firstChunk, read(k.dev("/dev/nvme1n1"), onDisk, 16384));
        byte[] side0 = read(k.dev("/dev/nvme0n1"), DATA_SLICE * 512, 24576 * 512);
        byte[] side1 = read(k.dev("/dev/nvme1n1"), DATA_SLICE * 512, 24576 * 512);
        assertArrayEquals(side0, side1);
        assertFalse(Arrays.equals(side0, new byte[side0.length]));
        assertEquals("0 8192 thin 4096 4095", k.status("leg0"));
    }

    @Test
    void concurrentWritersThroughTheStackEachReadBackTheirOwnBytes() throws Exception {
        createStack(k);
        k.dm.message("pool", 0, "create_thin 0");
        k.dm.message("pool", 0, "create_thin 1");
        createLegsAndVolume(k);
        int writers = 4;
        int piece = 4096;
        // Interleaved 4 KiB pieces: every thin block, raid0 chunk and raid1 region gets writes from all writers.
        java.util.List<java.util.concurrent.CompletableFuture<Void>> done = new java.util.ArrayList<>();
        for (int w = 0; w < writers; w++) {
            int first = w * piece;
            done.add(java.util.concurrent.CompletableFuture.runAsync(() -> {
                for (int off = first; off < VOLUME_BYTES / 2; off += writers * piece) {
                    DmTestBed.write(k.dev("vol"), off, DmTestBed.pattern(off, piece));
                }
            }));
        }
        for (java.util.concurrent.CompletableFuture<Void> f : done) {
            f.get(60, java.util.concurrent.TimeUnit.SECONDS);
        }
        for (int off = 0; off < VOLUME_BYTES / 2; off += piece) {
            assertArrayEquals(DmTestBed.pattern(off, piece), read(k.dev("vol"), off, piece));
        }
        assertArrayEquals(read(k.dev("/dev/nvme0n1"), DATA_SLICE * 512, 24576 * 512), read(k.dev("/dev/nvme1n1"), DATA_SLICE * 512, 24576 * 512));
    }

    @Test
    void stripedAndRaid0OverTheSameLegsLayDataOutIdentically() {
        createStack(k);
        k.dm.message("pool", 0, "create_thin 0");
        k.dm.message("pool", 0, "create_thin 1");
        createLegsAndVolume(k);
        byte[] data = DmTestBed.pattern(7, VOLUME_BYTES);
        DmTestBed.write(k.dev("vol"), 0, data);
        k.dm.create("str", "0 16384 striped 2 32 /dev/mapper/leg0 0 /dev/mapper/leg1 0");
        assertArrayEquals(data, read(k.dev("str"), 0, data.length));
        assertArrayEquals(Arrays.copyOfRange(data, 16384, 32768), read(k.dev("leg1"), 0, 16384));
    }
}
