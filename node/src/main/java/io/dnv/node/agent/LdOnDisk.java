package io.dnv.node.agent;

import io.dnv.core.kernel.DmLine;
import io.dnv.core.kernel.DmTable;
import io.dnv.core.kernel.DmTableParser;
import io.dnv.core.kernel.DmTarget;

import java.util.List;
import java.util.Optional;

/**
 * Where a released LD's bytes lie on the node's disk, read from its zeroing record: what is
 * zeroed once the LD's device went before it was all zero (a power cycle or reboot starts the
 * kernel empty over the same disk) and only the disk is left.
 *
 * A live table names the disk by major:minor, and after a reboot that number can be another
 * device (an imported namespace, say). So the record names the disk by the path the node's
 * configuration gave when the device was handed over, and the range is known only while the
 * configuration still names that path and the table is linear lines alone. Anything else is not
 * guessed at: the record stays, not zeroed, and its volume stays a leftover.
 */
record LdOnDisk(String disk, List<DmLine> lines) {

    /** A range of the disk, in bytes. */
    record Range(long offsetBytes, long lengthBytes) {}

    static Optional<LdOnDisk> of(Zeroing.Job job, Optional<String> configuredDisk) {
        if (job.disk() == null || !configuredDisk.equals(Optional.of(job.disk()))) {
            return Optional.empty();
        }
        DmTable table;
        try {
            table = DmTableParser.parse(job.table());
        } catch (IllegalArgumentException unreadable) {
            return Optional.empty();
        }
        boolean linear = !table.lines().isEmpty() && table.lines().stream().allMatch(l -> l.target() instanceof DmTarget.Linear);
        return linear && table.sizeSectors() * 512 == job.totalBytes() ? Optional.of(new LdOnDisk(job.disk(), table.lines()))
                : Optional.empty();
    }

    /** Where the LD's bytes from {@code offsetBytes} on lie: at most {@code maxBytes} of them, within one line of the table. */
    Range range(long offsetBytes, long maxBytes) {
        for (DmLine l : lines) {
            long start = l.start() * 512;
            long end = start + l.length() * 512;
            if (offsetBytes >= start && offsetBytes < end) {
                long onDisk = ((DmTarget.Linear) l.target()).offset() * 512 + offsetBytes - start;
                return new Range(onDisk, Math.min(maxBytes, end - offsetBytes));
            }
        }
        throw new IllegalArgumentException("byte " + offsetBytes + " is beyond the LD");
    }
}
