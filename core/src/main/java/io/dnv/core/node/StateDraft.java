package io.dnv.core.node;

import io.dnv.core.kernel.AnaGroups;
import io.dnv.core.kernel.DiskRange;
import io.dnv.core.node.StorageNode.AnaSlot;
import io.dnv.core.node.StorageNode.Decision;
import io.dnv.core.node.StorageNode.State;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.volume.Placement;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A {@link StorageNode.State} with decisions folded in. A node holds thousands of entries: each
 * map is copied once, at its first change, however many decisions follow, where a copy per
 * decision made the fold cost as much as the decisions.
 */
final class StateDraft {

    private final State from;
    private Optional<NodeInfo> info;
    private Map<String, Placement.Extent> extents;
    private Map<String, AnaSlot> anaGroups;
    private Map<String, NodeObjects> objects;
    private Map<String, StorageNode.Removal> removals;
    private List<DiskRange> dirty;
    private long epochs;
    private NodeObjects witnesses;

    StateDraft(State from) {
        this.from = from;
        this.info = from.info();
        this.extents = from.extents();
        this.anaGroups = from.anaGroups();
        this.objects = from.objects();
        this.removals = from.removals();
        this.dirty = from.dirty();
        this.epochs = from.epochs();
        this.witnesses = from.witnesses();
    }

    /** The pure fold: {@code s} itself is never changed. */
    static State fold(State s, List<? extends Decision> decisions) {
        StateDraft draft = new StateDraft(s);
        decisions.forEach(draft::apply);
        return draft.state();
    }

    /**
     * The state as drafted so far. Its maps are this draft's own: read it before the next
     * {@link #apply}, never keep it.
     */
    State state() {
        return new State(info, Collections.unmodifiableMap(extents), Collections.unmodifiableMap(anaGroups),
                Collections.unmodifiableMap(objects), Collections.unmodifiableMap(removals), dirty, epochs, witnesses);
    }

    void apply(Decision d) {
        if (d instanceof StorageNode.Registered r) {
            registered(r.info());
        } else if (d instanceof StorageNode.ExtentReserved r) {
            extents().put(r.key(), r.extent());
            // Reservations come from clean ranges only; in journals from before, from anywhere.
            dirty = DirtyRanges.without(dirty, r.extent().startSector(), r.extent().lengthSectors());
        } else if (d instanceof StorageNode.ExtentsReleased r) {
            r.keys().forEach(this::free);
        } else if (d instanceof StorageNode.AnaGroupAllocated a) {
            anaGroups().put(a.volumeId(), new AnaSlot(a.portId(), a.group(),
                    a.domain() != null ? a.domain() : AnaGroups.legacy(a.volumeId())));
        } else if (d instanceof StorageNode.AnaGroupReleased a) {
            anaGroups().remove(a.volumeId());
        } else if (d instanceof StorageNode.VolumeObjectsSet o) {
            objects().put(o.volumeId(), o.objects());
        } else if (d instanceof StorageNode.VolumeObjectsRemoved o) {
            if (objects().remove(o.volumeId()) != null) {
                removals().putIfAbsent(o.volumeId(), StorageNode.Removal.NOTHING_YET);
            }
        } else if (d instanceof StorageNode.ReleaseDeferred r) {
            removals().merge(r.volumeId(), new StorageNode.Removal(r.keys(), r.anaGroup()),
                    (held, more) -> held.and(more.keys(), more.anaGroup()));
        } else if (d instanceof StorageNode.OrphanReleased o) {
            objects().remove(o.volumeId());
            removals().merge(o.volumeId(), new StorageNode.Removal(o.keys(), o.anaGroup()),
                    (held, more) -> held.and(more.keys(), more.anaGroup()));
        } else if (d instanceof StorageNode.RemovalConfirmed c) {
            StorageNode.Removal removal = removals().remove(c.volumeId());
            if (removal != null) {
                removal.keys().forEach(this::free);
                if (removal.anaGroup()) {
                    anaGroups().remove(c.volumeId());
                }
            }
        } else if (d instanceof StorageNode.RangesCleaned c) {
            c.ranges().forEach(r -> dirty = DirtyRanges.cleaned(dirty, r));
        } else if (d instanceof StorageNode.WitnessesSet w) {
            witnesses = w.objects();
        } else if (d instanceof StorageNode.VolumeCreated c) {
            NodeObjects current = objects.get(c.volumeId());
            if (current != null) {
                objects().put(c.volumeId(), current.created());
            }
        } else {
            throw new IllegalArgumentException("no fold for " + d.getClass().getSimpleName());
        }
    }

    /**
     * A disk registering for the first time may hold anything (what it held before it joined):
     * all of it is dirty; one that grew, the part it grew by. One that shrank has nothing left
     * to zero beyond its end.
     */
    private void registered(NodeInfo now) {
        long before = info.map(i -> i.diskBytes() / 512).orElse(0L) / Extents.ALIGN * Extents.ALIGN;
        long after = now.diskBytes() / 512 / Extents.ALIGN * Extents.ALIGN;
        info = Optional.of(now);
        if (after > before) {
            dirty(before, after - before);
        } else if (after < before) {
            dirty = DirtyRanges.without(dirty, after, before - after);
        }
    }

    /** A freed extent holds its last tenant's bytes until the agent zeroes it. */
    private void free(String key) {
        Placement.Extent e = extents().remove(key);
        if (e != null) {
            dirty(e.startSector(), e.lengthSectors());
        }
    }

    private void dirty(long start, long sectors) {
        List<DiskRange> more = new ArrayList<>(dirty);
        more.add(new DiskRange(start, sectors, ++epochs));
        dirty = List.copyOf(more);
    }

    private Map<String, Placement.Extent> extents() {
        return extents = writable(extents, from.extents());
    }

    private Map<String, AnaSlot> anaGroups() {
        return anaGroups = writable(anaGroups, from.anaGroups());
    }

    private Map<String, NodeObjects> objects() {
        return objects = writable(objects, from.objects());
    }

    private Map<String, StorageNode.Removal> removals() {
        return removals = writable(removals, from.removals());
    }

    /** The draft's own copy of a map, made at its first change: until then it is the state's, never changed. */
    private static <V> Map<String, V> writable(Map<String, V> drafted, Map<String, V> original) {
        return drafted == original ? new HashMap<>(original) : drafted;
    }
}
