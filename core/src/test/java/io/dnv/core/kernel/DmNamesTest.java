package io.dnv.core.kernel;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A node reads a dm device's volume back from its name: how removals are confirmed gone. */
class DmNamesTest {

    @Test
    void everyKindOfDmNameGivesBackItsVolumeEvenWhenTheVolumeNameHasDashesAndDigits() {
        String vol = "db-01-2";
        List<String> names = List.of(Names.ld("n1", vol, 3, 0, 1), Names.raidMeta("n1", vol, 3, 0, 1), Names.raidData("n1", vol, 3, 0, 1),
                Names.raid1("n1", vol, 3, 0), Names.thinMeta("n1", vol, 3), Names.thinData("n1", vol, 3), Names.pool("n1", vol, 3),
                Names.thin("n1", vol, 3), Names.legExport("n1", vol, 3), Names.snapshotLeg("n1", vol, 12, 3), Names.volume("n1", vol));
        for (String name : names) {
            assertEquals(Optional.of(vol), Names.volumeOfDm("n1", name), name);
            assertEquals(Optional.empty(), Names.volumeOfDm("n2", name), "another node's device: " + name);
        }
        assertEquals(Optional.empty(), Names.volumeOfDm("n1", "dnv-n1-what-v"), "an unknown kind");
        assertEquals(Optional.empty(), Names.volumeOfDm("n1", "dnv-n1-ld-0-0-0"), "no volume left");
        assertEquals(Optional.empty(), Names.volumeOfDm("n1", "vg0-root"));
    }
}
