package io.dnv.core.kernel;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tables exactly as Linux 6.1 printed them in the kernel VM, read back into typed targets. */
class DmTableParserTest {

    @Test
    void readsEveryTargetTypeDnvWritesAsLinuxPrintsIt() {
        String[] printed = {
            "0 81920 linear 1:0 0",
            "0 79872 raid raid1 4 0 nosync region_size 1024 2 254:8 254:9 254:10 254:11",
            "0 79872 raid raid1 5 0 rebuild 0 region_size 1024 2 254:8 254:9 254:10 254:11",
            "0 4096 linear 254:20 0\n4096 4096 linear 254:21 0",
            "0 151552 thin-pool 254:23 254:24 2048 8 1 skip_block_zeroing",
            "0 32768 thin 254:27 0",
            "0 65536 raid raid0 1 32 2 - 254:28 - 254:30",
            "0 65536 striped 2 32 254:28 0 254:30 0",
            "0 65536 error",
            "0 16384 clone 254:0 254:1 254:2 1024",
            "0 16384 clone 254:0 254:1 254:2 1024 1 no_hydration",
            "0 16384 clone 254:0 254:1 254:2 8 2 no_hydration no_discard_passdown 4 hydration_threshold 2 hydration_batch_size 8",
        };
        for (String p : printed) {
            DmTable t = DmTableParser.parse(p);
            assertEquals(p, t.render(DeviceRef::symbol), "renders back as printed");
        }
    }

    @Test
    void raid1ComparesByMappingNotByCreationWords() {
        DmTable created = DmTableParser.parse("0 79872 raid raid1 4 0 nosync region_size 1024 2 254:8 254:9 254:10 254:11");
        DmTable wanted = DmTable.of(79872, new DmTarget.Raid1(OptionalLong.of(1024), false, OptionalInt.empty(), List.of(
                DmTarget.Raid1.Side.of(new DeviceRef.Raw("254:8"), new DeviceRef.Raw("254:9")),
                DmTarget.Raid1.Side.of(new DeviceRef.Raw("254:10"), new DeviceRef.Raw("254:11")))));
        assertTrue(created.sameMapping(wanted));
        DmTable degraded = DmTableParser.parse("0 79872 raid raid1 3 0 region_size 1024 2 - - 254:10 254:11");
        assertEquals(Optional.empty(), ((DmTarget.Raid1) degraded.lines().get(0).target()).sides().get(0).meta());
        assertFalse(degraded.sameMapping(wanted));
    }

    @Test
    void refusesWhatDnvNeverWrites() {
        assertThrows(IllegalArgumentException.class, () -> DmTableParser.parse("0 8 crypt aes 0 0 1:0 0"));
        assertThrows(IllegalArgumentException.class, () -> DmTableParser.parse("0 8 linear 1:0"));
        assertThrows(IllegalArgumentException.class, () -> DmTableParser.parse("0 8 linear 1:0 0 extra"));
    }

    /** What dmsetup and Linux's constructors take, the parser reads; Linux's lines, not only dnv's. */
    @Test
    void readsWhatLinuxTakesThatDnvDoesNotWrite() {
        assertEquals(new DmTarget.Error(), DmTableParser.parse("0 8 error words the target ignores").lines().get(0).target());
        assertEquals(new DmTarget.ThinPool(new DeviceRef.Raw("254:1"), new DeviceRef.Raw("254:2"), 128, 0, false, false),
                DmTableParser.parse("0 4096 thin-pool 254:1 254:2 128 0").lines().get(0).target(), "the feature count may be left out");
        assertEquals(new DmTarget.Linear(new DeviceRef.Disk("/dev/ram0"), 0), DmTableParser.parse("# a comment\n0 8 linear /dev/ram0 0\n")
                .lines().get(0).target(), "a path stays a path; comments and blank lines are skipped");
    }

    /** The refusal says what Linux says ("linear: Invalid argument count"), so an agent's log reads like dmesg. */
    @Test
    void refusesInLinuxsWords() {
        String[][] cases = {
            {"0 8 linear 1:0 -1", "linear: Invalid device sector"},
            {"0 8 linear 1:0 +1", "linear: Invalid device sector"},
            {"0 8 linear 1:0", "linear: Invalid argument count"},
            {"0 8 striped 0 32", "striped: Invalid stripe count"},
            {"0 4096 striped 2 32 1:0 0", "striped: Not enough destinations specified"},
            {"0 8 raid raid1 9 0 region_size 8 2 1:0 1:1 1:2 1:3", "raid: Cannot understand number of RAID parameters"},
            {"0 8 raid raid1 3 0 region_size 8 2 1:0 1:1", "raid: Supplied RAID devices does not match the count given"},
            {"0 8 raid raid1 2 0 colour 2 1:0 1:1 1:2 1:3", "raid: Unable to parse RAID parameter: colour"},
            {"0 8 raid raid7 1 0 1 - 1:0", "raid: Unrecognised raid_type"},
            {"0 8 thin-pool 1:0 1:1 1x8 0 0", "thin-pool: Invalid block size"},
            {"0 8 thin-pool 1:0 1:1 128 0 1 zeroing", "thin-pool: Unrecognised pool feature requested"},
            {"0 8 thin 1:0 x", "thin: Invalid device id"},
            {"0 abc linear 1:0 0", "Invalid format on line 1 of table"},
            {"0 8 clone 1:0 1:1 1:2", "clone: Invalid number of arguments"},
            {"0 8 clone 1:0 1:1 1:2 x", "clone: Invalid region size"},
            {"0 8 clone 1:0 1:1 1:2 8 3 no_hydration", "clone: Invalid number of feature arguments"},
            {"0 8 clone 1:0 1:1 1:2 8 1 hydrate", "clone: Invalid feature argument"},
            {"0 8 clone 1:0 1:1 1:2 8 0 1 hydration_threshold", "clone: Number of core arguments must be even"},
            {"0 8 clone 1:0 1:1 1:2 8 0 2 hydration_speed 1", "clone: Invalid core argument"},
            {"0 8 clone 1:0 1:1 1:2 8 0 2 hydration_threshold -1", "clone: Invalid value for argument `hydration_threshold'"},
        };
        for (String[] c : cases) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DmTableParser.parse(c[0]), c[0]);
            assertTrue(e.getMessage().startsWith(c[1]), c[0] + " -> " + e.getMessage());
        }
    }
}
