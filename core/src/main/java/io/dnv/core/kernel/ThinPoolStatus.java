package io.dnv.core.kernel;

import java.util.Optional;

/**
 * A thin-pool line of `dmsetup status` (Documentation/admin-guide/device-mapper/thin-provisioning.rst):
 * {@code <start> <len> thin-pool <transaction id> <used meta>/<total meta> <used data>/<total data>
 * <held root> ro|rw|out_of_data_space [no_]discard_passdown error|queue_if_no_space needs_check|-
 * <meta low water>}. Blocks are the pool's: metadata blocks of 4 KiB, data blocks of the pool's
 * block size. A pool whose metadata went bad prints only {@code Fail} (or {@code Error}): that
 * is no usage, and parses to empty, as anything that is not a thin-pool line.
 *
 * <p>The one reader of a pool's usage, for the agent on Linux and on the simulated kernel alike.
 */
public record ThinPoolStatus(long usedMetaBlocks, long totalMetaBlocks, long usedDataBlocks, long totalDataBlocks, String mode) {

    /** The status of a one-line thin-pool table, or empty for anything else. */
    public static Optional<ThinPoolStatus> parse(String status) {
        String[] w = status.trim().split("\\s+");
        if (w.length < 8 || !w[2].equals("thin-pool")) {
            return Optional.empty();
        }
        String[] meta = w[4].split("/");
        String[] data = w[5].split("/");
        try {
            return Optional.of(new ThinPoolStatus(Long.parseLong(meta[0]), Long.parseLong(meta[1]), Long.parseLong(data[0]),
                    Long.parseLong(data[1]), w[7]));
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            return Optional.empty();
        }
    }

    /** Whole percent of the data blocks mapped (rounded down; a pool of no blocks is full). */
    public int dataPercent() {
        return percent(usedDataBlocks, totalDataBlocks);
    }

    public int metaPercent() {
        return percent(usedMetaBlocks, totalMetaBlocks);
    }

    /** The fuller of data and metadata: either running out stops the pool's writes. */
    public int usedPercent() {
        return Math.max(dataPercent(), metaPercent());
    }

    /** Writes that need a new block fail (error_if_no_space) or wait (queue_if_no_space). */
    public boolean outOfDataSpace() {
        return mode.equals("out_of_data_space");
    }

    static int percent(long used, long total) {
        return total <= 0 ? 100 : (int) Math.min(100, used * 100 / total);
    }
}
