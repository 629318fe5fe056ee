package io.dnv.node.sim.dm;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

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
        for (int i = 0; i < 200 && !hydrated().equals(regions); i++) {
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
