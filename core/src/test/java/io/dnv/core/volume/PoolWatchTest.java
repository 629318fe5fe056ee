package io.dnv.core.volume;

import io.dnv.core.node.PoolUsage;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PoolWatchTest {

    @Test
    void fullWhileAFreshReportNamesAPoolAndNotAfterItLapsesOrClears() {
        PoolWatch watch = new PoolWatch();
        Instant t = Instant.parse("2026-01-01T00:00:00Z");
        assertEquals(Optional.empty(), watch.pastMark(t));
        watch.report("n2", 80, List.of(new PoolUsage("v", 1, 85, 100, 10, 1000, "rw")), t);
        watch.report("n1", 80, List.of(new PoolUsage("v", 0, 100, 100, 10, 1000, "out_of_data_space")), t);
        String why = watch.pastMark(t.plusSeconds(1)).orElseThrow();
        assertTrue(why.startsWith("leg 0's pool on n1 is 100 % used (out_of_data_space), past the low-water mark of 80 %; "
                + "leg 1's pool on n2 is 85 % used"), why);
        watch.report("n1", 80, List.of(), t.plusSeconds(2));
        assertTrue(watch.pastMark(t.plusSeconds(2)).orElseThrow().startsWith("leg 1's pool on n2"));
        assertEquals(Optional.empty(), watch.pastMark(t.plus(PoolWatch.FRESH).plusSeconds(1)), "a report not repeated lapses");
    }
}
