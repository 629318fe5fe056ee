package io.dnv.node.sim.nvme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

class KernelLogTest {

    @Test
    void linesAreStampedWithTheUptimeAsTheKernelPrintsIt() {
        for (long micros : List.of(0L, 7L, 123_456L, 1_000_000L, 86_400_123_456L, 123_456_789_012_345L)) {
            assertEquals(String.format(Locale.ROOT, "[%12.6f] ", micros / 1e6), KernelLog.stamp(micros));
        }
    }

    @Test
    void aFullBufferDropsItsOldestLines() {
        KernelLog log = new KernelLog();
        for (int i = 0; i < KernelLog.LINES + 3; i++) {
            log.log("line " + i);
        }
        List<String> lines = log.lines();
        assertEquals(KernelLog.LINES, lines.size());
        assertTrue(lines.get(0).endsWith("] line 3"), lines.get(0));
        assertTrue(lines.get(lines.size() - 1).endsWith("] line " + (KernelLog.LINES + 2)));
    }
}
