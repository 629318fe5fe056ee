package io.dnv.node.sim.dm;

import io.dnv.node.sim.block.BlockDevice;

import java.io.IOException;

/**
 * A constructed target of one table line. Offsets are bytes from the start of the line, lengths
 * stay inside it. Construction has no side effects, so a refused table changes nothing; what a
 * target writes on activation (superblocks, resync, a new pool's metadata) happens in
 * {@link #activate()}, which Linux does at resume too.
 */
interface Target {

    void read(long offset, byte[] buf, int bufOffset, int length) throws IOException;

    void write(long offset, byte[] buf, int bufOffset, int length) throws IOException;

    /** REQ_OP_WRITE_ZEROES; a target that cannot pass it down writes zeroes. */
    default void writeZeroes(long offset, long length) throws IOException {
        BlockDevice.writeZeroesByWriting(this::write, offset, length);
    }

    /** The words `dmsetup status` prints after the target type. */
    String status();

    /** Takes what the table holds while loaded (a thin device's open count in its pool). */
    default void open() {}

    /** preresume: the table is about to serve I/O. */
    default void activate() throws TableError {}

    /** The device is suspended: no I/O of this table is in flight. */
    default void postsuspend() {}

    /** Every resume, after preresume: what the target does by itself goes on (md wakes its sync thread). */
    default void resumed() {}

    /** The table is replaced or its device removed. */
    default void close() {}

    default String message(String[] words) throws TableError {
        throw TableError.table("ioctl: Target type does not support messages");
    }
}
