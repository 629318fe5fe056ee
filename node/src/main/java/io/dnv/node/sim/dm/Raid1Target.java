package io.dnv.node.sim.dm;

import io.dnv.core.kernel.DmTarget;
import io.dnv.node.sim.block.BlockDevice;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * dm-raid raid1 over (meta, data) sides: writes go to every alive side, reads come from an
 * in-sync one, a side whose I/O fails is dead from then on and the others' superblocks say so.
 * Assembly at resume decides from the superblocks which sides are current and what the others
 * may lack; the copy runs in the background, as md's resync thread runs it, so a create or
 * resume returns once the superblocks are read and written.
 *
 * <p>While it runs the status says what md says: {@code aa … resync} when the sides were in sync
 * but the bitmap marks regions that may differ (a new array, a crash), {@code Aa … recover} when
 * a side was behind, {@code AA … repair} when only the regions past a grown end are copied; then
 * {@code AA … idle}. Reads come from the source side until the copy is done; a write waits while
 * the region it lands in is being copied, and the copy of a region waits for the writes in it
 * (md's resync barrier), so the copy never lands over a newer write. A side that was behind is
 * marked failed in the superblocks until it has been recovered, so an assembly after a crash in
 * the middle copies to it again rather than from it. A suspend stops the copy after its region
 * (md stops the sync thread at presuspend); the next resume assembles again and goes on from the
 * bitmap, which keeps its bits until the copy is done. Each region copied is charged as a kcopyd
 * job of its bytes: both are the kernel moving bytes between the same disks.
 */
final class Raid1Target implements Target {

    private static final int COPY_BYTES = 1 << 20;
    /** A source read that failed is tried again after this (an import reconnecting, say). */
    static final Duration SOURCE_RETRY = Duration.ofSeconds(1);

    private final DmTarget.Raid1 spec;
    private final long lengthSectors;
    private final BlockDevice[] meta;
    private final BlockDevice[] data;
    private final Kcopyd kcopyd;
    private final BitmapDaemon bitmapDaemon;
    /**
     * Held while a bitmap is written, with its bits read inside: the last one written is the
     * newest, so a bit set for a write in flight is never overwritten by an older copy clearing
     * it. Taken before this target's lock, never inside it.
     */
    private final Object bitmapWrites = new Object();
    /** The region in use: the table's, else the existing bitmap's, else the kernel's default. */
    private long regionSectors;
    private int regions;
    private long regionBytes;
    private final boolean[] alive;
    /** Readable: alive and holding every region (the source, and the sides the copy is done with). */
    private final boolean[] inSync;
    /** Behind at assembly and not yet recovered: failed in the superblocks meanwhile. */
    private final boolean[] recovering;
    /** Per side, the regions the background copy still has to bring to it. */
    private final BitSet[] pending;
    private final BitSet dirty = new BitSet();
    private long events;
    /** md's sync_action: idle, resync, recover or repair. */
    private String action = "idle";
    private int source = -1;
    private boolean running;
    private Thread worker;
    /** Bumped at each assembly: a region copied under an older one is not counted as done. */
    private long assembly;
    /** The region the copy holds (-1 when none), and the user writes in flight per region. */
    private int copying = -1;
    private final Map<Integer, Integer> writing = new HashMap<>();
    /**
     * Dirty regions no write is in flight in, and how many more daemon runs until their bit
     * clears: 2 when the last write ended, as md's bitmap counter (a region clears between one
     * and two {@code daemon_sleep}s after its last write).
     */
    private final Map<Integer, Integer> quiet = new HashMap<>();

    /** {@code meta}/{@code data} hold null for a side given as `- -`. */
    Raid1Target(DmTarget.Raid1 spec, long lengthSectors, List<BlockDevice> meta, List<BlockDevice> data, Kcopyd kcopyd,
                BitmapDaemon bitmapDaemon) throws TableError {
        this.bitmapDaemon = bitmapDaemon;
        this.spec = spec;
        this.lengthSectors = lengthSectors;
        this.meta = meta.toArray(new BlockDevice[0]);
        this.data = data.toArray(new BlockDevice[0]);
        this.kcopyd = kcopyd;
        useRegion(spec.regionSectors().orElse(TableRules.defaultRegionSectors(lengthSectors)));
        this.alive = new boolean[this.meta.length];
        this.inSync = new boolean[this.meta.length];
        this.recovering = new boolean[this.meta.length];
        this.pending = new BitSet[this.meta.length];
        for (int i = 0; i < pending.length; i++) {
            pending[i] = new BitSet();
        }
        for (BlockDevice m : this.meta) {
            if (m != null && m.sizeSectors() * BlockDevice.SECTOR < Raid1Superblock.bytesNeeded(regions)) {
                throw TableError.target("raid", "Insufficient metadata device size for " + regions + " regions");
            }
        }
    }

    private void useRegion(long sectors) {
        regionSectors = sectors;
        regions = Raid1Superblock.regions(lengthSectors, sectors);
        regionBytes = sectors * BlockDevice.SECTOR;
    }

    @Override
    public synchronized void activate() throws TableError {
        int n = meta.length;
        Raid1Superblock[] found = new Raid1Superblock[n];
        for (int i = 0; i < n; i++) {
            alive[i] = meta[i] != null;
            inSync[i] = false;
            recovering[i] = false;
            pending[i].clear();
            if (alive[i]) {
                try {
                    found[i] = Raid1Superblock.read(meta[i]);
                } catch (IOException e) {
                    alive[i] = false;
                }
            }
        }
        // Linux: "Device i specified for rebuild; clearing superblock".
        spec.rebuild().ifPresent(i -> found[i] = null);
        Raid1Superblock authority = null;
        for (Raid1Superblock s : found) {
            if (s != null && (authority == null || s.events > authority.events)) {
                authority = s;
            }
        }
        // md takes the bitmap's chunk size when the table names no region (dm-raid only resizes to a requested one).
        if (authority != null && spec.regionSectors().isEmpty()) {
            useRegion(authority.regionSectors);
        }
        long grownFrom = lengthSectors;
        for (int i = 0; i < n; i++) {
            Raid1Superblock s = found[i];
            if (s == null) {
                continue;
            }
            if (s.arraySectors > lengthSectors || s.regionSectors != regionSectors || s.members != n) {
                throw TableError.target("raid", "Failed to load superblocks (member " + i + " belongs to another array layout)");
            }
            grownFrom = Math.min(grownFrom, s.arraySectors);
        }
        dirty.clear();
        source = -1;
        BitSet grown = new BitSet();
        if (authority == null) {
            events = 0;
            for (int i = 0; i < n; i++) {
                if (alive[i] && source < 0) {
                    source = i;
                    inSync[i] = true;
                }
            }
            if (source < 0) {
                throw TableError.target("raid", "Failed to run raid array (no readable member)");
            }
            if (!spec.nosync()) {
                dirty.set(0, regions);
            }
        } else {
            events = authority.events;
            for (int i = 0; i < n; i++) {
                inSync[i] = alive[i] && found[i] != null && found[i].events == authority.events && !authority.failed[i];
                if (inSync[i]) {
                    dirty.or(found[i].dirty);
                    source = source < 0 ? i : source;
                }
            }
            if (source < 0) {
                throw TableError.target("raid", "Failed to run raid array (no in-sync member)");
            }
            // A larger table over larger sides: md resyncs what lies past the old end ("requested-resync").
            if (grownFrom < lengthSectors) {
                grown.set((int) (grownFrom / regionSectors), regions);
                dirty.or(grown);
            }
        }
        BitSet all = new BitSet();
        all.set(0, regions);
        boolean resync = false;
        boolean recover = false;
        for (int i = 0; i < n; i++) {
            if (alive[i] && i != source) {
                boolean known = inSync[i] || found[i] != null || authority == null && spec.nosync();
                pending[i].or(known ? dirty : all);
                pending[i].clear(regions, Math.max(regions, pending[i].length()));
                if (pending[i].isEmpty()) {
                    inSync[i] = true;
                } else if (!inSync[i] && authority != null) {
                    recovering[i] = true;   // a side an existing array lacks is recovered
                    recover = true;
                } else {
                    // in sync but maybe differing in dirty regions, or a brand-new array: a resync,
                    // unless all it lacks lies past a grown end
                    BitSet beyondGrown = (BitSet) pending[i].clone();
                    beyondGrown.andNot(grown);
                    resync |= !beyondGrown.isEmpty();
                    inSync[i] = false;
                }
            }
        }
        action = recover ? "recover" : resync ? "resync" : anyPending() ? "repair" : "idle";
        if (!anyPending() && allAlive()) {
            dirty.clear();
        }
        events++;
        assembly++;
        persistSuperblocks();
        running = true;
        quiet.clear();
        bitmapDaemon.add(this);
        startCopy();
    }

    /** Starts the background copy if there is one to do and no copy runs; guarded by this. */
    private void startCopy() {
        if (!running || !anyPending() || worker != null) {
            return;
        }
        Thread w = new Thread(this::copyInOrder, "md-raid1-sync");
        w.setDaemon(true);
        worker = w;
        w.start();
    }

    private void copyInOrder() {
        try {
            while (true) {
                int r;
                int from;
                long of;
                List<Integer> to = new ArrayList<>();
                synchronized (this) {
                    r = nextPending();
                    if (!running) {
                        return;
                    }
                    if (r < 0) {
                        finishCopy();
                        return;
                    }
                    // md's barrier: raised first, so new writes to the region wait, then the writes
                    // already in it drain; a steady writer cannot keep the copy out.
                    copying = r;
                    while (running && writing.containsKey(r)) {
                        waitHere(0);
                    }
                    if (!running) {
                        return;
                    }
                    for (int i = 0; i < pending.length; i++) {
                        if (alive[i] && pending[i].get(r)) {
                            to.add(i);
                        }
                    }
                    from = source;
                    of = assembly;
                }
                Copy copied = copyRegion(r, from, to);
                synchronized (this) {
                    copying = -1;
                    if (copied == Copy.DONE && of == assembly) {
                        for (int i : to) {
                            pending[i].clear(r);
                        }
                    }
                    notifyAll();
                    if (copied == Copy.SOURCE_FAILED) {
                        waitHere(SOURCE_RETRY.toMillis());
                    }
                }
            }
        } finally {
            synchronized (this) {
                worker = null;
                copying = -1;
                notifyAll();
                // a resume that came while this copy was stopping found it still there
                startCopy();
            }
        }
    }

    private enum Copy { DONE, SOURCE_FAILED, STOPPED }

    /** Region {@code r} from the source to the sides named, unless the source fails or the copy is stopped first. */
    private Copy copyRegion(int r, int from, List<Integer> to) {
        long lengthBytes = lengthSectors * BlockDevice.SECTOR;
        long end = Math.min(lengthBytes, (r + 1) * regionBytes);
        kcopyd.spend((end - r * regionBytes) * to.size());
        byte[] buf = new byte[COPY_BYTES];
        for (long off = r * regionBytes; off < end; off += COPY_BYTES) {
            int len = (int) Math.min(COPY_BYTES, end - off);
            try {
                data[from].read(off, buf, 0, len);
            } catch (IOException e) {
                return Copy.SOURCE_FAILED;
            }
            if (!isRunning()) {
                return Copy.STOPPED;
            }
            for (int i : to) {
                if (!isAlive(i)) {
                    continue;
                }
                try {
                    data[i].write(off, buf, 0, len);
                } catch (IOException e) {
                    failed(i);
                }
            }
        }
        return Copy.DONE;
    }

    /** Every side the copy is done with is in sync; the bitmap goes once every side is. Guarded by this. */
    private void finishCopy() {
        for (int i = 0; i < alive.length; i++) {
            if (alive[i] && pending[i].isEmpty()) {
                inSync[i] = true;
                recovering[i] = false;
            }
        }
        action = "idle";
        if (allAlive()) {
            dirty.clear();
            quiet.clear();
        }
        events++;
        persistSuperblocks();
    }

    private int nextPending() {
        int next = -1;
        for (int i = 0; i < pending.length; i++) {
            if (alive[i]) {
                int r = pending[i].nextSetBit(0);
                if (r >= 0 && (next < 0 || r < next)) {
                    next = r;
                }
            }
        }
        return next;
    }

    private boolean anyPending() {
        for (int i = 0; i < pending.length; i++) {
            if (alive[i] && !pending[i].isEmpty()) {
                return true;
            }
        }
        return false;
    }

    private synchronized boolean isRunning() {
        return running;
    }

    /** Waits on this (a write ending, a suspend) for at most {@code millis} (0: until notified); guarded by this. */
    private void waitHere(long millis) {
        try {
            wait(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        }
    }

    // I/O to the sides runs outside the target's lock, as md's does: a side whose path holds its
    // I/O (an import reconnecting) must not hold up the status, the other side or a failure.

    @Override
    public void read(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        for (int i = 0; i < data.length; i++) {
            if (readable(i)) {
                try {
                    data[i].read(offset, buf, bufOffset, length);
                    return;
                } catch (IOException e) {
                    failed(i);
                }
            }
        }
        throw new IOException("Input/output error (raid1: no in-sync mirror left)");
    }

    @Override
    public void write(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        int first = (int) (offset / regionBytes);
        int last = (int) ((offset + length - 1) / regionBytes);
        boolean newlyDirty;
        synchronized (this) {
            while (copying >= first && copying <= last) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while a raid1 region is copied", e);
                }
            }
            for (int r = first; r <= last; r++) {
                writing.merge(r, 1, Integer::sum);
                quiet.remove(r);
            }
            newlyDirty = dirty.nextClearBit(first) <= last;
            if (newlyDirty) {
                dirty.set(first, last + 1);
            }
        }
        try {
            if (newlyDirty) {
                writeBitmaps(first, last);
            }
            writeSides(offset, buf, bufOffset, length);
        } finally {
            synchronized (this) {
                for (int r = first; r <= last; r++) {
                    if (writing.computeIfPresent(r, (k, v) -> v == 1 ? null : v - 1) == null && dirty.get(r)) {
                        quiet.put(r, 2);
                    }
                }
                notifyAll();
            }
        }
    }

    /** The bits of regions {@code first..last} as they are now, to every side alive (taking {@link #bitmapWrites}, reentrant). */
    private void writeBitmaps(int first, int last) {
        synchronized (bitmapWrites) {
            Raid1Superblock[] bitmaps = new Raid1Superblock[meta.length];
            synchronized (this) {
                for (int i = 0; i < meta.length; i++) {
                    bitmaps[i] = alive[i] ? superblock(i) : null;
                }
            }
            for (int i = 0; i < meta.length; i++) {
                if (bitmaps[i] != null) {
                    try {
                        bitmaps[i].writeBitmap(meta[i], first, last);
                    } catch (IOException e) {
                        failed(i);
                    }
                }
            }
        }
    }

    /**
     * One run of md's bitmap daemon ({@link BitmapDaemon}): each quiet region counts down, and
     * those at the end of their count lose their bit, on disk too. Only while every side is
     * alive and none is being copied to: md keeps the bits of writes a side missed (and its
     * resync clears its own), so a side that returns gets them.
     */
    void bitmapDaemon() {
        synchronized (bitmapWrites) {
            BitSet cleared = new BitSet();
            synchronized (this) {
                if (!running || !allAlive() || anyPending() || quiet.isEmpty()) {
                    return;
                }
                for (var it = quiet.entrySet().iterator(); it.hasNext(); ) {
                    Map.Entry<Integer, Integer> q = it.next();
                    if (q.getValue() > 1) {
                        q.setValue(q.getValue() - 1);
                    } else {
                        it.remove();
                        dirty.clear(q.getKey());
                        cleared.set(q.getKey());
                    }
                }
                if (cleared.isEmpty()) {
                    return;
                }
            }
            writeBitmaps(cleared.nextSetBit(0), cleared.length() - 1);
        }
    }

    private void writeSides(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        // Acknowledged only once on a side that holds every region: a side still being copied to
        // is not one, and a write that reached only such a side would read back from none.
        boolean written = false;
        for (int i = 0; i < data.length; i++) {
            if (isAlive(i)) {
                boolean whole = readable(i);
                try {
                    data[i].write(offset, buf, bufOffset, length);
                    written |= whole;
                } catch (IOException e) {
                    failed(i);
                }
            }
        }
        if (!written) {
            throw new IOException("Input/output error (raid1: no mirror in sync took the write)");
        }
    }

    private synchronized boolean readable(int side) {
        return alive[side] && inSync[side];
    }

    private synchronized boolean isAlive(int side) {
        return alive[side];
    }

    /**
     * md: "Disk failure on dm-N, disabling device. Operation continuing on k devices." — except
     * for the last side in sync: raid1_error keeps it (the array is broken, not shrunk to
     * nothing), and the I/O that failed on it fails upwards. The other sides' superblocks are
     * told, outside the lock.
     */
    private void failed(int side) {
        synchronized (bitmapWrites) {   // its superblocks carry the bits too: not older ones over newer
            Raid1Superblock[] tell = new Raid1Superblock[meta.length];
            synchronized (this) {
                if (!alive[side] || lastInSync(side)) {
                    return;
                }
                alive[side] = false;
                inSync[side] = false;
                events++;
                for (int i = 0; i < meta.length; i++) {
                    tell[i] = alive[i] ? superblock(i) : null;
                }
            }
            for (int i = 0; i < meta.length; i++) {
                if (tell[i] != null) {
                    try {
                        tell[i].write(meta[i]);
                    } catch (IOException e) {
                        failed(i);
                    }
                }
            }
        }
    }

    private boolean lastInSync(int side) {
        if (!alive[side] || !inSync[side]) {
            return false;
        }
        for (int i = 0; i < alive.length; i++) {
            if (i != side && alive[i] && inSync[i]) {
                return false;
            }
        }
        return true;
    }

    private void persistSuperblocks() {
        for (int i = 0; i < meta.length; i++) {
            if (alive[i]) {
                try {
                    superblock(i).write(meta[i]);
                } catch (IOException e) {
                    if (!lastInSync(i)) {
                        alive[i] = false;
                        inSync[i] = false;
                        events++;
                        i = -1;
                    }
                }
            }
        }
    }

    private Raid1Superblock superblock(int member) {
        boolean[] failed = new boolean[meta.length];
        for (int i = 0; i < failed.length; i++) {
            failed[i] = !alive[i] || recovering[i];
        }
        return new Raid1Superblock(lengthSectors, regionSectors, member, meta.length, events, failed, dirty);
    }

    private boolean allAlive() {
        for (boolean a : alive) {
            if (!a) {
                return false;
            }
        }
        return true;
    }

    /**
     * The copy stops after its region, and the suspend waits for that region (md stops the sync
     * thread and waits for it before a suspend): a table loaded next over the same sides must not
     * meet a late write of this one's copy. Quiesced with every side in sync, nothing can differ
     * any more, so the write-intent bits go.
     */
    @Override
    public synchronized void postsuspend() {
        running = false;
        notifyAll();
        while (copying >= 0) {
            waitHere(0);
        }
        if (allAlive() && !anyPending() && !dirty.isEmpty()) {
            dirty.clear();
            quiet.clear();
            persistSuperblocks();
        }
    }

    /** A resume after a suspend: the copy goes on where it stopped. */
    @Override
    public synchronized void resumed() {
        running = true;
        startCopy();
    }

    @Override
    public synchronized void close() {
        running = false;
        bitmapDaemon.remove(this);
        notifyAll();
    }

    /**
     * As dm-raid prints it: a health character per side ({@code a} for every side while a resync
     * runs, for a side being recovered), synced/total sectors, the sync action.
     */
    @Override
    public synchronized String status() {
        StringBuilder health = new StringBuilder();
        for (int i = 0; i < alive.length; i++) {
            health.append(!alive[i] ? 'D' : action.equals("resync") || recovering[i] ? 'a' : 'A');
        }
        BitSet left = new BitSet();
        for (int i = 0; i < pending.length; i++) {
            if (alive[i]) {
                left.or(pending[i]);
            }
        }
        long synced = Math.max(0, lengthSectors - left.cardinality() * regionSectors);
        return "raid1 " + alive.length + " " + health + " " + synced + "/" + lengthSectors + " " + action + " 0 0 -";
    }
}
