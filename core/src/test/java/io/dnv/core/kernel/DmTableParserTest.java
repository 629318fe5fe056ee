package io.dnv.core.kernel;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

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
        };
        for (String p : printed) {
            DmTable t = DmTableParser.parse(p);
            assertEquals(p, t.render(DeviceRef::symbol), "renders back as printed");
        }
    }

    @Test
    void raid1ComparesByMappingNotByCreationWords() {
        DmTable created = DmTableParser.parse("0 79872 raid raid1 4 0 nosync region_size 1024 2 254:8 254:9 254:10 254:11");
        DmTable wanted = DmTable.of(79872, new DmTarget.Raid1(1024, false, OptionalInt.empty(), List.of(
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
}
