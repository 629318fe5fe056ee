package io.dnv.node.agent;

import io.dnv.core.kernel.ObservedKernel;
import io.dnv.node.kernel.Kernel;
import io.dnv.node.kernel.KernelException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * How the agent looks at its kernel. A whole look lists every dm device, and a node serving a
 * thousand volumes holds tens of thousands: seconds on Linux, taken several times per pass of a
 * failover. A look taken a moment ago is still the truth but for what the node's own hands changed
 * since ({@link KernelChanges}): those devices are read again by name, with the nvmet and host
 * sides (read whole every time) and, every {@link #POOLS_READ_EVERY}, the thin pools (their usage
 * moves with the writes).
 *
 * <p>What else changes with no hand of the node stays as the look before saw it unless asked for:
 * a raid1 group's status when its imports went down or came back (the agent's {@link SideWatcher}
 * says so, and the next pass reads every raid1 group again), a device's open count (nothing here
 * reads it), a hand on the node. So a look builds on a whole one for at most {@code wholeEvery},
 * and the periodic resync looks whole.
 */
final class KernelLooks {

    /**
     * What a look showed, the node's change count when it began, when the whole look it builds on
     * ended and when it last read the thin pools (System.nanoTime).
     */
    record Look(ObservedKernel observed, long changes, long wholeAtNanos, long poolsAtNanos) {}

    /**
     * How old the thin pools' statuses in a look may be: the pool watch grows a pool past its mark
     * from what the passes report, before the writes fill it. A node serving a thousand volumes
     * holds as many pools, and a failover's passes look every second or more often.
     */
    static final Duration POOLS_READ_EVERY = Duration.ofSeconds(2);

    private final Kernel kernel;
    private final KernelChanges changes;
    private final long wholeEveryNanos;

    /** {@code wholeEvery}: zero, every look is whole. */
    KernelLooks(Kernel kernel, KernelChanges changes, Duration wholeEvery) {
        this.kernel = kernel;
        this.changes = changes;
        this.wholeEveryNanos = wholeEvery.toNanos();
    }

    Look whole() {
        long count = changes.count();
        ObservedKernel observed = kernel.observe();
        long now = System.nanoTime();
        return new Look(observed, count, now, now);
    }

    /**
     * The kernel now, as {@code before} with what changed since read again; whole when
     * {@code before} builds on a whole look older than {@code wholeEvery}, when the changes since
     * are no longer all remembered or name half the devices or more, when the machine booted
     * since, or when a device changed went away while it was read. {@code alsoRead}: dm devices
     * whose status may have moved by itself (raid1 groups after their imports went down).
     */
    Look since(Look before, Collection<String> alsoRead) {
        if (System.nanoTime() - before.wholeAtNanos() >= wholeEveryNanos) {
            return whole();
        }
        long count = changes.count();
        Optional<Set<String>> changed = changes.devicesChangedSince(before.changes());
        if (changed.isEmpty()) {
            return whole();
        }
        Set<String> names = new HashSet<>(changed.get());
        names.addAll(alsoRead);
        long started = System.nanoTime();
        boolean pools = started - before.poolsAtNanos() >= POOLS_READ_EVERY.toNanos();
        if (pools) {
            before.observed().dmDevices().stream().filter(KernelLooks::pool).forEach(d -> names.add(d.name()));
        }
        if (names.size() * 2 >= before.observed().dmDevices().size()) {
            // Read by name, a device costs about twice what it costs in a whole look (KernelLatencies).
            return whole();
        }
        ObservedKernel now;
        try {
            now = kernel.observe(names);
        } catch (KernelException e) {
            return whole();
        }
        if (now.bootId().isEmpty() || !now.bootId().equals(before.observed().bootId())) {
            return whole();
        }
        return new Look(merged(before.observed(), now, names), count, before.wholeAtNanos(), pools ? started : before.poolsAtNanos());
    }

    /** A thin pool: its status (space used) changes with every write to its thin devices. */
    private static boolean pool(ObservedKernel.Dm device) {
        String[] words = device.table().strip().split("\\s+", 4);
        return words.length > 2 && words[2].equals("thin-pool");
    }

    /**
     * {@code before}'s dm devices, those named replaced by what {@code now} shows of them (gone
     * when it shows nothing), new ones last; everything else as {@code now} shows it.
     */
    private static ObservedKernel merged(ObservedKernel before, ObservedKernel now, Set<String> named) {
        Map<String, ObservedKernel.Dm> read = new LinkedHashMap<>();
        now.dmDevices().forEach(d -> read.put(d.name(), d));
        List<ObservedKernel.Dm> devices = new ArrayList<>(before.dmDevices().size() + read.size());
        for (ObservedKernel.Dm d : before.dmDevices()) {
            if (!named.contains(d.name())) {
                devices.add(d);
            } else {
                ObservedKernel.Dm again = read.remove(d.name());
                if (again != null) {
                    devices.add(again);
                }
            }
        }
        devices.addAll(read.values());
        return new ObservedKernel(devices, now.blockDevices(), now.ports(), now.subsystems(), now.hosts(), now.controllers(),
                now.bootId());
    }
}
