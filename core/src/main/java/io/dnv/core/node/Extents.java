package io.dnv.core.node;

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

    static List<Gap> free(long diskSectors, Collection<Placement.Extent> reserved) {
        List<Placement.Extent> sorted = new ArrayList<>(reserved);
        sorted.sort(Comparator.comparingLong(Placement.Extent::startSector));
        List<Gap> gaps = new ArrayList<>();
        long at = 0;
        for (Placement.Extent e : sorted) {
            if (e.startSector() > at) {
                gaps.add(new Gap(at, e.startSector() - at));
            }
            at = Math.max(at, e.startSector() + e.lengthSectors());
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
