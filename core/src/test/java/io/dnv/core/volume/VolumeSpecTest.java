package io.dnv.core.volume;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A spec the API would refuse is never a spec: the entity, the placer and the planner see only valid sizes. */
class VolumeSpecTest {

    @Test
    void sizesAreWholeMebibytesUpTo64Tebibytes() {
        for (long size : new long[]{0, -1048576, 1000, (1 << 20) + 512, (64L << 40) + (1 << 20), Long.MAX_VALUE, Long.MIN_VALUE}) {
            assertThrows(IllegalArgumentException.class, () -> new VolumeSpec(size, 1, 1, 4, 2), "size " + size);
        }
        assertEquals(1 << 20, new VolumeSpec(1 << 20, 1, 1, 4, 2).sizeBytes());
        assertEquals(64L << 40, new VolumeSpec(64L << 40, 1, 1, 4, 2).sizeBytes());
    }
}
