package io.dnv.node.sim.dm;

import io.dnv.node.sim.block.BlockDevice;

import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The pool object of one thin-pool dm device: its metadata, which thin devices are open, and the
 * provisioning of data blocks (allocate on first write, copy a shared block before writing it).
 * It outlives table reloads of its dm device, as Linux's pool does, so an extend only rebinds
 * the data device and grows the data size. Metadata changes are durable before the write that
 * caused them returns.
 *
 * <p>Running out of data space follows dm-thin's pool modes: the pool turns out_of_data_space
 * when a write needs a block and none is free (not merely when the last one is taken), and
 * back to rw when a commit finds a free block again (after a delete, or a reload with a bigger
 * data device). While out of space a write that needs a block fails at once with ENOSPC under
 * error_if_no_space; otherwise it is held, and no_space_timeout after the pool ran out the pool
 * turns error_if_no_space itself and fails what it held.
 */
final class ThinPool {

    final BlockDevice metadataDevice;
    private final ThinPoolMetadata md;
    private final long blockBytes;
    private final ThinPoolModule module;
    private final Map<Long, Integer> openThins = new HashMap<>();
    private volatile BlockDevice data;
    private boolean skipZeroing;
    /** The table's feature; {@link #errorIfNoSpace} is what the pool does now (pool->pf). */
    private boolean tableErrorIfNoSpace;
    private boolean errorIfNoSpace;
    /** System.nanoTime() at which held writes fail, while out of data space and queueing; null: never. */
    private Long noSpaceDeadline;
    private boolean readOnly;
    /** A metadata operation failed on an I/O error: dm-thin's needs_check flag. */
    private boolean needsCheck;
    /** A write found no free block: dm-thin's out-of-data-space mode, until a resize brings blocks. */
    private boolean outOfDataSpace;
    private boolean closed;

    ThinPool(BlockDevice metadataDevice, ThinPoolMetadata md, long blockSectors, ThinPoolModule module) {
        this.metadataDevice = metadataDevice;
        this.md = md;
        this.blockBytes = blockSectors * BlockDevice.SECTOR;
        this.module = module;
    }

    long blockBytes() {
        return blockBytes;
    }

    synchronized long dataBlocks() {
        return md.dataBlocks();
    }

    /**
     * pool_preresume: the (re)loaded table's data device and features take over (a timeout's
     * error_if_no_space too, and the timeout starts again, as the suspend cancelled it), the
     * data size grows, and held writes retry.
     */
    synchronized void bind(BlockDevice dataDevice, long dataBlocks, boolean skipZeroing, boolean errorIfNoSpace) throws IOException {
        this.data = dataDevice;
        this.skipZeroing = skipZeroing;
        this.tableErrorIfNoSpace = errorIfNoSpace;
        this.errorIfNoSpace = errorIfNoSpace;
        md.resize(dataBlocks);
        if (outOfDataSpace) {
            startNoSpaceTimeout();
        }
        checkForDataSpace();
        notifyAll();
    }

    /** dm-thin's check_for_data_space at a commit: a free block ends out_of_data_space and the held writes retry. */
    private void checkForDataSpace() {
        if (outOfDataSpace && md.free() >= 0) {
            outOfDataSpace = false;
            noSpaceDeadline = null;
            errorIfNoSpace = tableErrorIfNoSpace;
            notifyAll();
        }
    }

    private void startNoSpaceTimeout() {
        Duration timeout = module.noSpaceTimeout();
        noSpaceDeadline = errorIfNoSpace || timeout.isZero() ? null : System.nanoTime() + timeout.toNanos();
    }

    /** do_no_space_timeout: the pool gives up waiting for space and errors from now on. */
    private void expireNoSpaceTimeout() {
        if (outOfDataSpace && !errorIfNoSpace && noSpaceDeadline != null && System.nanoTime() - noSpaceDeadline >= 0) {
            errorIfNoSpace = true;
            noSpaceDeadline = null;
        }
    }

    /** The pool's dm device is gone: nothing may wait for space any more. */
    synchronized void close() {
        closed = true;
        notifyAll();
    }

    synchronized boolean exists(long id) {
        return md.exists(id);
    }

    synchronized void openThin(long id) {
        openThins.merge(id, 1, Integer::sum);
    }

    synchronized void closeThin(long id) {
        openThins.computeIfPresent(id, (k, n) -> n == 1 ? null : n - 1);
    }

    synchronized String message(String[] w) throws TableError {
        if (readOnly) {
            // pool_message: no create_thin, create_snap or delete once the metadata cannot change.
            throw TableError.of(Errno.EOPNOTSUPP, "thin: unable to service pool target messages in READ_ONLY or FAIL mode");
        }
        try {
            switch (w[0]) {
                case "create_thin" -> {
                    long id = id(w, 2, 1);
                    if (md.exists(id)) {
                        throw TableError.of(Errno.EEXIST, "thin: Creation of new thinly-provisioned device with id " + id + " failed.");
                    }
                    md.createThin(id);
                }
                case "create_snap" -> {
                    long id = id(w, 3, 1);
                    long origin = id(w, 3, 2);
                    if (md.exists(id)) {
                        throw TableError.of(Errno.EEXIST, "thin: Creation of new snapshot " + id + " of device " + origin + " failed.");
                    }
                    if (!md.exists(origin)) {
                        throw TableError.of(Errno.ENODATA, "thin: Creation of new snapshot " + id + " of device " + origin + " failed.");
                    }
                    md.createSnap(id, origin);
                }
                case "delete" -> {
                    long id = id(w, 2, 1);
                    if (!md.exists(id)) {
                        throw TableError.of(Errno.ENODATA, "thin: Deletion of thin device " + id + " failed.");
                    }
                    if (openThins.containsKey(id)) {
                        throw TableError.of(Errno.EBUSY, "thin: Deletion of thin device " + id + " failed.");
                    }
                    md.delete(id);
                }
                default -> throw TableError.of(Errno.EINVAL, "thin: Unrecognised thin pool target message received: " + w[0]);
            }
            checkForDataSpace();
        } catch (IOException e) {
            readOnly |= e instanceof ThinPoolMetadata.Full;
            throw TableError.of(e instanceof ThinPoolMetadata.Full ? Errno.ENOSPC : Errno.EINVAL,
                    "thin: metadata operation failed: " + e.getMessage());
        }
        return "";
    }

    private static long id(String[] w, int words, int at) throws TableError {
        if (w.length != words) {
            throw TableError.of(Errno.EINVAL, "thin: Incorrect number of arguments for '" + w[0] + "' message");
        }
        if (!w[at].matches("\\d{1,8}") || Long.parseLong(w[at]) >= 1 << 24) {
            throw TableError.of(Errno.EINVAL, "thin: Message received with invalid device id: " + w[at]);
        }
        return Long.parseLong(w[at]);
    }

    /** Reads a piece of one thin block; a block never written reads as zeroes. */
    void read(long id, long block, int inBlock, byte[] buf, int bufOffset, int length) throws IOException {
        long d;
        synchronized (this) {
            d = md.lookup(id, block);
        }
        if (d < 0) {
            Arrays.fill(buf, bufOffset, bufOffset + length, (byte) 0);
        } else {
            data.read(d * blockBytes + inBlock, buf, bufOffset, length);
        }
    }

    /**
     * Writes a piece of one thin block. The mapping is decided under the pool's lock, the data
     * goes to the data device after it: a write whose block was found exclusive and which is
     * still in flight when create_snap shares that block lands in the shared block, which is
     * why an origin must be suspended (its I/O drained) before create_snap.
     */
    void write(long id, long block, int inBlock, byte[] buf, int bufOffset, int length) throws IOException {
        long d = exclusiveBlock(id, block, inBlock == 0 && length == blockBytes);
        data.write(d * blockBytes + inBlock, buf, bufOffset, length);
    }

    /**
     * The data block {@code id} may write {@code block} into: its own, or a newly provisioned
     * one — zeroed unless skip_block_zeroing (then it shows whatever the data device held),
     * a copy of the old block when the old one is shared with a snapshot.
     */
    private synchronized long exclusiveBlock(long id, long block, boolean whole) throws IOException {
        if (closed) {
            throw new IOException("Input/output error (thin-pool is gone)");
        }
        long old = md.lookup(id, block);
        if (old >= 0 && !md.shared(old)) {
            return old;
        }
        if (readOnly) {
            // process_bio_read_only: a write that needs a new block (provisioning, breaking sharing) fails.
            throw new IOException("Input/output error (thin-pool is read-only)");
        }
        long fresh = allocate();
        if (!whole && old >= 0) {
            byte[] copy = new byte[(int) blockBytes];
            data.read(old * blockBytes, copy);
            data.write(fresh * blockBytes, copy);
        } else if (!whole && !skipZeroing) {
            data.writeZeroes(fresh * blockBytes, blockBytes);
        }
        try {
            md.map(id, block, fresh);
        } catch (ThinPoolMetadata.Full e) {
            readOnly = true;
            throw e;
        } catch (IOException e) {
            // metadata_operation_failed: the transaction is aborted, needs_check set, and the pool
            // stays read-only until an offline thin_check/thin_repair clears it.
            readOnly = true;
            needsCheck = true;
            throw e;
        }
        return fresh;
    }

    /** alloc_data_block, and while out of data space handle_unserviceable_bio: fail or hold the write. */
    private long allocate() throws IOException {
        while (true) {
            if (!outOfDataSpace) {
                long d = md.free();
                if (d >= 0) {
                    return d;
                }
                outOfDataSpace = true;
                startNoSpaceTimeout();
            }
            expireNoSpaceTimeout();
            if (errorIfNoSpace) {
                throw new IOException("No space left on device (thin-pool out of data space, error_if_no_space)");
            }
            if (closed) {
                throw new IOException("Input/output error (thin-pool is gone)");
            }
            try {
                if (noSpaceDeadline == null) {
                    wait();
                } else {
                    TimeUnit.NANOSECONDS.timedWait(this, Math.max(1, noSpaceDeadline - System.nanoTime()));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while the thin-pool is out of data space", e);
            }
        }
    }

    /** `<mapped sectors> <highest mapped sector>`, or `-` for the latter when nothing is mapped. */
    synchronized String thinStatus(long id) {
        long sectorsPerBlock = blockBytes / BlockDevice.SECTOR;
        long highest = md.highestMapped(id);
        return md.mappedBlocks(id) * sectorsPerBlock + " " + (highest < 0 ? "-" : Long.toString((highest + 1) * sectorsPerBlock - 1));
    }

    /**
     * As dm-thin prints it (it commits first, so a freed block ends out_of_data_space); the last
     * field is the metadata low-water mark, min(1024, total/4) blocks. A full pool stays "rw"
     * until a write needs a block, as Linux's does; discards are not simulated, so passdown is
     * off, as Linux turns it off over a device without discard.
     */
    synchronized String status() {
        checkForDataSpace();
        expireNoSpaceTimeout();
        long total = md.totalMetadataBlocks();
        String mode = outOfDataSpace ? "out_of_data_space" : readOnly ? "ro" : "rw";
        return "0 " + md.usedMetadataBlocks() + "/" + total + " " + md.usedDataBlocks() + "/" + md.dataBlocks()
                + " - " + mode + " no_discard_passdown " + (errorIfNoSpace ? "error" : "queue") + "_if_no_space "
                + (needsCheck ? "needs_check " : "- ")
                + Math.min(1024, total / 4);
    }
}
