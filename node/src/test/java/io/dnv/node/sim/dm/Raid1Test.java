package io.dnv.node.sim.dm;

import io.dnv.node.sim.block.BlockDevice;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.dnv.core.kernel.DmTableParser;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static io.dnv.node.sim.dm.DmTestBed.assertContains;
import static io.dnv.node.sim.dm.DmTestBed.pattern;
import static io.dnv.node.sim.dm.DmTestBed.read;
import static io.dnv.node.sim.dm.DmTestBed.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** raid1: mirroring, a dead side, rebuild, resync and recovery from the write-intent bitmap. */
class Raid1Test {

    static final int MIB = 1 << 20;
    /** Side data slices start 1 MiB into each disk (after the meta slice). */
    static final long DATA = 2048 * 512;
    static final int REGION = 512 * 512;

    @TempDir
    Path tmp;
    DmTestBed k;
    String sides;

    @BeforeEach
    void setUp() {
        k = new DmTestBed(tmp);
        for (int i = 0; i < 3; i++) {
            k.disk("/dev/nvme" + i + "n1", 259, i, 8192);
        }
        sides = k.sides("s", List.of("/dev/nvme0n1", "/dev/nvme1n1"), 0, 4096);
    }

    @AfterEach
    void tearDown() throws Exception {
        k.close();
    }

    private BlockDevice disk(int i) {
        return k.dev("/dev/nvme" + i + "n1");
    }

    /** The side's data device starts failing every I/O, as a fenced or dead path does. */
    private void breakSide1() {
        k.dm.suspend("s1-d");
        k.dm.load("s1-d", "0 4096 error");
        k.dm.resume("s1-d");
    }

    @Test
    void deadSideIsMarkedDWritesContinueAndRebuildCopiesEverythingOntoTheReplacement() {
        k.dm.create("r", "0 4096 raid raid1 4 0 region_size 512 nosync " + sides);
        byte[] a = pattern(1, MIB);
        write(k.dev("r"), 0, a);
        breakSide1();
        byte[] b = pattern(2, MIB);
        write(k.dev("r"), MIB, b);
        assertEquals("0 4096 raid raid1 2 AD 4096/4096 idle 0 0 -", k.status("r"));
        assertArrayEquals(b, read(k.dev("r"), MIB, MIB));
        assertArrayEquals(b, read(disk(0), DATA + MIB, MIB));

        k.dm.create("s2-m", "0 2048 linear /dev/nvme2n1 0");
        k.dm.create("s2-d", "0 4096 linear /dev/nvme2n1 2048");
        k.dm.suspend("r");
        k.dm.load("r", "0 4096 raid raid1 5 0 region_size 512 rebuild 1 2 /dev/mapper/s0-m /dev/mapper/s0-d /dev/mapper/s2-m /dev/mapper/s2-d");
        k.dm.resume("r");
        assertEquals("0 4096 raid raid1 2 AA 4096/4096 idle 0 0 -", k.settled("r"));
        assertContains(k.table("r"), "raid1 5 0 rebuild 1 region_size 512 2 ");
        assertArrayEquals(a, read(disk(2), DATA, MIB));
        assertArrayEquals(b, read(disk(2), DATA + MIB, MIB));
        assertEquals(0, k.observe("s1-d").openCount(), "the replaced side is released");
    }

    @Test
    void theLastSideInSyncIsNeverMarkedDeadItsFailedWriteFailsUpwards() {
        k.dm.create("r", "0 4096 raid raid1 4 0 region_size 512 nosync " + sides);
        breakSide1();
        write(k.dev("r"), 0, pattern(1, MIB));
        assertEquals("0 4096 raid raid1 2 AD 4096/4096 idle 0 0 -", k.status("r"));
        k.dm.suspend("s0-d");
        k.dm.load("s0-d", "0 4096 error");
        k.dm.resume("s0-d");
        java.io.IOException e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                () -> k.dev("r").write(MIB, pattern(2, MIB)));
        assertContains(e.getMessage(), "Input/output error");
        assertEquals("0 4096 raid raid1 2 AD 4096/4096 idle 0 0 -", k.status("r"), "md keeps its last side");
    }

    @Test
    void aSideWhoseIoIsHeldHoldsNeitherTheStatusNorTheOtherSide() throws Exception {
        k.dm.create("r", "0 4096 raid raid1 4 0 region_size 512 nosync " + sides);
        byte[] a = pattern(1, MIB);
        write(k.dev("r"), 0, a);
        k.dm.suspend("s1-d");   // side 1 holds its I/O, as an import reconnecting does
        java.util.concurrent.CompletableFuture<Void> held = java.util.concurrent.CompletableFuture.runAsync(
                () -> write(k.dev("r"), 0, pattern(2, MIB)));
        Thread.sleep(200);
        org.junit.jupiter.api.Assertions.assertFalse(held.isDone(), "the write waits for side 1");
        assertEquals("0 4096 raid raid1 2 AA 4096/4096 idle 0 0 -", k.status("r"));
        assertArrayEquals(pattern(2, MIB), read(disk(0), DATA, MIB), "side 0 wrote meanwhile");
        k.dm.resume("s1-d");
        held.get(5, java.util.concurrent.TimeUnit.SECONDS);
        assertArrayEquals(pattern(2, MIB), read(disk(1), DATA, MIB));
    }

    @Test
    void sideThatComesBackGetsOnlyTheRegionsWrittenWhileItWasDead() {
        k.dm.create("r", "0 4096 raid raid1 4 0 region_size 512 nosync " + sides);
        write(k.dev("r"), 0, pattern(1, 2 * MIB));
        k.dm.suspend("r");
        k.dm.resume("r");
        breakSide1();
        byte[] b = pattern(2, REGION);
        write(k.dev("r"), 4L * REGION, b);
        k.dm.suspend("s1-d");
        k.dm.load("s1-d", "0 4096 linear /dev/nvme1n1 2048");
        k.dm.resume("s1-d");
        // A clean region of side 1 changed behind raid1's back: recovery must not touch it.
        byte[] junk = DmTestBed.filled(0x5a, REGION);
        write(disk(1), DATA, junk);

        k.dm.suspend("r");
        k.dm.load("r", "0 4096 raid raid1 4 0 region_size 512 nosync " + sides);
        k.dm.resume("r");
        assertEquals("0 4096 raid raid1 2 AA 4096/4096 idle 0 0 -", k.settled("r"));
        assertArrayEquals(b, read(disk(1), DATA + 4L * REGION, REGION));
        assertArrayEquals(junk, read(disk(1), DATA, REGION));
    }

    @Test
    void brandNewArrayWithoutNosyncCopiesSide0ToTheOthers() {
        byte[] old0 = pattern(3, 2 * MIB);
        write(disk(0), DATA, old0);
        write(disk(1), DATA, pattern(4, 2 * MIB));
        k.dm.create("r", "0 4096 raid raid1 3 0 region_size 512 " + sides);
        assertEquals("0 4096 raid raid1 2 AA 4096/4096 idle 0 0 -", k.settled("r"));
        assertArrayEquals(old0, read(disk(1), DATA, 2 * MIB));
    }

    @Test
    void nosyncTrustsTheOperatorThatTheSidesAreEqual() {
        byte[] old1 = pattern(4, 2 * MIB);
        write(disk(1), DATA, old1);
        k.dm.create("r", "0 4096 raid raid1 4 0 region_size 512 nosync " + sides);
        assertArrayEquals(old1, read(disk(1), DATA, 2 * MIB));
    }

    @Test
    void missingSideIsDeadFromTheStartAndTheArrayServesIo() {
        k.dm.create("r", "0 4096 raid raid1 4 0 region_size 512 nosync 2 - - /dev/mapper/s1-m /dev/mapper/s1-d");
        assertEquals("0 4096 raid raid1 4 0 nosync region_size 512 2 - - " + k.mm("s1-m") + " " + k.mm("s1-d"), k.table("r"));
        assertEquals("0 4096 raid raid1 2 DA 4096/4096 idle 0 0 -", k.status("r"));
        byte[] data = pattern(5, MIB);
        write(k.dev("r"), 0, data);
        assertArrayEquals(data, read(disk(1), DATA, MIB));
    }

    /**
     * dm-raid's validate_region_size: with no region_size the kernel picks 4 MiB (or the next
     * power of two above len/2^21 for arrays over 8 TiB) without checking it against the length,
     * and prints no region_size back.
     */
    @Test
    void withoutRegionSizeTheKernelPicksFourMiBEvenForASmallerArrayAndPrintsNone() throws Exception {
        k.dm.create("r", "0 4096 raid raid1 2 0 nosync " + sides);
        assertEquals("0 4096 raid raid1 2 0 nosync 2 " + k.mm("s0-m") + " " + k.mm("s0-d") + " " + k.mm("s1-m") + " "
                + k.mm("s1-d"), k.table("r"));
        assertEquals(8192, Raid1Superblock.read(k.dev("s0-m")).regionSectors);
        byte[] data = pattern(6, MIB);
        write(k.dev("r"), MIB, data);
        assertArrayEquals(data, read(disk(1), DATA + MIB, MIB));
    }

    /** md reads the region (bitmap chunk) of an existing array from its bitmap when the table names none. */
    @Test
    void anExistingArrayLoadedWithoutRegionSizeKeepsTheRegionItWasMadeWith() throws Exception {
        k.dm.create("r", "0 4096 raid raid1 4 0 region_size 512 nosync " + sides);
        k.dm.suspend("r");
        k.dm.load("r", "0 4096 raid raid1 1 0 " + sides);
        k.dm.resume("r");
        assertEquals("0 4096 raid raid1 2 AA 4096/4096 idle 0 0 -", k.status("r"));
        assertEquals(512, Raid1Superblock.read(k.dev("s0-m")).regionSectors);
    }

    /** An extend: the array reloaded larger; what lies past the old end is resynced from side 0, the rest stays. */
    @Test
    void arrayReloadedLargerResyncsOnlyTheNewRegions() {
        k.dm.create("r", "0 2048 raid raid1 4 0 region_size 512 nosync " + sides);
        byte[] a = pattern(1, 2 * REGION);
        write(k.dev("r"), 0, a);
        // a region of side 1 the array never wrote, and side 0's bytes past the old end
        byte[] junk = DmTestBed.filled(0x5a, REGION);
        write(disk(1), DATA + 3L * REGION, junk);
        byte[] old0 = pattern(2, MIB);
        write(disk(0), DATA + MIB, old0);
        k.dm.suspend("r");
        k.dm.load("r", "0 4096 raid raid1 3 0 region_size 512 " + sides);
        k.dm.resume("r");
        assertEquals("0 4096 raid raid1 2 AA 4096/4096 idle 0 0 -", k.settled("r"));
        assertArrayEquals(a, read(disk(1), DATA, 2 * REGION));
        assertArrayEquals(junk, read(disk(1), DATA + 3L * REGION, REGION), "a clean region inside the old end is not copied");
        assertArrayEquals(old0, read(disk(1), DATA + MIB, MIB), "the new regions come from side 0");
        k.dm.suspend("r");
        k.dm.load("r", "0 2048 raid raid1 3 0 region_size 512 " + sides);
        assertContains(k.refused(() -> k.dm.resume("r")).kernelMessage(), "Failed to load superblocks");
    }

    @Test
    void metadataDeviceThatIsNeitherZeroNorARaid1SuperblockIsRefused() {
        write(disk(0), 0, DmTestBed.filled(0x11, 4096));
        assertContains(k.refused(() -> k.dm.create("r", "0 4096 raid raid1 3 0 region_size 512 " + sides)).kernelMessage(),
                "Invalid argument", "raid: Failed to load superblocks");
        assertEquals(List.of("s0-m", "s0-d", "s1-m", "s1-d"), k.dm.list().stream().map(d -> d.name()).toList());
        assertEquals(0, k.observe("s0-m").openCount());
    }
    /**
     * md copies in the background: the create returns with the array resyncing ({@code aa …
     * resync}), reads come from side 0, and a write to the region being copied waits for that
     * copy and then lands on both sides, so the copy never lands over it.
     */
    @Test
    void aResyncRunsInTheBackgroundAndNeverLandsOverANewerWrite() throws Exception {
        HeldCopy held = new HeldCopy(copy -> true);
        k.dm = new DeviceMapper(k.devices, DmTableParser.modelled(), held);
        byte[] old0 = pattern(3, 2 * MIB);
        write(disk(0), DATA, old0);
        write(disk(1), DATA, pattern(4, 2 * MIB));
        k.dm.create("r", "0 4096 raid raid1 3 0 region_size 512 " + sides);
        assertTrue(held.copying.await(5, TimeUnit.SECONDS));
        assertEquals("0 4096 raid raid1 2 aa 0/4096 resync 0 0 -", k.status("r"));
        assertArrayEquals(old0, read(k.dev("r"), 0, 2 * MIB), "reads come from side 0 while side 1 is copied to");
        byte[] newer = pattern(5, REGION);
        CompletableFuture<Void> w = CompletableFuture.runAsync(() -> write(k.dev("r"), 0, newer));
        Thread.sleep(200);
        assertFalse(w.isDone(), "a write to the region being copied waits for the copy");
        held.release.countDown();
        w.get(5, TimeUnit.SECONDS);
        assertEquals("0 4096 raid raid1 2 AA 4096/4096 idle 0 0 -", k.settled("r"));
        assertArrayEquals(newer, read(disk(0), DATA, REGION));
        assertArrayEquals(newer, read(disk(1), DATA, REGION));
        assertArrayEquals(Arrays.copyOfRange(old0, REGION, 2 * MIB), read(disk(1), DATA + REGION, 2 * MIB - REGION));
    }

    /**
     * md's bitmap daemon: a region's bit clears on disk once no write touched it for two of the
     * daemon's runs, so an assembly after a power cut copies only what was written lately.
     */
    @Test
    void quietRegionsLoseTheirBitsAndAPowerCutLeavesOnlyTheLatestWritesDirty() throws Exception {
        k.dm.bitmapDaemonSleep(java.time.Duration.ofMillis(100));
        k.dm.create("r", "0 4096 raid raid1 4 0 region_size 512 nosync " + sides);
        write(k.dev("r"), 0, pattern(1, REGION));
        assertEquals(java.util.Set.of(0), dirtyOnDisk(0), "the bit is on disk before the write is acknowledged");
        awaitTrue(() -> dirtyOnDisk(0).isEmpty() && dirtyOnDisk(1).isEmpty(), "region 0's bit cleared on both sides");

        write(k.dev("r"), 3L * REGION, pattern(2, REGION));
        awaitTrue(() -> dirtyOnDisk(0).isEmpty(), "region 3's bit cleared");
        write(k.dev("r"), 6L * REGION, pattern(3, REGION));
        k.powerCycle();
        assertEquals(java.util.Set.of(6), dirtyOnDisk(0));
        assertEquals(java.util.Set.of(6), dirtyOnDisk(1));
    }

    /** The bits of writes a dead side missed stay however quiet the region is: they are what it gets when it returns. */
    @Test
    void aDegradedArrayKeepsItsBits() throws Exception {
        k.dm.bitmapDaemonSleep(java.time.Duration.ofMillis(50));
        k.dm.create("r", "0 4096 raid raid1 4 0 region_size 512 nosync " + sides);
        breakSide1();
        write(k.dev("r"), 2L * REGION, pattern(4, REGION));
        assertEquals("0 4096 raid raid1 2 AD 4096/4096 idle 0 0 -", k.status("r"));
        Thread.sleep(400);
        assertEquals(java.util.Set.of(2), dirtyOnDisk(0));
    }

    private java.util.Set<Integer> dirtyOnDisk(int side) {
        try {
            return Raid1Superblock.read(disk(side)).dirty.stream().boxed().collect(java.util.stream.Collectors.toSet());
        } catch (java.io.IOException | TableError e) {
            throw new AssertionError(e);
        }
    }

    private static void awaitTrue(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 5 s: " + what);
            }
            Thread.sleep(20);
        }
    }

    /**
     * A side that was behind is failed in the superblocks until its recovery is done: after a
     * power cut in the middle of it the same table copies to that side again, never from it,
     * though it is side 0 and the events counters are equal.
     */
    @Test
    void aRecoveryCutShortIsCopiedToTheSameSideAgainNeverFromIt() throws Exception {
        java.util.concurrent.atomic.AtomicBoolean hold = new java.util.concurrent.atomic.AtomicBoolean();
        HeldCopy held = new HeldCopy(copy -> hold.get());
        k.dm.powerOff();
        k.dm = new DeviceMapper(k.devices, DmTableParser.modelled(), held);
        sides = k.sides("s", List.of("/dev/nvme0n1", "/dev/nvme1n1"), 0, 4096);
        String table = "0 4096 raid raid1 4 0 region_size 512 nosync " + sides;
        k.dm.create("r", table);
        write(k.dev("r"), 0, pattern(1, 2 * MIB));
        k.dm.suspend("s0-d");
        k.dm.load("s0-d", "0 4096 error");
        k.dm.resume("s0-d");
        byte[] b = pattern(2, 2 * MIB);
        write(k.dev("r"), 0, b);
        assertEquals("0 4096 raid raid1 2 DA 4096/4096 idle 0 0 -", k.status("r"));
        k.dm.suspend("s0-d");
        k.dm.load("s0-d", "0 4096 linear /dev/nvme0n1 2048");
        k.dm.resume("s0-d");
        hold.set(true);
        k.dm.suspend("r");
        k.dm.load("r", table);
        k.dm.resume("r");
        assertTrue(held.copying.await(5, TimeUnit.SECONDS));
        assertEquals("0 4096 raid raid1 2 aA 0/4096 recover 0 0 -", k.status("r"));
        assertArrayEquals(b, read(k.dev("r"), 0, 2 * MIB), "reads come from side 1 while side 0 is recovered");

        k.powerCycle();
        held.release.countDown();
        k.sides("s", List.of("/dev/nvme0n1", "/dev/nvme1n1"), 0, 4096);
        k.dm.create("r", table);
        assertEquals("0 4096 raid raid1 2 AA 4096/4096 idle 0 0 -", k.settled("r"));
        assertArrayEquals(b, read(disk(1), DATA, 2 * MIB), "side 1 kept the newest bytes");
        assertArrayEquals(b, read(disk(0), DATA, 2 * MIB), "side 0 got them");
    }

    /**
     * A suspend stops the copy after the region it is copying and waits for that region, as md
     * stops its sync thread: a table loaded next over the same sides meets no late write of it.
     * The resume goes on from the bitmap.
     */
    @Test
    void aSuspendWaitsForTheRegionBeingCopiedAndTheResumeGoesOn() throws Exception {
        HeldCopy held = new HeldCopy(copy -> copy == 1);
        k.dm = new DeviceMapper(k.devices, DmTableParser.modelled(), held);
        byte[] old0 = pattern(3, 2 * MIB);
        write(disk(0), DATA, old0);
        k.dm.create("r", "0 4096 raid raid1 3 0 region_size 512 " + sides);
        assertTrue(held.copying.await(5, TimeUnit.SECONDS));
        CompletableFuture<Void> suspend = CompletableFuture.runAsync(() -> k.dm.suspend("r"));
        Thread.sleep(200);
        assertFalse(suspend.isDone(), "the suspend waits for the region being copied");
        held.release.countDown();
        suspend.get(5, TimeUnit.SECONDS);
        Thread.sleep(100);
        assertEquals(1, held.copies.get(), "no region copied after the suspend");
        assertContains(k.status("r"), " aa ", " resync ");
        k.dm.resume("r");
        assertEquals("0 4096 raid raid1 2 AA 4096/4096 idle 0 0 -", k.settled("r"));
        assertArrayEquals(old0, read(disk(1), DATA, 2 * MIB));
    }

    /**
     * While side 1 is still being copied to, side 0 is the only one that holds every region: a
     * write that fails there fails upwards, though it reached side 1, as md keeps its last side
     * in sync and fails the I/O that failed on it.
     */
    @Test
    void aWriteThatReachesOnlyTheSideBeingCopiedToFails() throws Exception {
        HeldCopy held = new HeldCopy(copy -> true);
        k.dm = new DeviceMapper(k.devices, DmTableParser.modelled(), held);
        sides = k.sides("t", List.of("/dev/nvme0n1", "/dev/nvme1n1"), 0, 4096);
        k.dm.create("r", "0 4096 raid raid1 3 0 region_size 512 " + sides);
        try {
            assertTrue(held.copying.await(5, TimeUnit.SECONDS));
            k.dm.suspend("t0-d");
            k.dm.load("t0-d", "0 4096 error");
            k.dm.resume("t0-d");
            java.io.IOException e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                    () -> k.dev("r").write(MIB, pattern(7, REGION)));
            assertContains(e.getMessage(), "Input/output error");
            assertContains(k.status("r"), " aa ", " resync ");
        } finally {
            held.release.countDown();
        }
    }

    /** md's copy, held in the kcopyd charge of each region {@code holds} picks (by its number, from 1) until released. */
    private static final class HeldCopy implements Kcopyd {

        final CountDownLatch copying = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final java.util.concurrent.atomic.AtomicInteger copies = new java.util.concurrent.atomic.AtomicInteger();
        private final java.util.function.IntPredicate holds;

        HeldCopy(java.util.function.IntPredicate holds) {
            this.holds = holds;
        }

        @Override
        public void spend(long bytes) {
            if (holds.test(copies.incrementAndGet())) {
                copying.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }
}
