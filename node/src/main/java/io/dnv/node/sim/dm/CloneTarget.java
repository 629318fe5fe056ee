package io.dnv.node.sim.dm;

import io.dnv.core.kernel.DmTarget;
import io.dnv.node.sim.block.BlockDevice;

import java.io.IOException;
import java.util.BitSet;
import java.util.HashSet;
import java.util.Set;

/**
 * dm-clone: the destination becomes a copy of the source one region at a time. A read of a
 * region not yet hydrated goes to the source; a write to one first copies the region (unless it
 * covers the whole region), then lands on the destination. A region being copied holds the I/O
 * to it until it is done.
 *
 * <p>In the background (from resume until postsuspend, while hydration is enabled) regions are
 * copied as dm-clone's {@code do_hydration} copies them: from where the last pass stopped, in
 * order, contiguous regions batched into one copy of up to {@code hydration_batch_size}, never
 * more than {@code hydration_threshold} regions in flight (0 stops it), and only while no user
 * I/O is in flight through the clone: a copy that ends while I/O is in flight starts no next
 * one, and the waker ({@link #WAKER}, dm-clone's COMMIT_PERIOD) tries again a second later. Each
 * copy costs what {@link Kcopyd} says of its bytes. A copy that fails ("hydration failed") leaves
 * its regions as they were, and the waker's next tick tries them again. The copies of one clone
 * run one after the other, as on a disk whose bandwidth they share: a threshold above the batch
 * size holds more regions in flight but copies no faster.
 */
final class CloneTarget implements Target {

    private static final int COPY_BYTES = 1 << 20;
    /** dm-clone's waker: hydration held back by user I/O is tried again this often. */
    static final java.time.Duration WAKER = java.time.Duration.ofSeconds(1);

    private final DmTarget.Clone spec;
    private final long lengthSectors;
    private final BlockDevice metadataDevice;
    private final BlockDevice destination;
    private final BlockDevice source;
    private final long regionBytes;
    private final int regions;
    private final Kcopyd kcopyd;
    private CloneMetadata md;
    /** In-core state, guarded by this. */
    private final BitSet hydrated = new BitSet();
    private final Set<Integer> hydrating = new HashSet<>();
    private boolean hydrationEnabled;
    private long threshold;
    private long batchSize;
    private boolean running;
    /** User I/O mapped through the clone and not yet ended (dm-clone's ios_in_flight). */
    private int ioInFlight;
    /** Where the next background pass starts (dm-clone's hydration_offset). */
    private int offset;
    private Thread worker;

    CloneTarget(DmTarget.Clone spec, long lengthSectors, BlockDevice metadata, BlockDevice destination, BlockDevice source,
                Kcopyd kcopyd) throws TableError {
        this.spec = spec;
        this.kcopyd = kcopyd;
        this.lengthSectors = lengthSectors;
        this.metadataDevice = metadata;
        this.destination = destination;
        this.source = source;
        this.regionBytes = spec.regionSectors() * BlockDevice.SECTOR;
        this.regions = CloneMetadata.regions(lengthSectors, spec.regionSectors());
        this.hydrationEnabled = !spec.noHydration();
        this.threshold = spec.hydrationThreshold().orElse(1);
        this.batchSize = spec.hydrationBatchSize().orElse(1);
        if (destination.sizeSectors() < lengthSectors) {
            throw TableError.target("clone", "Device size larger than destination device");
        }
        if (source.sizeSectors() < lengthSectors) {
            throw TableError.target("clone", "Device size larger than source device");
        }
        try {
            CloneMetadata.check(metadata, spec.regionSectors(), lengthSectors);
        } catch (IOException e) {
            throw TableError.target("clone", "Failed to load metadata (" + e.getMessage() + ")");
        }
    }

    /** Linux opens (and formats) the metadata at load; the simulator at resume, so a refused table writes nothing. */
    @Override
    public synchronized void activate() throws TableError {
        if (md == null) {
            try {
                md = CloneMetadata.open(metadataDevice, spec.regionSectors(), lengthSectors);
            } catch (IOException e) {
                throw TableError.target("clone", "Failed to load metadata (" + e.getMessage() + ")");
            }
            hydrated.or(md.hydrated());
        }
        running = true;
        wake();
    }

    /**
     * clone_postsuspend: hydration stops after the region being copied. Not waited for here: the
     * device-mapper lock is held, and the copy may wait on a lower device only that lock resumes.
     */
    @Override
    public synchronized void postsuspend() {
        running = false;
        notifyAll();
    }

    /** clone_resume: a plain resume after a suspend wakes the hydration again. */
    @Override
    public synchronized void resumed() {
        running = true;
        wake();
    }

    @Override
    public synchronized void close() {
        running = false;
        notifyAll();
    }

    /** Starts the background copy if it should run and is not running. */
    private void wake() {
        if (!running || !hydrationEnabled || threshold == 0 || hydrated.cardinality() == regions || worker != null) {
            return;
        }
        Thread w = new Thread(this::hydrateInOrder, "dm-clone-hydration");
        w.setDaemon(true);
        worker = w;
        w.start();
    }

    private void hydrateInOrder() {
        try {
            while (true) {
                int first;
                int n;
                synchronized (this) {
                    awaitNoUserIo();
                    first = nextToHydrate();
                    if (first < 0) {
                        return;
                    }
                    n = 1;
                    long most = Math.min(Math.max(batchSize, 1), threshold);
                    while (n < most && first + n < regions && !hydrated.get(first + n) && !hydrating.contains(first + n)) {
                        n++;
                    }
                    for (int r = first; r < first + n; r++) {
                        hydrating.add(r);
                    }
                    offset = first + n < regions ? first + n : 0;
                }
                int copied = first;
                try {
                    copy(first, n);
                    for (; copied < first + n; copied++) {
                        md.markHydrated(copied);
                        done(copied, true);
                    }
                } catch (IOException e) {
                    // dm-clone: "hydration failed"; the regions stay where they were and the
                    // waker's next tick tries them again
                    for (int r = copied; r < first + n; r++) {
                        done(r, false);
                    }
                    synchronized (this) {
                        awaitWaker();
                    }
                }
            }
        } finally {
            synchronized (this) {
                worker = null;
                notifyAll();
                // a resume or enable that came while this worker was stopping found it still there
                wake();
            }
        }
    }

    /** While user I/O is in flight, waits for the waker's next tick (or a suspend); guarded by this. */
    private void awaitNoUserIo() {
        while (ioInFlight > 0 && nextToHydrate() >= 0 && !Thread.currentThread().isInterrupted()) {
            awaitWaker();
        }
    }

    /** Until the waker's next tick, or a suspend; guarded by this. */
    private void awaitWaker() {
        long tick = System.nanoTime() + WAKER.toNanos();
        for (long left = WAKER.toMillis(); left > 0 && running; left = (tick - System.nanoTime()) / 1_000_000) {
            try {
                wait(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** The first region from {@link #offset} on (wrapping round) neither hydrated nor being copied; -1 when none or stopped. */
    private int nextToHydrate() {
        if (!running || !hydrationEnabled || threshold == 0) {
            return -1;
        }
        for (int pass = 0; pass < 2; pass++) {
            for (int r = hydrated.nextClearBit(pass == 0 ? offset : 0); r < regions; r = hydrated.nextClearBit(r + 1)) {
                if (!hydrating.contains(r)) {
                    return r;
                }
            }
        }
        return -1;
    }

    private synchronized void done(int r, boolean ok) {
        hydrating.remove(r);
        if (ok) {
            hydrated.set(r);
        }
        notifyAll();
    }

    /** Waits while the region is being copied; true when it is hydrated, else it is now ours to copy (if {@code claim}). */
    private synchronized boolean settle(int r, boolean claim) throws IOException {
        while (hydrating.contains(r)) {
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while a clone region is hydrated", e);
            }
        }
        if (hydrated.get(r)) {
            return true;
        }
        if (claim) {
            hydrating.add(r);
        }
        return false;
    }

    /** Regions {@code first} to {@code first + count - 1} copied from the source to the destination, as one kcopyd job. */
    private void copy(int first, int count) throws IOException {
        long end = Math.min(lengthSectors * BlockDevice.SECTOR, (first + count) * regionBytes);
        kcopyd.spend(end - first * regionBytes);
        byte[] buf = new byte[COPY_BYTES];
        for (long off = first * regionBytes; off < end; off += COPY_BYTES) {
            int n = (int) Math.min(COPY_BYTES, end - off);
            source.read(off, buf, 0, n);
            destination.write(off, buf, 0, n);
        }
    }

    @Override
    public void read(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        ioStarts();
        try {
            eachRegion(offset, length, (r, at, done, n) -> {
                BlockDevice from = settle(r, false) ? destination : source;
                from.read(at, buf, bufOffset + done, n);
            });
        } finally {
            ioEnds();
        }
    }

    @Override
    public void write(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        ioStarts();
        try {
            writeRegions(offset, buf, bufOffset, length);
        } finally {
            ioEnds();
        }
    }

    /** clone_map: the bio counts as in flight until it ends (clone_endio). */
    private synchronized void ioStarts() {
        ioInFlight++;
    }

    private synchronized void ioEnds() {
        ioInFlight--;
    }

    private void writeRegions(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        eachRegion(offset, length, (r, at, done, n) -> {
            if (settle(r, true)) {
                destination.write(at, buf, bufOffset + done, n);
                return;
            }
            boolean ok = false;
            try {
                // A write over the whole region needs no copy of it (dm-clone's overwrite).
                if (at != r * regionBytes || n != Math.min(regionBytes, lengthSectors * BlockDevice.SECTOR - at)) {
                    copy(r, 1);
                }
                destination.write(at, buf, bufOffset + done, n);
                md.markHydrated(r);
                ok = true;
            } finally {
                done(r, ok);
            }
        });
    }

    private interface RegionPart {
        void io(int region, long at, int done, int n) throws IOException;
    }

    private void eachRegion(long offset, int length, RegionPart part) throws IOException {
        for (int done = 0; done < length; ) {
            long at = offset + done;
            int r = (int) (at / regionBytes);
            int n = (int) Math.min(length - done, (r + 1) * regionBytes - at);
            part.io(r, at, done, n);
            done += n;
        }
    }

    /**
     * As dm-clone prints it: metadata block size (8 sectors), used/total metadata blocks (of the
     * simulator's format), region size, hydrated/total regions, regions being copied, features
     * as they are now (discards are not simulated, so passdown is off), core arguments, mode.
     */
    @Override
    public synchronized String status() {
        String features = (hydrationEnabled ? "1" : "2 no_hydration") + " no_discard_passdown";
        long used = md == null ? 0 : md.usedBlocks();
        long total = md == null ? metadataDevice.sizeSectors() / 8 : md.totalBlocks();
        return "8 " + used + "/" + total + " " + spec.regionSectors() + " " + hydrated.cardinality() + "/" + regions + " "
                + hydrating.size() + " " + features + " 4 hydration_threshold " + threshold + " hydration_batch_size " + batchSize + " rw";
    }

    @Override
    public synchronized String message(String[] w) throws TableError {
        String m = w[0].toLowerCase(java.util.Locale.ROOT);
        if (m.equals("enable_hydration")) {
            hydrationEnabled = true;
            wake();
            return "";
        }
        if (m.equals("disable_hydration")) {
            hydrationEnabled = false;
            return "";
        }
        if (w.length == 2 && (m.equals("hydration_threshold") || m.equals("hydration_batch_size")) && w[1].matches("\\d{1,10}")
                && Long.parseLong(w[1]) <= 0xffffffffL) {
            long v = Long.parseLong(w[1]);
            if (m.equals("hydration_threshold")) {
                threshold = v;
                wake();
            } else {
                batchSize = v;
            }
            return "";
        }
        throw TableError.of(Errno.EINVAL, "clone: Unsupported message `" + w[0] + "'");
    }
}
