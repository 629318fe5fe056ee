package io.dnv.node.sim.dm;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static io.dnv.node.sim.dm.DmTestBed.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tables Linux refuses at load, with the errno and kernel log line it gives; a refusal changes nothing. */
class TableRulesTest {

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

    private String refusal(Runnable r) {
        return k.refused(r).kernelMessage();
    }

    @Test
    void malformedTableIsRejectedByDmsetupBeforeTheKernel() {
        assertEquals("Invalid format on line 1 of table", refusal(() -> k.dm.create("x", "0 abc linear /dev/ram0 0")));
        assertContains(refusal(() -> k.dm.create("x", "0 8\n")), "Invalid format on line 1");
        assertTrue(k.dm.list().isEmpty());
    }

    @Test
    void unknownTargetTypeIsInvalidArgument() {
        assertEquals("device-mapper: reload ioctl on x (254:0) failed: Invalid argument\n"
                        + "device-mapper: table: 254:0: mirrorish: unknown target type",
                refusal(() -> k.dm.create("x", "0 8 mirrorish /dev/ram0 0")));
    }

    @Test
    void gapBetweenLinesIsRefused() {
        assertContains(refusal(() -> k.dm.create("x", "0 8 linear /dev/ram0 0\n16 8 linear /dev/ram1 0")),
                "Invalid argument", "linear: Gap in table (-EINVAL)");
        assertContains(refusal(() -> k.dm.create("x", "8 8 linear /dev/ram0 0")), "Gap in table");
    }

    @Test
    void tableNamingAMissingDeviceIsRefused() {
        assertContains(refusal(() -> k.dm.create("x", "0 8 linear /dev/nvme3n1 0")),
                "failed: No such device\n", "linear: Device lookup failed (-ENODEV)");
        assertContains(refusal(() -> k.dm.create("x", "0 8 linear 259:7 0")),
                "failed: No such device or address", "linear: Device lookup failed (-ENXIO)");
    }

    @Test
    void aTableCannotMapItsOwnDevice() {
        k.dm.create("x", "0 8 linear /dev/ram0 0");
        assertContains(refusal(() -> k.dm.load("x", "0 8 linear /dev/mapper/x 0")), "Invalid argument", "linear: Device lookup failed");
    }

    @Test
    void tableRunningPastTheEndOfADeviceIsRefused() {
        k.dm.create("small", "0 2048 linear /dev/ram0 0");
        assertContains(refusal(() -> k.dm.create("big", "0 4096 linear /dev/mapper/small 0")), "Invalid argument",
                "device-mapper: table: 254:1: dm-0 too small for target: start=0, len=4096, dev_size=2048");
        assertContains(refusal(() -> k.dm.create("y", "0 1024 linear /dev/ram0 7680")),
                "ram0 too small for target: start=7680, len=1024, dev_size=8192");
    }

    @Test
    void raid1WithWrongParamCountIsRefusedAsLinuxDoes() {
        String sides = k.sides("s", List.of("/dev/ram0", "/dev/ram1"), 0, 2048);
        assertContains(refusal(() -> k.dm.create("r", "0 2048 raid raid1 2 0 region_size 1024 " + sides)),
                "Invalid argument", "raid: Cannot understand number of raid devices parameters (-EINVAL)");
        assertContains(refusal(() -> k.dm.create("r", "0 2048 raid raid1 4 0 region_size 1024 " + sides)),
                "raid: Cannot understand number of raid devices parameters");
        // 3 counts "0 region_size 1024"; nosync makes it 4, rebuild i 5.
        assertContains(refusal(() -> k.dm.create("r", "0 2048 raid raid1 3 0 region_size 1024 nosync " + sides)),
                "Cannot understand number of raid devices parameters");
        k.dm.create("r", "0 2048 raid raid1 4 0 region_size 1024 nosync " + sides);
    }

    @Test
    void raid1RegionSizeMustBeAPowerOfTwoAndAtMostTheLength() {
        String sides = k.sides("s", List.of("/dev/ram0", "/dev/ram1"), 0, 2048);
        assertContains(refusal(() -> k.dm.create("r", "0 2048 raid raid1 3 0 region_size 1000 " + sides)),
                "Invalid argument", "raid: Region size is not a power of 2 (-EINVAL)");
        assertContains(refusal(() -> k.dm.create("r", "0 2048 raid raid1 3 0 region_size 4096 " + sides)),
                "raid: Supplied region size is too large");
    }

    @Test
    void raid1RegionSizeBelowLengthOver2To21IsRefused() {
        // 2^22 sectors need regions of at least 2 sectors; Linux checks that before the devices' sizes.
        String sides = k.sides("s", List.of("/dev/ram0", "/dev/ram1"), 0, 2048);
        assertContains(refusal(() -> k.dm.create("r", "0 4194304 raid raid1 3 0 region_size 1 " + sides)),
                "raid: Supplied region size is too small (-EINVAL)");
    }

    /** validate_region_size with no region given: 4 MiB up to 8 TiB arrays, then roundup_pow_of_two(len / 2^21). */
    @Test
    void raid1DefaultRegionIsFourMiBUntilTheBitmapWouldPassTwoToThe21Regions() {
        assertEquals(8192, TableRules.defaultRegionSectors(2048));
        assertEquals(8192, TableRules.defaultRegionSectors(1L << 34));
        assertEquals(8192, TableRules.defaultRegionSectors((1L << 34) + (1L << 21) - 1));
        assertEquals(16384, TableRules.defaultRegionSectors((1L << 34) + (1L << 21)));
        assertEquals(1L << 17, TableRules.defaultRegionSectors(1L << 38));
    }

    @Test
    void stripedAndRaid0LengthMustSplitIntoWholeChunksPerLeg() {
        assertContains(refusal(() -> k.dm.create("s", "0 4095 striped 2 32 /dev/ram0 0 /dev/ram1 0")),
                "striped: Target length not divisible by number of stripes (-EINVAL)");
        assertContains(refusal(() -> k.dm.create("s", "0 4080 striped 2 32 /dev/ram0 0 /dev/ram1 0")),
                "striped: Target length not divisible by chunk size");
        assertContains(refusal(() -> k.dm.create("s", "0 4096 striped 2 32 /dev/ram0 0")),
                "striped: Not enough destinations specified");
        assertContains(refusal(() -> k.dm.create("s", "0 4096 raid raid0 1 24 2 - /dev/ram0 - /dev/ram1")),
                "raid: Chunk size must be a power of 2");
        k.dm.create("s", "0 4096 striped 2 32 /dev/ram0 0 /dev/ram1 0");
    }

    @Test
    void thinPoolBlockSizeMustBeAMultipleOf128SectorsUpTo2097152() {
        k.dm.create("meta", "0 2048 linear /dev/ram0 0");
        for (String block : new String[]{"64", "200", "4194304"}) {
            assertContains(refusal(() -> k.dm.create("p", "0 4096 thin-pool /dev/mapper/meta /dev/ram1 " + block + " 0 0")),
                    "Invalid argument", "thin-pool: Invalid block size (-EINVAL)");
        }
        k.dm.create("p", "0 4096 thin-pool /dev/mapper/meta /dev/ram1 128 0 0");
    }

    @Test
    void thinWithAnIdThePoolDoesNotKnowIsRefused() {
        k.dm.create("meta", "0 2048 linear /dev/ram0 0");
        k.dm.create("pool", "0 8192 thin-pool /dev/mapper/meta /dev/ram1 128 0 0");
        assertContains(refusal(() -> k.dm.create("t", "0 4096 thin /dev/mapper/pool 7")),
                "failed: No data available", "thin: Couldn't open thin internal device");
        assertContains(refusal(() -> k.dm.create("t", "0 4096 thin /dev/ram1 0")), "thin: Couldn't find pool object");
        k.dm.message("pool", 0, "create_thin 7");
        k.dm.create("t", "0 4096 thin /dev/mapper/pool 7");
    }

    @Test
    void createOfAnExistingNameIsRefused() {
        k.dm.create("x", "0 8 linear /dev/ram0 0");
        assertEquals("device-mapper: create ioctl on x  failed: Device or resource busy",
                refusal(() -> k.dm.create("x", "0 8 linear /dev/ram1 0")));
        assertEquals("0 8 linear 1:0 0", k.table("x"));
    }

    @Test
    void refusedCreateChangesNothingAndItsMinorIsReused() {
        k.refused(() -> k.dm.create("bad", "0 8 linear /dev/ram0 0\n8 8 linear /dev/nope 0"));
        assertTrue(k.dm.list().isEmpty());
        assertEquals(0, k.devices.openCount("/dev/ram0"));
        assertTrue(k.devices.resolve("/dev/mapper/bad").isEmpty());
        k.dm.create("good", "0 8 linear /dev/ram0 0");
        assertEquals("254:0", k.mm("good"));
    }

    @Test
    void refusedLoadKeepsTheLiveAndInactiveTables() {
        k.dm.create("x", "0 8 linear /dev/ram0 0");
        k.dm.load("x", "0 8 linear /dev/ram1 0");
        k.refused(() -> k.dm.load("x", "0 8 linear /dev/ram1 99999"));
        assertEquals("0 8 linear 1:0 0", k.table("x"));
        k.dm.resume("x");
        assertEquals("0 8 linear 1:1 0", k.table("x"));
    }

    @Test
    void dmNamesAreAtMost127Bytes() {
        k.dm.create("n".repeat(127), "0 8 linear /dev/ram0 0");
        assertContains(refusal(() -> k.dm.create("n".repeat(128), "0 8 linear /dev/ram0 0")), "Invalid argument");
    }

    @Test
    void operationsOnAMissingDeviceAreNoSuchDeviceOrAddress() {
        assertEquals("device-mapper: suspend ioctl on ghost  failed: No such device or address", refusal(() -> k.dm.suspend("ghost")));
        assertContains(refusal(() -> k.dm.load("ghost", "0 8 error")), "reload ioctl on ghost", "No such device or address");
        assertContains(refusal(() -> k.dm.remove("ghost")), "No such device or address");
    }

    @Test
    void messagesGoOnlyToTargetsThatTakeThem() {
        k.dm.create("x", "0 8 linear /dev/ram0 0");
        assertContains(refusal(() -> k.dm.message("x", 0, "create_thin 0")), "Invalid argument", "Target type does not support messages");
    }
}
