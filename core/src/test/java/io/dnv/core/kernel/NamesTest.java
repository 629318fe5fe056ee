package io.dnv.core.kernel;

import io.dnv.core.volume.VolumeSpec;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Why volume ids stop at 40: every name derived from one must fit the kernel's limits. */
class NamesTest {

    private static final String NODE = "n".repeat(20);
    private static final int LEG = VolumeSpec.MAX_ACTIVE * VolumeSpec.MAX_LEGS_PER_CONTROLLER - 1;
    private static final int GROUP = Integer.MAX_VALUE;
    private static final int SIDE = VolumeSpec.MAX_REPLICAS - 1;

    @Test
    void everyNameOfTheLongestVolumeIdWithTheLongestNodeIdAndNumbersFitsTheKernel() {
        String vol = "v".repeat(Names.VOLUME_ID_MAX);
        assertTrue(Names.isVolumeId(vol) && Names.isNodeId(NODE));
        for (String dm : dmNames(vol)) {
            assertTrue(dm.length() <= Names.DM_NAME_MAX, dm);
        }
        for (String nqn : nqns(vol)) {
            assertTrue(Nqn.valid(nqn), nqn);
        }
    }

    /** The kernel's limits would take ids up to 82 bytes; the rule keeps well inside them. */
    @Test
    void theDmNameLimitIsWhatBindsAVolumeIdAt82() {
        dmNames("v".repeat(82));
        nqns("v".repeat(82));
        assertThrows(IllegalArgumentException.class, () -> dmNames("v".repeat(83)));
        assertTrue(Names.VOLUME_ID_MAX <= 82);
        assertTrue(!Names.isVolumeId("v".repeat(Names.VOLUME_ID_MAX + 1)));
    }

    /** What an agent takes for a volume's export to its hosts (its port's groups are what a cut-off node turns inaccessible). */
    @Test
    void onlyAVolumesOwnExportIsAVolumeExport() {
        String vol = "vol";
        assertTrue(Names.isVolumeNqn(Names.volumeNqn(vol)));
        for (String other : List.of(Names.ldNqn(vol, 0, 0, 0, NODE), Names.legNqn(vol, 0), Names.hostNqn(NODE), "nqn.2024-01.io.dnv:volx")) {
            assertTrue(!Names.isVolumeNqn(other), other);
        }
    }

    private static List<String> dmNames(String vol) {
        return List.of(Names.ld(NODE, vol, LEG, GROUP, SIDE), Names.raidMeta(NODE, vol, LEG, GROUP, SIDE),
                Names.raidData(NODE, vol, LEG, GROUP, SIDE), Names.raid1(NODE, vol, LEG, GROUP), Names.thinMeta(NODE, vol, LEG),
                Names.thinData(NODE, vol, LEG), Names.pool(NODE, vol, LEG), Names.thin(NODE, vol, LEG),
                Names.legExport(NODE, vol, LEG), Names.volume(NODE, vol));
    }

    private static List<String> nqns(String vol) {
        return List.of(Names.ldNqn(vol, LEG, GROUP, SIDE, NODE), Names.legNqn(vol, LEG), Names.volumeNqn(vol), Names.hostNqn(NODE),
                Names.witnessNqn(NODE));
    }

    @Test
    void aWitnessExportIsNoInternalExportAndNamesItsNode() {
        String nqn = Names.witnessNqn("n3");
        assertTrue(Names.isWitnessNqn(nqn));
        // Taking a host off it fences nothing: it has no namespace and holds no write.
        assertTrue(!Names.isInternalNqn(nqn));
        assertTrue(!Names.isWitnessNqn(Names.legNqn("witness", 0)) && !Names.isWitnessNqn(Names.volumeNqn("witness")));
    }
}
