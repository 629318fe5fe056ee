package io.dnv.node.sim.dm;

import io.dnv.core.kernel.DmTarget;
import io.dnv.node.sim.block.BlockDevice;

import java.io.IOException;
import java.util.BitSet;
import java.util.List;

/**
 * dm-raid raid1 over (meta, data) sides: writes go to every alive side, reads come from an
 * in-sync one, a side whose I/O fails is dead from then on and the others' superblocks say so.
 * Assembly at resume decides from the superblocks which sides are current and copies what the
 * others missed; the copy runs to completion before the resume returns (Linux resyncs in the
 * background, so its status can show `aa ... resync` for a while; ours never does).
 */
final class Raid1Target implements Target {

    private static final int COPY_BYTES = 1 << 20;

    private final DmTarget.Raid1 spec;
    private final long lengthSectors;
    private final BlockDevice[] meta;
    private final BlockDevice[] data;
    /** The region in use: the table's, else the existing bitmap's, else the kernel's default. */
    private long regionSectors;
    private int regions;
    private long regionBytes;
    private final boolean[] alive;
    private final boolean[] inSync;
    private final BitSet dirty = new BitSet();
    private long events;

    /** {@code meta}/{@code data} hold null for a side given as `- -`. */
    Raid1Target(DmTarget.Raid1 spec, long lengthSectors, List<BlockDevice> meta, List<BlockDevice> data) throws TableError {
        this.spec = spec;
        this.lengthSectors = lengthSectors;
        this.meta = meta.toArray(new BlockDevice[0]);
        this.data = data.toArray(new BlockDevice[0]);
        useRegion(spec.regionSectors().orElse(TableRules.defaultRegionSectors(lengthSectors)));
        this.alive = new boolean[this.meta.length];
        this.inSync = new boolean[this.meta.length];
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
        int source = -1;
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
                dirty.set((int) (grownFrom / regionSectors), regions);
            }
        }
        BitSet all = new BitSet();
        all.set(0, regions);
        for (int i = 0; i < n; i++) {
            if (alive[i] && i != source) {
                boolean known = inSync[i] || found[i] != null || authority == null && spec.nosync();
                copy(source, i, known ? dirty : all);
            }
        }
        for (int i = 0; i < n; i++) {
            inSync[i] = alive[i];
        }
        if (allAlive()) {
            dirty.clear();
        }
        events++;
        persistSuperblocks();
    }

    private void copy(int from, int to, BitSet which) throws TableError {
        if (which.isEmpty()) {
            return;
        }
        byte[] buf = new byte[COPY_BYTES];
        long lengthBytes = lengthSectors * BlockDevice.SECTOR;
        for (int r = which.nextSetBit(0); r >= 0 && r < regions && alive[to]; r = which.nextSetBit(r + 1)) {
            long end = Math.min(lengthBytes, (r + 1) * regionBytes);
            for (long off = r * regionBytes; off < end && alive[to]; off += COPY_BYTES) {
                int len = (int) Math.min(COPY_BYTES, end - off);
                try {
                    data[from].read(off, buf, 0, len);
                } catch (IOException e) {
                    alive[from] = false;
                    throw TableError.target("raid", "Failed to run raid array (source member " + from + " failed during recovery)");
                }
                try {
                    data[to].write(off, buf, 0, len);
                } catch (IOException e) {
                    alive[to] = false;
                }
            }
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
        Raid1Superblock[] bitmaps = new Raid1Superblock[meta.length];
        synchronized (this) {
            if (dirty.nextClearBit(first) <= last) {
                dirty.set(first, last + 1);
                for (int i = 0; i < meta.length; i++) {
                    bitmaps[i] = alive[i] ? superblock(i) : null;
                }
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
        boolean written = false;
        for (int i = 0; i < data.length; i++) {
            if (isAlive(i)) {
                try {
                    data[i].write(offset, buf, bufOffset, length);
                    written = true;
                } catch (IOException e) {
                    failed(i);
                }
            }
        }
        if (!written) {
            throw new IOException("Input/output error (raid1: no mirror left)");
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
            failed[i] = !alive[i];
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

    /** Quiesced with every side in sync: nothing can differ any more, so the write-intent bits go. */
    @Override
    public synchronized void postsuspend() {
        if (allAlive() && !dirty.isEmpty()) {
            dirty.clear();
            persistSuperblocks();
        }
    }

    @Override
    public synchronized String status() {
        StringBuilder health = new StringBuilder();
        for (int i = 0; i < alive.length; i++) {
            health.append(!alive[i] ? 'D' : inSync[i] ? 'A' : 'a');
        }
        return "raid1 " + alive.length + " " + health + " " + lengthSectors + "/" + lengthSectors + " idle 0 0 -";
    }
}
