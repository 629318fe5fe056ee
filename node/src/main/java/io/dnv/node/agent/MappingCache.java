package io.dnv.node.agent;

import io.dnv.core.kernel.DmTable;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Whether a device's live table maps what its desired table does, remembered from the last
 * pass: comparing means rendering and parsing both tables, for every device of the node on
 * every pass, and between passes almost none of them changes. An answer is reused only for
 * the same desired table, the same live table text and the same numbers of the devices below.
 */
final class MappingCache {

    private record Entry(DmTable desired, String live, List<String> lower, boolean same) {
        boolean answers(DmTable d, String l, List<String> low) {
            return (d == desired || d.equals(desired)) && (l == live || l.equals(live)) && low.equals(lower);
        }
    }

    /** Read and written by several lanes of a pass at once. */
    private final Map<String, Entry> byDevice = new ConcurrentHashMap<>();

    Optional<Boolean> get(String device, DmTable desired, String live, List<String> lower) {
        Entry e = byDevice.get(device);
        return e != null && e.answers(desired, live, lower) ? Optional.of(e.same()) : Optional.empty();
    }

    void put(String device, DmTable desired, String live, List<String> lower, boolean same) {
        byDevice.put(device, new Entry(desired, live, lower, same));
    }

    /** Forgets devices no longer desired. */
    void retainOnly(Set<String> devices) {
        byDevice.keySet().retainAll(devices);
    }
}
