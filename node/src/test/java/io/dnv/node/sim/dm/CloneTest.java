package io.dnv.node.sim.dm;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;

import static io.dnv.node.sim.dm.DmTestBed.assertContains;
import static io.dnv.node.sim.dm.DmTestBed.pattern;
import static io.dnv.node.sim.dm.DmTestBed.read;
import static io.dnv.node.sim.dm.DmTestBed.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** dm-clone: reads through to the source, hydration by write and in the background, its table rules. */
class CloneTest {

    static final int REGION = 1024 * 512;
    static final int SIZE = 8 << 20;
    static final String CLONE = "0 16384 clone /dev/ram0 /dev/ram1 /dev/ram2 1024";

    @TempDir
    Path tmp;
    DmTestBed k;
    byte[] source;

    @BeforeEach
    void setUp() {
        k = new DmTestBed(tmp);
        k.disk("/dev/ram0", 1, 0, 2048);
        k.disk("/dev/ram1", 1, 1, 16384);
        k.disk("/dev/ram2", 1, 2, 16384);
        source = pattern(1, SIZE);
        write(k.dev("/dev/ram2"), 0, source);
    }

    @AfterEach
    void tearDown() throws Exception {
        k.close();
    }

    private String hydrated() {
        return k.status("c").split(" ")[6];
    }

    private void awaitHydrated(String regions) throws InterruptedException {
        for (int i = 0; i < 500 && !hydrated().equals(regions); i++) {
            Thread.sleep(10);
        }
        assertEquals(regions, hydrated(), k.status("c"));
    }

    @Test
    void readsGoToTheSourceUntilAWriteHydratesItsRegion() {
        k.dm.create("c", CLONE + " 1 no_hydration");
        assertEquals("0 16384 clone 1:0 1:1 1:2 1024 1 no_hydration", k.table("c"));
        assertEquals("0 16384 clone 8 2/256 1024 0/16 0 2 no_hydration no_discard_passdown 4 hydration_threshold 1 hydration_batch_size 1 rw",
                k.status("c"));
        assertArrayEquals(source, read(k.dev("c"), 0, SIZE));
        byte[] small = pattern(2, 4096);
        write(k.dev("c"), REGION + 4096, small);
        assertEquals("1/16", hydrated());
        byte[] region1 = read(k.dev("/dev/ram1"), REGION, REGION);
        assertArrayEquals(java.util.Arrays.copyOfRange(source, REGION, REGION + 4096), java.util.Arrays.copyOfRange(region1, 0, 4096),
                "the region was copied before the write landed");
        assertArrayEquals(small, java.util.Arrays.copyOfRange(region1, 4096, 8192));
        assertArrayEquals(new byte[REGION], read(k.dev("/dev/ram1"), 0, REGION), "other regions are not copied");
        byte[] whole = pattern(3, REGION);
        write(k.dev("c"), 3L * REGION, whole);
        assertEquals("2/16", hydrated());
        assertArrayEquals(whole, read(k.dev("/dev/ram1"), 3L * REGION, REGION));
    }

    @Test
    void hydrationCopiesEveryRegionInTheBackgroundAndIsRememberedAcrossAPowerCycle() throws Exception {
        k.dm.create("c", CLONE);
        awaitHydrated("16/16");
        assertContains(k.status("c"), " 16/16 0 1 no_discard_passdown ");
        assertArrayEquals(source, read(k.dev("/dev/ram1"), 0, SIZE));
        k.powerCycle();
        write(k.dev("/dev/ram2"), 0, new byte[SIZE]);
        k.dm.create("c", CLONE + " 1 no_hydration");
        assertEquals("16/16", hydrated());
        assertArrayEquals(source, read(k.dev("c"), 0, SIZE), "hydrated regions are read from the destination");
    }

    @Test
    void enableHydrationStartsWhatNoHydrationHeldBack() throws Exception {
        k.dm.create("c", CLONE + " 1 no_hydration");
        k.dm.message("c", 0, "enable_hydration");
        awaitHydrated("16/16");
        assertArrayEquals(source, read(k.dev("/dev/ram1"), 0, SIZE));
    }

    /**
     * dm-clone's throttle: background copies are batches of up to hydration_batch_size contiguous
     * regions, never more than hydration_threshold of them, each a kcopyd job charged its bytes.
     */
    @Test
    void backgroundCopiesAreBatchesOfContiguousRegionsHeldToTheThreshold() throws Exception {
        for (int[] tb : new int[][]{{8, 4, 4}, {2, 4, 2}, {8, 1, 1}}) {
            List<Long> jobs = new CopyOnWriteArrayList<>();
            k.dm = new DeviceMapper(k.devices, io.dnv.core.kernel.DmTableParser.modelled(), jobs::add);
            write(k.dev("/dev/ram0"), 0, new byte[2048 * 512]);
            k.dm.create("c", CLONE + " 0 4 hydration_threshold " + tb[0] + " hydration_batch_size " + tb[1]);
            awaitHydrated("16/16");
            assertEquals(java.util.Collections.nCopies(16 / tb[2], (long) tb[2] * REGION), jobs,
                    "threshold " + tb[0] + ", batch " + tb[1] + ": jobs of " + tb[2] + " regions");
            assertArrayEquals(source, read(k.dev("/dev/ram1"), 0, SIZE));
            k.dm.remove("c");
            write(k.dev("/dev/ram1"), 0, new byte[SIZE]);
        }
    }

    /**
     * While a user write is in flight (its own copy held up), the background copy waits; once the
     * write ends, the waker starts it again within its period and every region is copied.
     */
    @Test
    void hydrationWaitsWhileUserIoIsInFlight() throws Exception {
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        k.dm = new DeviceMapper(k.devices, io.dnv.core.kernel.DmTableParser.modelled(), bytes -> {
            if (Thread.currentThread().getName().equals("user-write")) {
                held.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        k.dm.create("c", CLONE + " 1 no_hydration");
        byte[] small = pattern(4, 4096);
        Thread writer = new Thread(() -> write(k.dev("c"), 5L * REGION, small), "user-write");
        writer.start();
        held.await();
        k.dm.message("c", 0, "enable_hydration");
        Thread.sleep(CloneTarget.WAKER.toMillis() + 300);
        assertEquals("0/16", hydrated(), "nothing copied in the background while the write is in flight: " + k.status("c"));
        release.countDown();
        writer.join();
        awaitHydrated("16/16");
        byte[] expected = source.clone();
        System.arraycopy(small, 0, expected, 5 * REGION, small.length);
        assertArrayEquals(expected, read(k.dev("/dev/ram1"), 0, SIZE));
    }

    /** A copy the source refuses leaves its regions as they were; once the source reads again, the waker's next tick copies them. */
    @Test
    void aFailedCopyIsTriedAgainAtTheWakersNextTick() throws Exception {
        k.dm.create("s", "0 16384 error");
        k.dm.create("c", "0 16384 clone /dev/ram0 /dev/ram1 /dev/mapper/s 1024");
        Thread.sleep(300);
        assertEquals("0/16", hydrated(), "nothing copied from a source that fails every read");
        k.dm.load("s", "0 16384 linear /dev/ram2 0");
        k.dm.suspend("s");
        k.dm.resume("s");
        awaitHydrated("16/16");
        assertArrayEquals(source, read(k.dev("/dev/ram1"), 0, SIZE));
    }

    /** A simulated kernel charges every 64 KiB a clone copies at its kcopyd figure. */
    @Test
    void theKernelChargesEveryCopiedRegion() throws Exception {
        io.dnv.node.sim.KernelLatencies costs = io.dnv.node.sim.KernelLatencies.NONE
                .with(io.dnv.node.sim.KernelLatencies.Op.KCOPYD_64K, java.time.Duration.ofMillis(2));
        io.dnv.node.sim.SimulatedKernel kernel = new io.dnv.node.sim.SimulatedKernel("127.0.7.3", new io.dnv.node.sim.nvme.Fabric(),
                costs, io.dnv.node.sim.nvme.NvmeHost.DEFAULT_IO_TIMEOUT)
                .addDisk("/dev/ram0", tmp.resolve("k0"), 1 << 20).addDisk("/dev/ram1", tmp.resolve("k1"), SIZE)
                .addDisk("/dev/ram2", tmp.resolve("k2"), SIZE);
        try {
            long started = System.nanoTime();
            kernel.dmCreate("c", "0 16384 clone /dev/ram0 /dev/ram1 /dev/ram2 128 0 4 hydration_threshold 8 hydration_batch_size 4");
            while (!kernel.dmStatus("c").orElseThrow().contains(" 128/128 ")) {
                Thread.sleep(10);
            }
            long took = System.nanoTime() - started;
            assertEquals(new io.dnv.node.sim.KernelLatencies.Spent(128, 128 * 2_000_000L),
                    kernel.spent().snapshot().get(io.dnv.node.sim.KernelLatencies.Op.KCOPYD_64K), "128 regions of 64 KiB");
            org.junit.jupiter.api.Assertions.assertTrue(took >= 256_000_000L, "charged on the copying thread: " + took / 1_000_000 + " ms");
        } finally {
            kernel.shutdown();
        }
    }

    @Test
    void tableRulesAndMessages() {
        assertContains(k.refused(() -> k.dm.create("c", "0 16384 clone /dev/ram0 /dev/ram1 /dev/ram2 12")).kernelMessage(),
                "Invalid argument", "clone: Region size is not a power of 2");
        assertContains(k.refused(() -> k.dm.create("c", "0 16384 clone /dev/ram0 /dev/ram1 /dev/ram2 4")).kernelMessage(),
                "Invalid argument", "clone: Invalid region size");
        assertContains(k.refused(() -> k.dm.create("c", "0 32768 clone /dev/ram0 /dev/ram1 /dev/ram2 8")).kernelMessage(),
                "Invalid argument", "clone: Device size larger than destination device");
        assertContains(k.refused(() -> k.dm.create("c", CLONE + " 1 frobnicate")).kernelMessage(), "clone: Invalid feature argument");
        assertContains(k.refused(() -> k.dm.create("c", CLONE + " 0 3 hydration_threshold 1 x")).kernelMessage(),
                "clone: Number of core arguments must be even");
        assertArrayEquals(new byte[4096], read(k.dev("/dev/ram0"), 0, 4096), "a refused clone formats nothing");

        k.dm.create("c", CLONE + " 1 no_hydration");
        assertContains(k.refused(() -> k.dm.message("c", 0, "frobnicate")).kernelMessage(), "Invalid argument", "Unsupported message");
        k.dm.message("c", 0, "hydration_batch_size 4");
        assertContains(k.status("c"), " 4 hydration_threshold 1 hydration_batch_size 4 rw");
        k.dm.remove("c");
        assertContains(k.refused(() -> k.dm.create("c", "0 16384 clone /dev/ram0 /dev/ram1 /dev/ram2 2048")).kernelMessage(),
                "clone: Failed to load metadata");
    }

    /**
     * Debian's kernel has no dm-clone: dm_get_target_type finds no "clone" (nor a module to load),
     * and dm_table_add_target refuses the table; the kernel does not report the capability.
     */
    @Test
    void aKernelBuiltWithoutDmCloneRefusesTheTargetAsAnUnknownType() {
        java.util.Set<String> debian = new java.util.TreeSet<>(io.dnv.core.kernel.DmTableParser.modelled());
        debian.remove("clone");
        k.dm = new DeviceMapper(k.devices, debian);
        assertContains(k.refused(() -> k.dm.create("c", CLONE)).kernelMessage(), "Invalid argument", "clone: unknown target type");
        assertArrayEquals(new byte[4096], read(k.dev("/dev/ram0"), 0, 4096), "nothing formatted");
        k.dm.create("l", "0 16384 linear /dev/ram2 0");

        io.dnv.node.sim.SimulatedKernel full = new io.dnv.node.sim.SimulatedKernel("127.0.7.1", new io.dnv.node.sim.nvme.Fabric());
        assertEquals(java.util.Set.of("transport:tcp", "dm-raid", "dm-thin-pool", "dm-clone"), full.capabilities());
        io.dnv.node.sim.SimulatedKernel without = new io.dnv.node.sim.SimulatedKernel("127.0.7.2", new io.dnv.node.sim.nvme.Fabric())
                .withoutDmClone();
        assertEquals(java.util.Set.of("transport:tcp", "dm-raid", "dm-thin-pool"), without.capabilities());
        without.addDisk("/dev/ram0", tmp.resolve("w0"), 1 << 20).addDisk("/dev/ram1", tmp.resolve("w1"), 8 << 20);
        assertContains(org.junit.jupiter.api.Assertions.assertThrows(io.dnv.node.kernel.KernelException.class,
                () -> without.dmCreate("c", "0 16384 clone /dev/ram0 /dev/ram1 /dev/ram1 1024")).getMessage(), "unknown target type");
        without.powerCycle();
        assertEquals(java.util.Set.of("transport:tcp", "dm-raid", "dm-thin-pool"), without.capabilities(), "kept across a power cycle");
        assertContains(org.junit.jupiter.api.Assertions.assertThrows(io.dnv.node.kernel.KernelException.class,
                () -> without.dmCreate("c", "0 16384 clone /dev/ram0 /dev/ram1 /dev/ram1 1024")).getMessage(), "unknown target type");
    }
}
