package io.dnv.core.node;

import io.dnv.core.kernel.DiskRange;

import java.util.ArrayList;
import java.util.List;

/**
 * The ranges of a disk not known to be zero, kept apart from its reservations: a range becomes
 * dirty when it is freed (or when the disk registers), and clean only when the agent reports
 * it zeroed under the same epoch. Pure functions over an immutable list.
 */
final class DirtyRanges {

    private DirtyRanges() {}

    /** {@code dirty} less the sectors from {@code start} for {@code sectors}, whatever their epoch. */
    static List<DiskRange> without(List<DiskRange> dirty, long start, long sectors) {
        return without(dirty, new DiskRange(start, sectors, -1), false);
    }

    /** {@code dirty} less what the agent reported {@code zeroed}: only where the epoch is the same. */
    static List<DiskRange> cleaned(List<DiskRange> dirty, DiskRange zeroed) {
        return without(dirty, zeroed, true);
    }

    /** Whether a report of {@code zeroed} would clean anything of {@code dirty}. */
    static boolean cleans(List<DiskRange> dirty, DiskRange zeroed) {
        return dirty.stream().anyMatch(d -> d.epoch() == zeroed.epoch() && overlap(d, zeroed));
    }

    private static List<DiskRange> without(List<DiskRange> dirty, DiskRange cut, boolean sameEpochOnly) {
        List<DiskRange> left = new ArrayList<>();
        for (DiskRange d : dirty) {
            if (!overlap(d, cut) || sameEpochOnly && d.epoch() != cut.epoch()) {
                left.add(d);
                continue;
            }
            if (d.startSector() < cut.startSector()) {
                left.add(new DiskRange(d.startSector(), cut.startSector() - d.startSector(), d.epoch()));
            }
            if (d.endSector() > cut.endSector()) {
                left.add(new DiskRange(cut.endSector(), d.endSector() - cut.endSector(), d.epoch()));
            }
        }
        return List.copyOf(left);
    }

    private static boolean overlap(DiskRange a, DiskRange b) {
        return a.startSector() < b.endSector() && b.startSector() < a.endSector();
    }

    static long sectors(List<DiskRange> dirty) {
        return dirty.stream().mapToLong(DiskRange::sectors).sum();
    }
}
