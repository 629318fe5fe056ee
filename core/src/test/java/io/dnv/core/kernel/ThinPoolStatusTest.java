package io.dnv.core.kernel;

import io.dnv.core.node.PoolUsage;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ThinPoolStatusTest {

    /** As Linux 6.1 prints a pool with error_if_no_space, then one that ran out of data space. */
    @Test
    void readsUsageAndModeAsDmThinPrintsThem() {
        ThinPoolStatus s = ThinPoolStatus.parse("0 204800 thin-pool 3 30/1024 80/100 - rw no_discard_passdown error_if_no_space - 256")
                .orElseThrow();
        assertEquals(new ThinPoolStatus(30, 1024, 80, 100, "rw"), s);
        assertEquals(80, s.dataPercent());
        assertEquals(2, s.metaPercent());
        assertEquals(80, s.usedPercent());
        assertFalse(s.outOfDataSpace());
        ThinPoolStatus full = ThinPoolStatus.parse("0 204800 thin-pool 0 900/1024 100/100 - out_of_data_space no_discard_passdown "
                + "error_if_no_space - 256").orElseThrow();
        assertTrue(full.outOfDataSpace());
        assertEquals(100, full.usedPercent());
        assertEquals(87, ThinPoolStatus.parse("0 8 thin-pool 0 900/1024 1/100 - rw discard_passdown queue_if_no_space - 256")
                .orElseThrow().usedPercent(), "metadata running out counts as much as data");
    }

    @Test
    void anythingElseIsNoUsage() {
        assertEquals(Optional.empty(), ThinPoolStatus.parse("0 204800 thin-pool Fail"));
        assertEquals(Optional.empty(), ThinPoolStatus.parse("0 2048 thin 1024 2047"));
        assertEquals(Optional.empty(), ThinPoolStatus.parse("0 204800 thin-pool 0 x/1024 1/100 - rw"));
        assertEquals(Optional.empty(), ThinPoolStatus.parse(""));
    }

    /** A pool is known by its dm name, the one {@link Names#pool} gives; another device's status is not a pool's. */
    @Test
    void aLegsPoolIsReadBackFromItsName() {
        String status = "0 204800 thin-pool 0 10/1024 60/100 - rw no_discard_passdown error_if_no_space - 256";
        ObservedKernel.Dm pool = new ObservedKernel.Dm(Names.pool("n1", "vol-7", 3), "253:4", "", status, false, 1);
        assertEquals(Optional.of(new PoolUsage("vol-7", 3, 60, 100, 10, 1024, "rw")), PoolUsage.of("n1", pool));
        assertEquals(Optional.empty(), PoolUsage.of("n2", pool), "another node's");
        ObservedKernel.Dm thin = new ObservedKernel.Dm(Names.thin("n1", "vol-7", 3), "253:5", "", status, false, 0);
        assertEquals(Optional.empty(), PoolUsage.of("n1", thin), "not a pool's name");

        ObservedKernel.Dm low = new ObservedKernel.Dm(Names.pool("n1", "a", 0), "253:6", "",
                "0 204800 thin-pool 0 10/1024 10/100 - rw no_discard_passdown error_if_no_space - 256", false, 1);
        ObservedKernel.Dm out = new ObservedKernel.Dm(Names.pool("n1", "b", 1), "253:7", "",
                "0 204800 thin-pool 0 10/1024 10/100 - out_of_data_space no_discard_passdown error_if_no_space - 256", false, 1);
        ObservedKernel.Dm fuller = new ObservedKernel.Dm(Names.pool("n1", "c", 0), "253:8", "",
                "0 204800 thin-pool 0 10/1024 90/100 - rw no_discard_passdown error_if_no_space - 256", false, 1);
        ObservedKernel k = new ObservedKernel(List.of(low, pool, thin, out, fuller), List.of(), List.of(), List.of(), List.of(), List.of(), "");
        assertEquals(List.of("c/0", "vol-7/3", "b/1"), PoolUsage.reported("n1", k, 50).stream()
                .map(p -> p.volumeId() + "/" + p.leg()).toList(), "past the mark or not rw, the fullest first");
    }
}
