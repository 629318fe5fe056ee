package io.dnv.node.agent;

import io.dnv.core.kernel.DiskRange;
import io.dnv.node.kernel.Kernel;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Zeroes the free ranges of the node's disk that the control plane does not know to be zero
 * (the whole disk when it registers, every extent once released: {@code DesiredNode.toZero}),
 * in chunks from each range's start, on the disk the configuration names, and says how far it
 * got ({@link #cleaned}); the control plane offers a range to volumes only once it was
 * reported zeroed. Zeroing a range no reservation holds is always safe, and the control plane
 * never reserves a range before it was reported zeroed, so the agent may zero whatever the
 * newest desired state names, again after a restart (progress lives in the control plane's
 * journal: a restarted agent is told the ranges left, from where it had got to).
 *
 * A range is known by its epoch and end: the control plane trims a range from its start as
 * reports arrive, and a range freed again later has a new epoch, so a report never vouches for
 * bytes written after the zeroing it reports.
 */
final class DiskCleaning {

    private record Key(long epoch, long endSector) {}

    private record Chunk(Key range, long fromSector, long sectors) {}

    private final Optional<String> disk;
    /** The ranges of the newest desired state, and how far each is zeroed (a sector, from its start on). */
    private final List<DiskRange> wanted = new ArrayList<>();
    private final Map<Key, Long> zeroedTo = new HashMap<>();
    private Runnable onWork = () -> { };
    private Runnable onCleaned = () -> { };

    /** {@code disk}: the physical disk the node's configuration names; a node without one zeroes nothing. */
    DiskCleaning(Optional<String> disk) {
        this.disk = disk;
    }

    /** The ranges of the newest desired state: those it no longer names are clean (reported) or taken, and dropped. */
    synchronized void want(List<DiskRange> toZero) {
        Map<Key, Long> before = new HashMap<>(zeroedTo);
        wanted.clear();
        zeroedTo.clear();
        if (disk.isEmpty()) {
            return;
        }
        for (DiskRange r : toZero) {
            Key k = new Key(r.epoch(), r.endSector());
            wanted.add(r);
            zeroedTo.put(k, Math.max(r.startSector(), before.getOrDefault(k, r.startSector())));
        }
        if (wanted.stream().anyMatch(r -> zeroedTo.get(key(r)) < r.endSector())) {
            onWork.run();
        }
    }

    /** The parts of the wanted ranges zeroed so far, for the heartbeat. */
    synchronized List<DiskRange> cleaned() {
        List<DiskRange> done = new ArrayList<>();
        for (DiskRange r : wanted) {
            long to = zeroedTo.get(key(r));
            if (to > r.startSector()) {
                done.add(new DiskRange(r.startSector(), to - r.startSector(), r.epoch()));
            }
        }
        return done;
    }

    synchronized void onWork(Runnable wake) {
        onWork = wake;
    }

    /** Called (from the worker's thread) after every chunk, so the agent reports it. */
    synchronized void onCleaned(Runnable cleaned) {
        onCleaned = cleaned;
    }

    /**
     * Zeroes the next chunk of the first range not all zero yet; false when there is none. No
     * lock is held while the kernel zeroes; a refusal is thrown, and the worker tries again later.
     */
    boolean zeroNext(Kernel kernel) {
        Chunk c = next();
        if (c == null) {
            return false;
        }
        kernel.zeroOut(disk.get(), c.fromSector() * 512, c.sectors() * 512);
        zeroed(c);
        return true;
    }

    private synchronized Chunk next() {
        for (DiskRange r : wanted) {
            long from = zeroedTo.get(key(r));
            if (from < r.endSector()) {
                return new Chunk(key(r), from, Math.min(Zeroing.CHUNK_BYTES / 512, r.endSector() - from));
            }
        }
        return null;
    }

    /** Records the chunk done, unless the desired state dropped its range meanwhile. */
    private synchronized void zeroed(Chunk c) {
        Long at = zeroedTo.get(c.range());
        if (at != null && at == c.fromSector()) {
            zeroedTo.put(c.range(), c.fromSector() + c.sectors());
            onCleaned.run();
        }
    }

    private static Key key(DiskRange r) {
        return new Key(r.epoch(), r.endSector());
    }
}
