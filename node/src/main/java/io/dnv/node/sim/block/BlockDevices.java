package io.dnv.node.sim.block;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The block devices of one simulated kernel, by path and by major:minor, with their holders.
 * A holder is whatever keeps a device open (a dm table that maps it, an enabled nvmet namespace,
 * a test's open handle); a device with holders cannot be unregistered, as in Linux.
 */
public final class BlockDevices {

    /** A registered device: its /dev path, numbers and the holder names keeping it open. */
    public record Entry(String path, int major, int minor, BlockDevice device, List<String> holders) {
        public String majorMinor() {
            return major + ":" + minor;
        }
    }

    private final Map<String, Entry> byPath = new LinkedHashMap<>();
    private final Map<String, String> aliases = new HashMap<>();
    private final Map<String, List<String>> aliasesOf = new HashMap<>();
    private final Map<Integer, Integer> nextMinor = new HashMap<>();

    public synchronized int allocateMinor(int major) {
        int m = nextMinor.getOrDefault(major, 0);
        nextMinor.put(major, m + 1);
        return m;
    }

    /** Registers a device under its path; extra names (like /dev/dm-3) resolve to it too. */
    public synchronized Entry register(String path, int major, int minor, BlockDevice device, String... otherNames) {
        if (byPath.containsKey(path)) {
            throw new IllegalStateException(path + " already exists");
        }
        Entry e = new Entry(path, major, minor, device, new ArrayList<>());
        byPath.put(path, e);
        List<String> names = new ArrayList<>(List.of(otherNames));
        names.add(e.majorMinor());
        names.forEach(n -> aliases.put(n, path));
        aliasesOf.put(path, names);
        return e;
    }

    /** Finds a device by path, alias or major:minor, as a dm table or configfs may name it. */
    public synchronized Optional<Entry> resolve(String name) {
        Entry e = byPath.get(name);
        if (e == null && aliases.containsKey(name)) {
            e = byPath.get(aliases.get(name));
        }
        return Optional.ofNullable(e);
    }

    public synchronized void open(String path, String holder) {
        Entry e = byPath.get(path);
        if (e == null) {
            throw new IllegalStateException(path + " does not exist");
        }
        e.holders().add(holder);
    }

    public synchronized void close(String path, String holder) {
        Entry e = byPath.get(path);
        if (e != null) {
            e.holders().remove(holder);
        }
    }

    public synchronized int openCount(String path) {
        return holders(path);
    }

    /** {@link #openCount} of each path, under one hold of the lock: an observation asks for thousands. */
    public synchronized int[] openCounts(List<String> paths) {
        int[] counts = new int[paths.size()];
        for (int i = 0; i < counts.length; i++) {
            counts[i] = holders(paths.get(i));
        }
        return counts;
    }

    private int holders(String path) {
        Entry e = byPath.get(path);
        return e == null ? 0 : e.holders().size();
    }

    /** Removes a device; false (nothing changed) while it is open. */
    public synchronized boolean unregister(String path) {
        Entry e = byPath.get(path);
        if (e == null) {
            return true;
        }
        if (!e.holders().isEmpty()) {
            return false;
        }
        byPath.remove(path);
        // A name may have been given to a newer device since: only drop those still pointing here.
        aliasesOf.remove(path).forEach(n -> aliases.remove(n, path));
        return true;
    }

    public synchronized List<Entry> all() {
        return List.copyOf(byPath.values());
    }
}
