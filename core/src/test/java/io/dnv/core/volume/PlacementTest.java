package io.dnv.core.volume;

import io.dnv.core.plan.CntlidRanges;
import io.dnv.core.plan.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A failover's steps on a placement: fence, promote, forget the failed owner's paths, add a standby, end. */
class PlacementTest {

    private static final VolumeSpec TWO = new VolumeSpec(64L << 20, 2, 1, 2, 2);

    @Test
    void anActiveFailsItsSlotGoesToTheStandbyAndItsCntlidRangeStaysTakenUntilTheEnd() {
        Placement p = Fixtures.placement(TWO, VolumeLayout.of(TWO), false);
        Placement fenced = p.fencing("n2");
        assertEquals(Placement.Role.FENCED, fenced.controllers().get(1).role());
        assertEquals(Set.of("n2"), fenced.lost());
        assertEquals(1, fenced.fencedActive("n2", 2).getAsInt());
        assertTrue(fenced.fencedActive("n1", 2).isEmpty());

        Placement promoting = fenced.promoting(1, 7);
        assertEquals(List.of("n1", "n3", "n2"), promoting.controllers().stream().map(Placement.Controller::nodeId).toList());
        Placement.Controller successor = promoting.controllers().get(1);
        assertEquals(Placement.Role.ACTIVE, successor.role());
        assertEquals(7, successor.anaGroup());
        assertEquals(2, successor.idSlot(1), "the standby keeps its cntlid ranges in its new slot");
        assertEquals("n2", successor.replacing());
        assertEquals(Placement.Role.FENCED, promoting.controllers().get(2).role());
        assertEquals(1, promoting.controllers().get(2).idSlot(2), "the failed controller keeps its ranges while it is there");
        assertEquals(3, promoting.nextIdSlot(CntlidRanges.SLOTS).getAsInt(), "after the highest range taken");

        Placement promoted = promoting.promoted();
        assertNull(promoted.controllers().get(1).replacing());
        Placement withStandby = promoted.withStandby(new Placement.Controller("n4", Placement.Role.STANDBY, 3, 2, 3));
        Placement ended = withStandby.withoutFenced(2);
        assertEquals(List.of("n1", "n3", "n4"), ended.controllers().stream().map(Placement.Controller::nodeId).toList());
        assertEquals(Set.of("n2"), ended.lost(), "its disk stays lost");
    }

    @Test
    void aFencedActiveNobodyReplacedStaysInItsSlot() {
        VolumeSpec one = new VolumeSpec(64L << 20, 1, 0, 2, 2);
        Placement fenced = Fixtures.placement(one, VolumeLayout.of(one), false).fencing("n1");
        assertEquals(List.of(Placement.Role.FENCED), fenced.withoutFenced(1).controllers().stream().map(Placement.Controller::role).toList());
    }

    @Test
    void cntlidSlotsGoRoundSoARecentlyFailedRangeIsTheLastHandedOutAgain() {
        List<Placement.Controller> cs = List.of(new Placement.Controller("a", Placement.Role.ACTIVE, 3, 2, 11),
                new Placement.Controller("b", Placement.Role.STANDBY, 3, 2, 0));
        Placement p = new Placement(cs, List.of());
        assertEquals(1, p.nextIdSlot(CntlidRanges.SLOTS).getAsInt());
        List<Placement.Controller> all = new java.util.ArrayList<>();
        for (int i = 0; i < CntlidRanges.SLOTS; i++) {
            all.add(new Placement.Controller("x" + i, Placement.Role.STANDBY, 3, 2, i));
        }
        assertTrue(new Placement(all, List.of()).nextIdSlot(CntlidRanges.SLOTS).isEmpty());
    }
}
