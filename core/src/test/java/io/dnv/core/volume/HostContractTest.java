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
        assertTrue(Math.min(h.keepAliveTmo(), h.ioTimeout()) * 1000 >= 2 * h.detectionAndFencingMillis());
        // The bound: hosts notice a dead path within a few seconds, not Linux's default 5 s or more.
        assertTrue(h.keepAliveTmo() <= 3, "published keep-alive " + h.keepAliveTmo() + " s");
        assertThrows(IllegalArgumentException.class, () -> new HostContract(3, 30, 600, 2, -1, 1501, "numa"));
        new HostContract(3, 30, 600, 2, -1, 1500, "numa");
        assertThrows(IllegalArgumentException.class, () -> new HostContract(3, 30, 600, 2, -1, 1500, "queue-depth"));
    }
}
