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
 * How the agent looks at its kernel. A whole look lists every dm device and every nvmet
 * subsystem, and a node serving a thousand volumes holds tens of thousands of the one and
 * thousands of the other: seconds on Linux, taken several times per pass of a failover. A look
 * taken a moment ago is still the truth but for what the node's own hands changed since
 * ({@link KernelChanges}): those devices and subsystems are read again by name, with nvmet's ports
 * and hosts and the host side (read whole every time) and, every {@link #POOLS_READ_EVERY}, the
 * thin pools (their usage moves with the writes).
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
        Optional<KernelChanges.Changed> changed = changes.changedSince(before.changes());
        if (changed.isEmpty()) {
            return whole();
        }
        Set<String> names = new HashSet<>(changed.get().devices());
        // Named subsystems cost what they cost in a whole look: read whole only when too many to name.
        Set<String> subsystems = changed.get().subsystems();
        Optional<Collection<String>> nqns = subsystems.size() <= Kernel.NAMES_PER_LOOK / 2 ? Optional.of(subsystems) : Optional.empty();
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
            now = kernel.observe(names, nqns);
        } catch (KernelException e) {
            return whole();
        }
        if (now.bootId().isEmpty() || !now.bootId().equals(before.observed().bootId())) {
            return whole();
        }
        return new Look(merged(before.observed(), now, names, nqns), count, before.wholeAtNanos(),
                pools ? started : before.poolsAtNanos());
    }

    /** A thin pool: its status (space used) changes with every write to its thin devices. */
    private static boolean pool(ObservedKernel.Dm device) {
        String[] words = device.table().strip().split("\\s+", 4);
        return words.length > 2 && words[2].equals("thin-pool");
    }

    /**
     * {@code before}'s dm devices and subsystems, those named replaced by what {@code now} shows of
     * them (gone when it shows nothing), new ones last; everything else as {@code now} shows it.
     */
    private static ObservedKernel merged(ObservedKernel before, ObservedKernel now, Set<String> named,
                                         Optional<Collection<String>> namedSubsystems) {
        List<ObservedKernel.Dm> devices = merged(before.dmDevices(), now.dmDevices(), named, ObservedKernel.Dm::name);
        List<ObservedKernel.Subsystem> subsystems = namedSubsystems.map(n -> merged(before.subsystems(), now.subsystems(), Set.copyOf(n),
                ObservedKernel.Subsystem::nqn)).orElse(now.subsystems());
        return new ObservedKernel(devices, now.blockDevices(), now.ports(), subsystems, now.hosts(), now.controllers(), now.bootId());
    }

    /** {@code before}, the objects named replaced by {@code now}'s of the same name or left out, {@code now}'s others last. */
    private static <T> List<T> merged(List<T> before, List<T> now, Set<String> named, java.util.function.Function<T, String> name) {
        Map<String, T> read = new LinkedHashMap<>();
        now.forEach(o -> read.put(name.apply(o), o));
        List<T> merged = new ArrayList<>(before.size() + read.size());
        for (T o : before) {
            if (!named.contains(name.apply(o))) {
                merged.add(o);
            } else {
                T again = read.remove(name.apply(o));
                if (again != null) {
                    merged.add(again);
                }
            }
        }
        merged.addAll(read.values());
        return merged;
    }
}
