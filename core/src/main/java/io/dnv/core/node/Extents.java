package io.dnv.core.node;

import io.dnv.core.kernel.DiskRange;
import io.dnv.core.volume.Placement;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * First-fit allocation over one disk, in 1 MiB-aligned sectors. Fragmentation is reported,
 * not hidden: the free list is what a new reservation can get.
 */
final class Extents {

    static final long ALIGN = 2048;

    private Extents() {}

    record Gap(long start, long length) {}

    /** What is not reserved: the ranges a freed extent may still be dirty in included. */
    static List<Gap> free(long diskSectors, Collection<Placement.Extent> reserved) {
        return outside(diskSectors, reserved.stream().map(e -> new Gap(e.startSector(), e.lengthSectors())).toList());
    }

    /** What a new reservation can get: neither reserved nor dirty (not known to be zero). */
    static List<Gap> clean(long diskSectors, Collection<Placement.Extent> reserved, List<DiskRange> dirty) {
        List<Gap> taken = new ArrayList<>();
        reserved.forEach(e -> taken.add(new Gap(e.startSector(), e.lengthSectors())));
        dirty.forEach(d -> taken.add(new Gap(d.startSector(), d.sectors())));
        return outside(diskSectors, taken);
    }

    private static List<Gap> outside(long diskSectors, List<Gap> taken) {
        List<Gap> sorted = new ArrayList<>(taken);
        sorted.sort(Comparator.comparingLong(Gap::start));
        List<Gap> gaps = new ArrayList<>();
        long at = 0;
        for (Gap t : sorted) {
            if (t.start() > at) {
                gaps.add(new Gap(at, t.start() - at));
            }
            at = Math.max(at, t.start() + t.length());
        }
        long end = diskSectors / ALIGN * ALIGN;
        if (end > at) {
            gaps.add(new Gap(at, end - at));
        }
        return gaps;
    }

    static long aligned(long sectors) {
        return (sectors + ALIGN - 1) / ALIGN * ALIGN;
    }
}
