package io.dnv.node.sim.dm;

import io.dnv.node.kernel.KernelException;
import io.dnv.node.sim.block.BlockDevice;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static io.dnv.node.sim.dm.DmTestBed.assertContains;
import static io.dnv.node.sim.dm.DmTestBed.filled;
import static io.dnv.node.sim.dm.DmTestBed.pattern;
import static io.dnv.node.sim.dm.DmTestBed.read;
import static io.dnv.node.sim.dm.DmTestBed.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** thin-pool and thin: provisioning, zeroing, snapshots, messages, running out of space. */
class ThinTest {

    static final int BLOCK = 128 * 512;

    @TempDir
    Path tmp;
    DmTestBed k;

    @BeforeEach
    void setUp() {
        k = new DmTestBed(tmp);
        k.disk("/dev/ram0", 1, 0, 8192);
        k.disk("/dev/ram1", 1, 1, 8192);
    }

    @AfterEach
    void tearDown() throws Exception {
        k.close();
    }

    /** A pool of {@code dataSectors} on /dev/ram1 with 64 KiB blocks, metadata on /dev/ram0. */
    private void pool(long dataSectors, String features) {
        k.dm.create("pool", "0 " + dataSectors + " thin-pool /dev/ram0 /dev/ram1 128 0 " + features);
    }

    private BlockDevice thin(long id) {
        k.dm.message("pool", 0, "create_thin " + id);
        return open(id);
    }

    private BlockDevice open(long id) {
        k.dm.create("t" + id, "0 8192 thin /dev/mapper/pool " + id);
        return k.dev("t" + id);
    }

    @Test
    void skipBlockZeroingShowsADeletedVolumesOldBytesInANewBlock() {
        pool(8192, "1 skip_block_zeroing");
        byte[] secret = pattern(9, BLOCK);
        write(thin(1), 0, secret);
        k.dm.remove("t1");
        k.dm.message("pool", 0, "delete 1");
        BlockDevice fresh = thin(2);
        write(fresh, 0, filled(1, 4096));
        byte[] block = read(fresh, 0, BLOCK);
        assertArrayEquals(filled(1, 4096), Arrays.copyOf(block, 4096));
        assertArrayEquals(Arrays.copyOfRange(secret, 4096, BLOCK), Arrays.copyOfRange(block, 4096, BLOCK));
    }

    @Test
    void skipBlockZeroingShowsWhatTheDataDeviceHeldBefore() {
        write(k.dev("/dev/ram1"), 0, filled(0xab, BLOCK));
        pool(8192, "1 skip_block_zeroing");
        BlockDevice t = thin(0);
        write(t, 8192, filled(1, 512));
        assertArrayEquals(filled(0xab, 8192), read(t, 0, 8192));
    }

    @Test
    void withoutSkipBlockZeroingANewBlockIsZeroedFirst() {
        write(k.dev("/dev/ram1"), 0, filled(0xab, BLOCK));
        pool(8192, "0");
        BlockDevice t = thin(0);
        assertArrayEquals(new byte[BLOCK], read(t, BLOCK, BLOCK), "a block never written reads as zeroes");
        write(t, 8192, filled(1, 512));
        byte[] block = read(t, 0, BLOCK);
        assertArrayEquals(new byte[8192], Arrays.copyOf(block, 8192));
        assertArrayEquals(filled(1, 512), Arrays.copyOfRange(block, 8192, 8704));
        assertArrayEquals(new byte[BLOCK - 8704], Arrays.copyOfRange(block, 8704, BLOCK));
    }

    /**
     * Linux's hazard: a write to the origin already mapped to its exclusive block and still in
     * flight when create_snap shares that block lands in the shared block. Here the write is
     * held in the data device (as a slow disk would) while create_snap runs on the unsuspended
     * origin; the snapshot then shows the new bytes instead of the old ones.
     */
    @Test
    void createSnapOfAnOriginWithAWriteInFlightGivesAnInconsistentSnapshot() throws Exception {
        HeldWrites held = new HeldWrites(k.dev("/dev/ram1"));
        k.devices.register("/dev/slow1", 7, 1, held);
        k.dm.create("pool", "0 8192 thin-pool /dev/ram0 /dev/slow1 128 0 0");
        BlockDevice origin = thin(0);
        byte[] before = pattern(1, BLOCK);
        write(origin, 0, before);
        held.holdNext();
        CompletableFuture<Void> inFlight = CompletableFuture.runAsync(() -> write(origin, 0, filled(2, 4096)));
        assertTrue(held.entered.await(5, TimeUnit.SECONDS));
        k.dm.message("pool", 0, "create_snap 1 0");
        held.release.countDown();
        inFlight.get(5, TimeUnit.SECONDS);
        byte[] snap = read(open(1), 0, BLOCK);
        assertFalse(Arrays.equals(before, snap), "the write in flight landed in the block the snapshot now shares");
        assertArrayEquals(filled(2, 4096), Arrays.copyOf(snap, 4096));
    }

    /** Without I/O in flight an unsuspended create_snap is consistent, as Linux 6.1 showed in the VM. */
    @Test
    void createSnapOfAQuiescentUnsuspendedOriginKeepsTheOldBytes() {
        pool(8192, "0");
        BlockDevice origin = thin(0);
        byte[] before = pattern(1, BLOCK);
        write(origin, 0, before);
        k.dm.message("pool", 0, "create_snap 1 0");
        write(origin, 0, filled(2, 4096));
        assertArrayEquals(before, read(open(1), 0, BLOCK));
    }

    /** A disk that can hold its next write until released, as a slow device holds a bio in flight. */
    private static final class HeldWrites implements BlockDevice {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        private final BlockDevice inner;
        private volatile boolean hold;

        HeldWrites(BlockDevice inner) {
            this.inner = inner;
        }

        void holdNext() {
            hold = true;
        }

        @Override
        public long sizeSectors() {
            return inner.sizeSectors();
        }

        @Override
        public void read(long offset, byte[] buf, int bufOffset, int length) throws IOException {
            inner.read(offset, buf, bufOffset, length);
        }

        @Override
        public void write(long offset, byte[] buf, int bufOffset, int length) throws IOException {
            if (hold) {
                hold = false;
                entered.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
            }
            inner.write(offset, buf, bufOffset, length);
        }
    }

    @Test
    void createSnapOfASuspendedOriginKeepsTheOldBytes() {
        pool(8192, "0");
        BlockDevice origin = thin(0);
        byte[] before = pattern(1, BLOCK);
        write(origin, 0, before);
        k.dm.suspend("t0");
        k.dm.message("pool", 0, "create_snap 1 0");
        k.dm.resume("t0");
        write(origin, 0, filled(2, 4096));
        assertArrayEquals(before, read(open(1), 0, BLOCK));
        byte[] now = read(origin, 0, BLOCK);
        assertArrayEquals(filled(2, 4096), Arrays.copyOf(now, 4096));
        assertArrayEquals(Arrays.copyOfRange(before, 4096, BLOCK), Arrays.copyOfRange(now, 4096, BLOCK), "copied before the write");
        assertContains(k.status("pool"), " 2/64 - rw ");
    }

    @Test
    void thinMessagesRefuseWhatLinuxRefuses() {
        pool(8192, "0");
        thin(0);
        assertContains(k.refused(() -> k.dm.message("pool", 0, "create_thin 0")).kernelMessage(),
                "message ioctl on pool  failed: File exists", "thin: Creation of new thinly-provisioned device with id 0 failed.");
        assertContains(k.refused(() -> k.dm.message("pool", 0, "create_snap 0 0")).kernelMessage(), "File exists");
        assertContains(k.refused(() -> k.dm.message("pool", 0, "create_snap 5 4")).kernelMessage(), "No data available");
        assertContains(k.refused(() -> k.dm.message("pool", 0, "delete 4")).kernelMessage(), "No data available");
        assertContains(k.refused(() -> k.dm.message("pool", 0, "create_thin")).kernelMessage(), "Invalid argument",
                "Incorrect number of arguments for 'create_thin' message");
        assertContains(k.refused(() -> k.dm.message("pool", 0, "frobnicate 1")).kernelMessage(),
                "Unrecognised thin pool target message received: frobnicate");
    }

    @Test
    void deleteOfAnOpenThinDeviceIsRefusedAndFreesItsBlocksOnceClosed() {
        pool(8192, "0");
        write(thin(0), 0, pattern(1, 3 * BLOCK));
        assertContains(k.status("pool"), " 3/64 ");
        assertContains(k.refused(() -> k.dm.message("pool", 0, "delete 0")).kernelMessage(), "Device or resource busy");
        assertContains(k.refused(() -> k.dm.remove("pool")).kernelMessage(), "Device or resource busy");
        k.dm.remove("t0");
        k.dm.message("pool", 0, "delete 0");
        assertContains(k.status("pool"), " 0/64 ");
        assertContains(k.refused(() -> k.dm.create("t0", "0 8192 thin /dev/mapper/pool 0")).kernelMessage(), "Couldn't open thin internal device");
    }

    @Test
    void errorIfNoSpaceFailsTheWriteThatNeedsABlockWhenTheDataDeviceIsFull() {
        pool(256, "1 error_if_no_space");
        BlockDevice t = thin(0);
        write(t, 0, pattern(1, 2 * BLOCK));
        // full, but no write has needed a block yet
        assertContains(k.status("pool"), " 2/2 - rw no_discard_passdown error_if_no_space ");
        IOException e = assertThrows(IOException.class, () -> t.write(2 * BLOCK, new byte[512]));
        assertContains(e.getMessage(), "No space left on device");
        assertContains(k.status("pool"), " 2/2 - out_of_data_space no_discard_passdown error_if_no_space ");
        write(t, 0, filled(3, 512));
    }

    /**
     * dm-thin's pool mode turns out_of_data_space only when an allocation fails
     * (alloc_data_block), and back to rw at the next commit that finds a free block (a delete).
     */
    @Test
    void aFullPoolIsRwUntilAWriteNeedsABlockAndRwAgainOnceADeleteFreesOne() {
        pool(256, "1 error_if_no_space");
        BlockDevice t0 = thin(0);
        write(t0, 0, pattern(1, BLOCK));
        write(thin(1), 0, pattern(2, BLOCK));
        assertContains(k.status("pool"), " 2/2 - rw no_discard_passdown error_if_no_space ");
        assertThrows(IOException.class, () -> t0.write(BLOCK, new byte[512]));
        assertContains(k.status("pool"), " 2/2 - out_of_data_space no_discard_passdown error_if_no_space ");
        k.dm.remove("t1");
        k.dm.message("pool", 0, "delete 1");
        assertContains(k.status("pool"), " 1/2 - rw no_discard_passdown error_if_no_space ");
        write(t0, BLOCK, filled(4, 512));
    }

    /**
     * queue_if_no_space holds a write that needs a block for at most no_space_timeout (a
     * dm_thin_pool module parameter, 60 s by default, counted from when the pool ran out);
     * then the pool turns error_if_no_space itself, the held write fails with ENOSPC and so does
     * every later one, until a reload with more space brings back the table's setting.
     */
    @Test
    void queueIfNoSpaceHoldsTheWriteForNoSpaceTimeoutThenFailsItAndLaterOnesWithEnospc() throws Exception {
        k.dm.noSpaceTimeout(Duration.ofMillis(300));
        pool(256, "0");
        BlockDevice t = thin(0);
        write(t, 0, pattern(1, 2 * BLOCK));
        CompletableFuture<Void> held = CompletableFuture.runAsync(() -> write(t, 2 * BLOCK, new byte[4096]));
        assertThrows(TimeoutException.class, () -> held.get(100, TimeUnit.MILLISECONDS));
        assertContains(k.status("pool"), " 2/2 - out_of_data_space no_discard_passdown queue_if_no_space ");
        ExecutionException e = assertThrows(ExecutionException.class, () -> held.get(5, TimeUnit.SECONDS));
        assertContains(e.getCause().getMessage(), "No space left on device");
        assertContains(k.status("pool"), " 2/2 - out_of_data_space no_discard_passdown error_if_no_space ");
        long start = System.nanoTime();
        assertContains(assertThrows(IOException.class, () -> t.write(3 * BLOCK, new byte[512])).getMessage(), "No space left on device");
        assertTrue(System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(200), "a later write fails at once");
        k.dm.suspend("pool");
        k.dm.load("pool", "0 1024 thin-pool /dev/ram0 /dev/ram1 128 0 0");
        k.dm.resume("pool");
        assertContains(k.status("pool"), " 2/8 - rw no_discard_passdown queue_if_no_space ");
        write(t, 2 * BLOCK, filled(5, 4096));
    }

    @Test
    void withoutErrorIfNoSpaceTheWriteWaitsUntilThePoolIsReloadedBigger() throws Exception {
        pool(256, "0");
        BlockDevice t = thin(0);
        write(t, 0, pattern(1, 2 * BLOCK));
        byte[] late = pattern(2, 4096);
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> write(t, 2 * BLOCK, late));
        assertThrows(TimeoutException.class, () -> writer.get(300, TimeUnit.MILLISECONDS));
        k.dm.suspend("pool");
        k.dm.load("pool", "0 1024 thin-pool /dev/ram0 /dev/ram1 128 0 0");
        k.dm.resume("pool");
        writer.get(5, TimeUnit.SECONDS);
        assertArrayEquals(late, read(t, 2 * BLOCK, 4096));
        assertContains(k.status("pool"), " 3/8 - rw ");
    }

    /** Linux checks the size in the pool's preresume: the smaller table goes live, the resume fails, the pool stays suspended. */
    @Test
    void shrinkingThePoolBelowWhatItsMetadataRecordsIsRefusedAtResume() {
        pool(1024, "0");
        k.dm.suspend("pool");
        assertContains(k.refused(() -> k.dm.load("pool", "0 1024 thin-pool /dev/ram0 /dev/ram1 256 0 0")).kernelMessage(),
                "changing the data block size (from 128 to 256) is not supported");
        k.dm.load("pool", "0 512 thin-pool /dev/ram0 /dev/ram1 128 0 0");
        assertContains(k.refused(() -> k.dm.resume("pool")).kernelMessage(), "Invalid argument",
                "thin-pool: pool target (4 blocks) too small: expected 8");
        assertTrue(k.observe("pool").suspended(), "the pool stays suspended");
        assertContains(k.table("pool"), "0 512 thin-pool ");
        assertContains(k.refused(() -> k.dm.resume("pool")).kernelMessage(), "too small: expected 8");
        k.dm.load("pool", "0 1024 thin-pool /dev/ram0 /dev/ram1 128 0 0");
        k.dm.resume("pool");
        assertContains(k.status("pool"), " 0/8 - rw ");
    }

    @Test
    void metadataDeviceTooSmallForThePoolIsRefused() {
        k.dm.create("tiny", "0 16 linear /dev/ram0 0");
        assertContains(k.refused(() -> k.dm.create("pool", "0 8192 thin-pool /dev/mapper/tiny /dev/ram1 128 0 0")).kernelMessage(),
                "Invalid argument", "thin-pool: metadata device too small");
        assertArrayEquals(new byte[4096], read(k.dev("/dev/ram0"), 0, 4096), "a refused pool formats nothing");
    }

    @Test
    void metadataThatRunsOutOfSpaceTurnsThePoolReadOnly() {
        // 3 metadata blocks: a superblock and two areas of 128 records each.
        k.dm.create("small", "0 24 linear /dev/ram0 0");
        k.dm.create("pool", "0 7680 thin-pool /dev/mapper/small /dev/ram1 128 0 0");
        BlockDevice t = thin(0);
        write(t, 0, pattern(1, 30 * BLOCK));
        k.dm.suspend("t0");
        for (int id = 1; id <= 5; id++) {
            k.dm.message("pool", 0, "create_snap " + id + " 0");
        }
        k.dm.resume("t0");
        KernelException full = null;
        for (int i = 0; i < 200 && full == null; i++) {
            try {
                k.dm.message("pool", 0, "create_snap 10 0");
                k.dm.message("pool", 0, "delete 10");
            } catch (KernelException e) {
                full = e;
            }
        }
        assertTrue(full != null, "metadata never ran out");
        assertContains(full.kernelMessage(), "No space left on device", "thin-pool metadata full");
        assertContains(k.status("pool"), " - ro ");
        assertContains(k.refused(() -> k.dm.message("pool", 0, "delete 1")).kernelMessage(), "Operation not supported",
                "unable to service pool target messages in READ_ONLY or FAIL mode");
        assertThrows(IOException.class, () -> t.write(40L * BLOCK, new byte[512]));
    }

    @Test
    void aMetadataWriteThatFailsTurnsThePoolReadOnlyWithNeedsCheck() {
        k.dm.create("meta", "0 8192 linear /dev/ram0 0");
        k.dm.create("pool", "0 8192 thin-pool /dev/mapper/meta /dev/ram1 128 0 0");
        BlockDevice t = thin(0);
        write(t, 0, pattern(1, BLOCK));
        k.dm.suspend("meta");
        k.dm.load("meta", "0 8192 error");   // the metadata device's I/O fails, as both raid1 sides failed would
        k.dm.resume("meta");
        assertThrows(IOException.class, () -> t.write(4L * BLOCK, new byte[512]));
        assertContains(k.status("pool"), " - ro no_discard_passdown queue_if_no_space needs_check ");
        assertContains(k.refused(() -> k.dm.message("pool", 0, "create_snap 1 0")).kernelMessage(), "Operation not supported");
        // A block the thin already owns is still written: read-only mode fails only what needs metadata.
        write(t, 0, pattern(2, BLOCK));
        assertArrayEquals(pattern(2, BLOCK), read(t, 0, BLOCK));
    }

    @Test
    void metadataWhoseFirst4KiBAreNeitherZeroNorAPoolIsRefused() {
        write(k.dev("/dev/ram0"), 0, filled(0x42, 512));
        assertContains(k.refused(() -> pool(8192, "0")).kernelMessage(), "thin-pool: Error creating metadata object");
    }
}
