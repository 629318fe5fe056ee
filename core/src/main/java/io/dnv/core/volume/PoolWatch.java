package io.dnv.core.volume;

import io.dnv.core.node.PoolUsage;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A volume's leg pools past the low-water mark, as their owners' {@code StorageNode}s report
 * them. In memory, as heartbeats are: facts, not decisions. A node repeats its report while a
 * pool stays past the mark and sends an empty one when none is any more, so a report not
 * repeated within {@link #FRESH} (a lost one, a node gone silent, this entity started afresh on
 * another member) lapses instead of keeping the volume FULL forever.
 *
 * <p>A pool past the mark makes the volume grow its pools (GrowPools); when that cannot be
 * placed the volume is FULL: more snapshots would risk the origin's writes (the planner's pools
 * use error_if_no_space: a write with no block left fails at once).
 */
final class PoolWatch {

    /** A node's report lapses this long after it was received: several times the nodes' repeat. */
    static final Duration FRESH = Duration.ofSeconds(15);

    private record Report(int markPercent, List<PoolUsage> pools, Instant at) {}

    private final Map<String, Report> byNode = new HashMap<>();

    void report(String nodeId, int markPercent, List<PoolUsage> pools, Instant now) {
        if (pools.isEmpty()) {
            byNode.remove(nodeId);
        } else {
            byNode.put(nodeId, new Report(markPercent, List.copyOf(pools), now));
        }
    }

    /** Which pools are past the mark, in words, or empty when no fresh report names one. */
    Optional<String> pastMark(Instant now) {
        byNode.values().removeIf(r -> r.at().isBefore(now.minus(FRESH)));
        List<String> why = new ArrayList<>();
        byNode.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> e.getValue().pools().stream()
                .sorted(Comparator.comparingInt(PoolUsage::leg))
                .forEach(p -> why.add("leg " + p.leg() + "'s pool on " + e.getKey() + " is " + p.usedPercent() + " % used"
                        + (p.mode().equals("rw") ? "" : " (" + p.mode() + ")") + ", past the low-water mark of "
                        + e.getValue().markPercent() + " %")));
        return why.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", why));
    }
}
