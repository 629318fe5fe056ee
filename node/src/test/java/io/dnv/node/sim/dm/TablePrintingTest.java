package io.dnv.node.sim.dm;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tables and statuses as `dmsetup table` / `dmsetup status` printed them on Linux 6.1 (the
 * kernel-vm README's "Tables the kernel accepted", sizes kept), devices as major:minor.
 */
class TablePrintingTest {

    @TempDir
    Path tmp;
    DmTestBed k;

    @BeforeEach
    void setUp() {
        k = new DmTestBed(tmp);
        k.disk("/dev/ram0", 1, 0, 163840);
        k.disk("/dev/nvme1n1", 259, 1, 81920);
        k.disk("/dev/nvme2n1", 259, 2, 81920);
    }

    @AfterEach
    void tearDown() throws Exception {
        k.close();
    }

    private String raid1Sides(String prefix) {
        return k.sides(prefix, List.of("/dev/nvme1n1", "/dev/nvme2n1"), 0, 79872);
    }

    private String numbers(String prefix) {
        return String.join(" ", k.mm(prefix + "0-m"), k.mm(prefix + "0-d"), k.mm(prefix + "1-m"), k.mm(prefix + "1-d"));
    }

    @Test
    void linearPrintsTheDeviceAsMajorMinor() {
        k.dm.create("dnv-ld-g0a", "0 81920 linear /dev/ram0 0");
        k.dm.create("dnv-g0a-d", "0 79872 linear /dev/nvme1n1 2048");
        assertEquals("0 81920 linear 1:0 0", k.table("dnv-ld-g0a"));
        assertEquals("0 79872 linear 259:1 2048", k.table("dnv-g0a-d"));
        assertEquals("0 81920 linear", k.status("dnv-ld-g0a"));
    }

    @Test
    void raid1MovesNosyncBeforeRegionSize() {
        String sides = raid1Sides("g0");
        k.dm.create("dnv-g0-r1", "0 79872 raid raid1 4 0 region_size 1024 nosync " + sides);
        assertEquals("0 79872 raid raid1 4 0 nosync region_size 1024 2 " + numbers("g0"), k.table("dnv-g0-r1"));
        assertEquals("0 79872 raid raid1 2 AA 79872/79872 idle 0 0 -", k.status("dnv-g0-r1"));
    }

    @Test
    void raid1WithoutNosyncPrintsThreeParams() {
        k.dm.create("dnv-g1-r1", "0 79872 raid raid1 3 0 region_size 1024 " + raid1Sides("g1"));
        assertEquals("0 79872 raid raid1 3 0 region_size 1024 2 " + numbers("g1"), k.table("dnv-g1-r1"));
        assertEquals("0 79872 raid raid1 2 AA 79872/79872 idle 0 0 -", k.settled("dnv-g1-r1"));
    }

    /** raid_status prints region_size only when the table gave one (dm-raid's CTR_FLAG_REGION_SIZE). */
    @Test
    void raid1WithoutRegionSizePrintsNone() {
        k.dm.create("dnv-g3-r1", "0 79872 raid raid1 1 0 " + raid1Sides("g3"));
        assertEquals("0 79872 raid raid1 1 0 2 " + numbers("g3"), k.table("dnv-g3-r1"));
    }

    /** A given region_size 0 asks for the kernel's default, and the table prints the region it chose. */
    @Test
    void raid1RegionSizeZeroIsTheDefaultPrintedAsChosen() {
        k.dm.create("dnv-g4-r1", "0 79872 raid raid1 3 0 region_size 0 " + raid1Sides("g4"));
        assertEquals("0 79872 raid raid1 3 0 region_size 8192 2 " + numbers("g4"), k.table("dnv-g4-r1"));
    }

    @Test
    void raid1RebuildStaysInTheLiveTableUntilTheNextReload() {
        String sides = raid1Sides("g2");
        k.dm.create("dnv-g2-r1", "0 79872 raid raid1 4 0 region_size 1024 nosync " + sides);
        k.dm.suspend("dnv-g2-r1");
        k.dm.load("dnv-g2-r1", "0 79872 raid raid1 5 0 region_size 1024 rebuild 0 " + sides);
        k.dm.resume("dnv-g2-r1");
        assertEquals("0 79872 raid raid1 5 0 rebuild 0 region_size 1024 2 " + numbers("g2"), k.table("dnv-g2-r1"));
        assertEquals("0 79872 raid raid1 2 AA 79872/79872 idle 0 0 -", k.settled("dnv-g2-r1"));
    }

    @Test
    void thinPoolThinAndTwoLineConcatenation() {
        k.dm.create("tmeta-a", "0 4096 linear /dev/ram0 0");
        k.dm.create("tmeta-b", "0 4096 linear /dev/ram0 4096");
        k.dm.create("dnv-leg0-tmeta", "0 4096 linear /dev/mapper/tmeta-a 0\n4096 4096 linear /dev/mapper/tmeta-b 0");
        k.dm.create("dnv-leg0-tdata", "0 151552 linear /dev/ram0 8192");
        k.dm.create("dnv-pool0", "0 151552 thin-pool /dev/mapper/dnv-leg0-tmeta /dev/mapper/dnv-leg0-tdata 2048 8 1 skip_block_zeroing");
        k.dm.message("dnv-pool0", 0, "create_thin 0");
        k.dm.create("dnv-leg0", "0 32768 thin /dev/mapper/dnv-pool0 0");
        assertEquals("0 4096 linear " + k.mm("tmeta-a") + " 0\n4096 4096 linear " + k.mm("tmeta-b") + " 0", k.table("dnv-leg0-tmeta"));
        assertEquals("0 151552 thin-pool " + k.mm("dnv-leg0-tmeta") + " " + k.mm("dnv-leg0-tdata") + " 2048 8 1 skip_block_zeroing",
                k.table("dnv-pool0"));
        assertEquals("0 32768 thin " + k.mm("dnv-pool0") + " 0", k.table("dnv-leg0"));
        String pool = k.status("dnv-pool0");
        assertTrue(pool.matches("0 151552 thin-pool 0 \\d+/1024 0/74 - rw no_discard_passdown queue_if_no_space - 256"), pool);
        assertEquals("0 32768 thin 0 -", k.status("dnv-leg0"));
        DmTestBed.write(k.dev("dnv-leg0"), 2048 * 512L, new byte[4096]);
        assertEquals("0 32768 thin 2048 4095", k.status("dnv-leg0"));
        assertTrue(k.status("dnv-pool0").contains(" 1/74 - rw "), k.status("dnv-pool0"));
    }

    @Test
    void thinPoolFeaturesPrintSkipBlockZeroingFirst() {
        k.dm.create("m", "0 8192 linear /dev/ram0 0");
        k.dm.create("p", "0 65536 thin-pool /dev/mapper/m /dev/nvme1n1 128 0 2 error_if_no_space skip_block_zeroing");
        assertEquals("0 65536 thin-pool " + k.mm("m") + " 259:1 128 0 2 skip_block_zeroing error_if_no_space", k.table("p"));
        assertTrue(k.status("p").contains(" rw no_discard_passdown error_if_no_space - "), k.status("p"));
        k.dm.create("q", "0 65536 thin-pool /dev/nvme2n1 /dev/nvme1n1 128 0");
        assertEquals("0 65536 thin-pool 259:2 259:1 128 0 0", k.table("q"));
    }

    @Test
    void raid0AndStripedAndError() {
        k.dm.create("dnv-vol", "0 65536 raid raid0 1 32 2 - /dev/nvme1n1 - /dev/nvme2n1");
        assertEquals("0 65536 raid raid0 1 32 2 - 259:1 - 259:2", k.table("dnv-vol"));
        assertEquals("0 65536 raid raid0 2 AA 32768/32768 idle 0 0 -", k.status("dnv-vol"));
        k.dm.create("str", "0 65536 striped 2 32 /dev/nvme1n1 0 /dev/nvme2n1 0");
        assertEquals("0 65536 striped 2 32 259:1 0 259:2 0", k.table("str"));
        assertEquals("0 65536 striped 2 259:1 259:2 1 AA", k.status("str"));
        k.dm.create("dnv-vol-sb", "0 65536 error");
        assertEquals("0 65536 error", k.table("dnv-vol-sb"));
        assertEquals("0 65536 error", k.status("dnv-vol-sb"));
    }
}
