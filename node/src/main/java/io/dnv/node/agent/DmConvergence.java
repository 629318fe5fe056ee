package io.dnv.node.agent;

import io.dnv.core.kernel.DeviceRef;
import io.dnv.core.kernel.DmDevice;
import io.dnv.core.kernel.DmTable;
import io.dnv.core.kernel.DmTableParser;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.Preparation;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.core.node.ZeroingProgress;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Device-mapper devices: created bottom-up (a table can only name devices that exist),
 * reloaded when the live table maps differently, removed top-down when no desired state names
 * them. A device that maps the node's disk goes only once all of it is zero, so its extent never
 * shows one volume's bytes to the next; the {@link Zeroing} zeroes it apart from the passes, and
 * the device stays (and with it the extent's reservation) until then. One lost before it was all
 * zero (a power cycle) leaves its record, and the rest is zeroed on the disk, a wait meanwhile.
 */
final class DmConvergence {

    private static final long MIB = 1L << 20;

    private final Pass pass;
    private final DeviceResolver devices;
    private final MappingCache comparisons;
    private final Zeroing zeroing;
    private final Raid1Sides raid1Sides;
    private final HeldDevices held;

    DmConvergence(Pass pass, DeviceResolver devices, MappingCache comparisons, Zeroing zeroing, Raid1Sides raid1Sides,
                  HeldDevices held) {
        this.held = held;
        this.comparisons = comparisons;
        this.pass = pass;
        this.devices = devices;
        this.zeroing = zeroing;
        this.raid1Sides = raid1Sides;
    }

    /** Each volume's devices bottom-up, the volumes side by side ({@link Lanes}): no device maps another volume's. */
    void converge(Lanes lanes) {
        List<DmDevice> inFocus = new ArrayList<>();
        pass.desired.dmDevices().forEach(d -> {
            if (pass.focus.includes(d.name())) {
                inFocus.add(d);
            }
        });
        Map<String, List<DmDevice>> byVolume = new LinkedHashMap<>();
        for (DmDevice d : bottomUp(inFocus)) {
            byVolume.computeIfAbsent(Names.volumeOfDm(pass.nodeId(), d.name()).orElse(""), v -> new ArrayList<>()).add(d);
        }
        raid1Sides.sideSlices(pass);   // read before the lanes share it
        lanes.run(byVolume.values(), this::converge);
    }

    private void converge(DmDevice d) {
        List<DeviceRef> lower = d.table().devices();
        for (DeviceRef ref : lower) {
            if (ref instanceof DeviceRef.Dm dm && pass.blocked.contains(dm.name())) {
                block(d, dm.name() + " is not ready");
                return;
            }
            if (devices.path(ref).isEmpty()) {
                if (ref instanceof DeviceRef.Namespace && pass.dm(d.name()).isPresent()
                        && raid1Sides.sideSlices(pass).contains(d.name())) {
                    // A raid1 side whose import is gone: the group serves from its other side, and
                    // Raid1Sides reports it and takes the side back when the import returns.
                    return;
                }
                if (ref instanceof DeviceRef.Namespace ns && pass.preparedDown.contains(ns.uuid())) {
                    return;   // a standby's preparation whose disk node does not answer: reported with its import
                }
                block(d, ref.symbol() + " does not exist yet");
                return;
            }
        }
        Optional<ObservedKernel.Dm> live = pass.dm(d.name());
        if (live.isEmpty()) {
            String table = render(d);
            if (prepare(d) && pass.mutate("dm create", "dm create " + d.table().lines().get(0).target().type(), d.name(),
                    () -> pass.kernel.dmCreate(d.name(), table))) {
                pass.createdDm.add(d.name());
            } else {
                pass.blocked.add(d.name());
                pass.unsettled.add(d.name());
            }
            return;
        }
        if (held.contains(d.name())) {
            // An order holds it (a snapshot): suspended on purpose, and for a bounded time.
            if (!sameMapping(d, lower, live.get().table())) {
                pass.blocked.add(d.name());
                pass.waitFor(d.name(), "held by an order; reloaded once it is resumed");
            }
            return;
        }
        if (!sameMapping(d, lower, live.get().table())) {
            String table = render(d);
            boolean reloaded = pass.mutate("dm load", d.name(), () -> pass.kernel.dmLoad(d.name(), table))
                    && (live.get().suspended() || pass.mutate("dm suspend", d.name(), () -> pass.kernel.dmSuspend(d.name())))
                    && pass.mutate("dm resume", d.name(), () -> pass.kernel.dmResume(d.name()));
            if (reloaded) {
                pass.reloadedDm.add(d.name());
            } else {
                pass.blocked.add(d.name());
                pass.unsettled.add(d.name());
            }
        } else if (live.get().suspended()) {
            // Left suspended by an interrupted operation: I/O is held until someone resumes it.
            pass.mutate("dm resume", d.name(), () -> pass.kernel.dmResume(d.name()));
        }
    }

    private void block(DmDevice d, String reason) {
        pass.blocked.add(d.name());
        pass.waitFor(d.name(), reason);
    }

    private boolean prepare(DmDevice d) {
        for (Preparation p : d.beforeCreate()) {
            if (p instanceof Preparation.ZeroRange z) {
                Optional<String> path = devices.path(z.device());
                if (path.isEmpty()) {
                    pass.waitFor(d.name(), z.device().symbol() + " to zero does not exist yet");
                    return false;
                }
                if (!pass.mutate("zero " + z.offsetBytes() + "+" + z.lengthBytes(), path.get(),
                        () -> pass.kernel.zeroOut(path.get(), z.offsetBytes(), z.lengthBytes()))) {
                    return false;
                }
            } else {
                Preparation.PoolMessage m = (Preparation.PoolMessage) p;
                if (!message(m)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** A create_thin retried after a crash finds its id already there: that is the state we wanted. */
    private boolean message(Preparation.PoolMessage m) {
        pass.mutations.add("dm message " + m.pool() + " " + m.message());
        try {
            pass.kernel.dmMessage(m.pool(), 0, m.message());
            return true;
        } catch (io.dnv.node.kernel.KernelException e) {
            if (e.kernelMessage().contains(io.dnv.node.kernel.KernelException.FILE_EXISTS)) {
                return true;
            }
            pass.fail(m.pool(), "dm message " + m.message(), e.kernelMessage());
            return false;
        }
    }

    /** The table as the kernel takes it: every device below by its path (each exists, checked before). */
    private String render(DmDevice d) {
        return d.table().render(ref -> devices.path(ref).orElseThrow());
    }

    private boolean sameMapping(DmDevice d, List<DeviceRef> below, String liveTable) {
        List<String> lower = new ArrayList<>(below.size());
        below.forEach(ref -> lower.add(devices.majorMinor(ref)));
        Optional<Boolean> known = comparisons.get(d.name(), d.table(), liveTable, lower);
        if (known.isPresent()) {
            return known.get();
        }
        boolean same;
        try {
            DmTable wanted = DmTableParser.parse(d.table().render(devices::majorMinor));
            same = wanted.sameMapping(DmTableParser.parse(liveTable));
        } catch (IllegalArgumentException unreadable) {
            same = false;
        }
        comparisons.put(d.name(), d.table(), liveTable, lower, same);
        return same;
    }

    /** Removes every device of this node that no desired state names, those mapped by others last. */
    void removeGarbage() {
        Map<String, ObservedKernel.Dm> garbage = garbage();
        Map<String, String> nameByNumber = new HashMap<>();
        pass.observed.dmDevices().forEach(d -> nameByNumber.put(d.majorMinor(), d.name()));
        Map<String, List<String>> lower = new HashMap<>();
        garbage.values().forEach(d -> lower.put(d.name(), tableDevices(d).stream().map(nameByNumber::get).filter(Objects::nonNull).toList()));
        Set<String> overDisk = new HashSet<>();
        garbage.values().forEach(d -> {
            if (tableDevices(d).stream().anyMatch(devices::isDisk)) {
                overDisk.add(d.name());
            }
        });
        // A device whose removal was refused still maps what is below it: leave those for the next pass.
        List<ObservedKernel.Dm> stuck = new ArrayList<>();
        boolean progress = true;
        while (!garbage.isEmpty() && progress) {
            progress = false;
            Set<String> mapped = new HashSet<>();
            garbage.values().forEach(d -> mapped.addAll(lower.get(d.name())));
            stuck.forEach(d -> mapped.addAll(lower.get(d.name())));
            for (ObservedKernel.Dm d : List.copyOf(garbage.values())) {
                if (mapped.contains(d.name())) {
                    continue;
                }
                garbage.remove(d.name());
                progress = true;
                if (!(mayGo(d, overDisk) && pass.mutate("dm remove", d.name(), () -> pass.kernel.dmRemove(d.name())))) {
                    stuck.add(d);
                } else {
                    overDisk.remove(d.name());
                }
            }
        }
        Set<String> inKernel = new HashSet<>();
        pass.observed.dmDevices().forEach(d -> inKernel.add(d.name()));
        zeroing.settle(overDisk, inKernel);
        zeroing.reportGone(pass::waitFor);
    }

    /** This node's devices no desired state names, in the order observed. */
    private Map<String, ObservedKernel.Dm> garbage() {
        Set<String> desired = pass.desiredDmNames();
        Map<String, ObservedKernel.Dm> garbage = new LinkedHashMap<>();
        for (ObservedKernel.Dm d : pass.observed.dmDevices()) {
            if (pass.ownsDm(d.name()) && !desired.contains(d.name())) {
                garbage.put(d.name(), d);
            }
        }
        return garbage;
    }

    /**
     * Whether removing the garbage waits for nothing and has nothing to report: no device of it
     * maps the disk (an LD goes only once zeroed, a wait the node reports) and no LD is being
     * zeroed. Slices over imports, raid1 groups, pools, a volume's stripe: what a survivor takes
     * away in a fence.
     */
    boolean garbageWaitsForNothing() {
        return zeroing.progress().isEmpty()
                && garbage().values().stream().noneMatch(d -> tableDevices(d).stream().anyMatch(devices::isDisk));
    }

    boolean anyGarbage() {
        return !garbage().isEmpty();
    }

    /** Whether the device may go: it does not map the disk, or all of it is zero. */
    private boolean mayGo(ObservedKernel.Dm d, Set<String> overDisk) {
        if (!overDisk.contains(d.name())) {
            return true;
        }
        DmTable table = parseOrEmpty(d);
        ZeroingProgress p = zeroing.zero(d.name(), d.table(), table.sizeSectors() * 512, devices.diskUnder(table));
        if (!p.done()) {
            pass.waitFor(d.name(), "zeroing before it goes, " + p.doneBytes() / MIB + " of " + p.totalBytes() / MIB + " MiB done");
        }
        return p.done();
    }

    private static List<String> tableDevices(ObservedKernel.Dm d) {
        return parseOrEmpty(d).devices().stream().map(DeviceRef::symbol).toList();
    }

    private static DmTable parseOrEmpty(ObservedKernel.Dm d) {
        try {
            return DmTableParser.parse(d.table());
        } catch (IllegalArgumentException unreadable) {
            return new DmTable(List.of());
        }
    }

    /** Desired devices ordered so that every device comes after the dm devices its table names. */
    static List<DmDevice> bottomUp(List<DmDevice> devices) {
        Map<String, DmDevice> byName = new LinkedHashMap<>();
        devices.forEach(d -> byName.put(d.name(), d));
        List<DmDevice> ordered = new ArrayList<>();
        Set<String> placed = new LinkedHashSet<>();
        Set<String> visiting = new LinkedHashSet<>();
        for (DmDevice d : devices) {
            visit(d, byName, placed, visiting, ordered);
        }
        return ordered;
    }

    private static void visit(DmDevice d, Map<String, DmDevice> byName, Set<String> placed, Set<String> visiting,
                              List<DmDevice> ordered) {
        if (placed.contains(d.name())) {
            return;
        }
        if (!visiting.add(d.name())) {
            throw new IllegalArgumentException("dm devices map each other in a cycle through " + d.name());
        }
        for (DeviceRef ref : d.table().devices()) {
            if (ref instanceof DeviceRef.Dm dm && byName.containsKey(dm.name())) {
                visit(byName.get(dm.name()), byName, placed, visiting, ordered);
            }
        }
        visiting.remove(d.name());
        placed.add(d.name());
        ordered.add(d);
    }
}
