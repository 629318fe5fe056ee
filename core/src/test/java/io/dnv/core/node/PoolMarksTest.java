package io.dnv.core.node;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PoolMarksTest {

    private static PoolUsage pool(String volume, int leg, long used, String mode) {
        return new PoolUsage(volume, leg, used, 100, 10, 1000, mode);
    }

    /** Told at once, again only on a change or after REPEAT, and once empty when none is past any more. */
    @Test
    void aVolumeHearsOfItsPoolsPastTheMarkAndWhenNoneIs() {
        PoolMarks marks = new PoolMarks(80);
        Instant t = Instant.parse("2026-01-01T00:00:00Z");
        PoolUsage a0 = pool("a", 0, 85, "rw");
        PoolUsage b1 = pool("b", 1, 60, "out_of_data_space");
        PoolUsage c0 = pool("c", 0, 79, "rw");
        PoolUsage gone = pool("gone", 0, 99, "rw");
        Set<String> here = Set.of("a", "b", "c");
        assertEquals(Map.of("a", List.of(a0), "b", List.of(b1)), marks.due(List.of(a0, b1, c0, gone), here, t),
                "past the mark or not rw; a volume without objects here is not told");
        assertEquals(Map.of(), marks.due(List.of(a0, b1, c0), here, t.plusSeconds(1)), "nothing new");
        PoolUsage a0More = pool("a", 0, 90, "rw");
        assertEquals(Map.of("a", List.of(a0More)), marks.due(List.of(a0More, b1), here, t.plusSeconds(2)), "a change at once");
        assertEquals(Map.of("b", List.of(b1)), marks.due(List.of(a0More, b1), here, t.plus(PoolMarks.REPEAT).plusSeconds(1)),
                "repeated while past");
        assertEquals(Map.of("a", List.of(), "b", List.of()), marks.due(List.of(c0), here, t.plusSeconds(5)), "none past any more");
        assertEquals(Map.of(), marks.due(List.of(c0), here, t.plusSeconds(6)), "said once");
    }

    @Test
    void theMarkIsAPercent() {
        assertThrows(IllegalArgumentException.class, () -> new PoolMarks(PoolUsage.REPORTED_FROM_PERCENT - 1));
        assertThrows(IllegalArgumentException.class, () -> new PoolMarks(101));
        assertEquals(PoolMarks.DEFAULT_MARK_PERCENT, PoolMarks.from(com.typesafe.config.ConfigFactory.empty()).markPercent);
        assertEquals(90, PoolMarks.from(com.typesafe.config.ConfigFactory.parseString(PoolMarks.MARK_KEY + " = 90")).markPercent);
    }
}
