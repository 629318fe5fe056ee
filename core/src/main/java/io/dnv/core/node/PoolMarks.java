package io.dnv.core.node;

import com.typesafe.config.Config;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Which volumes a {@code StorageNode} tells of their leg pools past the low-water mark, from
 * the pools its agent reports: a volume with one gets them at once when they change and again
 * every {@link #REPEAT} while any stays past (the volume lets a report lapse, so a lost one or
 * a volume started afresh elsewhere hears again soon); a volume with none any more gets one
 * empty report. In memory, as the heartbeats it is read from.
 */
final class PoolMarks {

    /** Config key of the mark: percent of a pool's data or metadata blocks mapped. */
    static final String MARK_KEY = "dnv.pools.low-water-percent";
    static final int DEFAULT_MARK_PERCENT = 80;
    static final Duration REPEAT = Duration.ofSeconds(3);

    final int markPercent;
    private final Map<String, List<PoolUsage>> told = new HashMap<>();
    private final Map<String, Instant> toldAt = new HashMap<>();

    PoolMarks(int markPercent) {
        // The agents name a pool only from REPORTED_FROM_PERCENT on: a lower mark would never be seen.
        if (markPercent < PoolUsage.REPORTED_FROM_PERCENT || markPercent > 100) {
            throw new IllegalArgumentException(MARK_KEY + " must be " + PoolUsage.REPORTED_FROM_PERCENT + "..100, not " + markPercent);
        }
        this.markPercent = markPercent;
    }

    static PoolMarks from(Config config) {
        return new PoolMarks(config.hasPath(MARK_KEY) ? config.getInt(MARK_KEY) : DEFAULT_MARK_PERCENT);
    }

    boolean past(PoolUsage p) {
        return p.usedPercent() >= markPercent || !p.mode().equals("rw");
    }

    /** What to tell now, by volume (an empty list: none past any more), of the volumes with objects here. */
    Map<String, List<PoolUsage>> due(List<PoolUsage> pools, Set<String> volumesHere, Instant now) {
        Map<String, List<PoolUsage>> past = pools.stream().filter(this::past).filter(p -> volumesHere.contains(p.volumeId()))
                .collect(Collectors.groupingBy(PoolUsage::volumeId, LinkedHashMap::new, Collectors.toList()));
        Map<String, List<PoolUsage>> due = new LinkedHashMap<>();
        past.forEach((volume, ps) -> {
            if (!ps.equals(told.get(volume)) || toldAt.get(volume).isBefore(now.minus(REPEAT))) {
                due.put(volume, List.copyOf(ps));
                told.put(volume, List.copyOf(ps));
                toldAt.put(volume, now);
            }
        });
        for (String volume : List.copyOf(told.keySet())) {
            if (!past.containsKey(volume)) {
                due.put(volume, List.of());
                told.remove(volume);
                toldAt.remove(volume);
            }
        }
        return due;
    }
}
