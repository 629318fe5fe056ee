package io.dnv.core.volume;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HostContractTest {

    @Test
    void severalActiveControllersAreUsedRoundRobinOneByTheNumaPolicy() {
        assertEquals("numa", HostContract.forVolume(1).iopolicy());
        assertEquals("round-robin", HostContract.forVolume(2).iopolicy());
        assertEquals("round-robin", HostContract.forVolume(VolumeSpec.MAX_ACTIVE).iopolicy());
    }

    @Test
    void hostTimeoutsCoverTwiceDetectionAndFencingAndThePolicyIsOneLinuxTakes() {
        HostContract h = HostContract.forVolume(1);
        assertTrue(Math.min(h.keepAliveTmo(), h.ioTimeout()) >= 2 * h.detectionAndFencingSeconds());
        assertThrows(IllegalArgumentException.class, () -> new HostContract(15, 30, 600, 2, -1, 8, "numa"));
        assertThrows(IllegalArgumentException.class, () -> new HostContract(15, 30, 600, 2, -1, 7, "queue-depth"));
    }
}
