package io.dnv.node.sim.block;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A physical disk backed by a sparse file: what was written survives every simulated power
 * cycle, because the file does. Unwritten ranges read as zeroes.
 *
 * <p>Reads and writes run side by side, up to {@link #QUEUE_DEPTH} at once, as an NVMe disk with
 * its queues serves many commands at once: one disk lock would make a pool's metadata read wait
 * for every bulk write of the node. Each I/O in flight has a handle on the file of its own (a
 * shared FileChannel would do positional I/O, but an interrupt of any thread in it closes the
 * channel for every user of the disk). Zeroing what may hold data runs alone, so what
 * {@link #mayHoldData} says stays true of the file; zeroing what reads as zeroes already is skipped.
 */
public final class FileDisk implements BlockDevice, AutoCloseable {

    static final int QUEUE_DEPTH = 8;

    /** The file's handles not in use by an I/O. */
    private final BlockingQueue<RandomAccessFile> handles = new ArrayBlockingQueue<>(QUEUE_DEPTH);
    private final long sizeBytes;
    /** Shared by reads and writes of data, exclusive for zeroing and close. */
    private final ReentrantReadWriteLock io = new ReentrantReadWriteLock();
    // Where the file may hold something other than zeroes (start -> end, disjoint): what was
    // written since it was created empty, less what was zeroed since. Writing zeroes anywhere
    // else is skipped: zeroing fresh extents would otherwise fill the page cache with zeroes.
    // A file that existed before counts as written all over. Guarded by itself.
    private final TreeMap<Long, Long> written = new TreeMap<>();

    public FileDisk(Path path, long sizeBytes) {
        if (sizeBytes <= 0 || sizeBytes % SECTOR != 0) {
            throw new IllegalArgumentException("disk size must be a positive multiple of 512: " + sizeBytes);
        }
        try {
            Files.createDirectories(path.toAbsolutePath().getParent());
            RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw");
            if (file.length() > 0) {
                written.put(0L, Math.max(file.length(), sizeBytes));
            }
            if (file.length() < sizeBytes) {
                file.setLength(sizeBytes);
            }
            handles.add(file);
            while (handles.remainingCapacity() > 0) {
                handles.add(new RandomAccessFile(path.toFile(), "rw"));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.sizeBytes = sizeBytes;
    }

    @Override
    public long sizeSectors() {
        return sizeBytes / SECTOR;
    }

    @Override
    public void read(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        check(offset, length);
        io.readLock().lock();
        try {
            onHandle(offset, h -> h.readFully(buf, bufOffset, length));
        } finally {
            io.readLock().unlock();
        }
    }

    @Override
    public void write(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        check(offset, length);
        if (allZero(buf, bufOffset, length)) {
            writeZeroes(offset, length);
            return;
        }
        io.readLock().lock();
        try {
            writeFile(offset, buf, bufOffset, length);
            synchronized (written) {
                markWritten(offset, offset + length);
            }
        } finally {
            io.readLock().unlock();
        }
    }

    private void writeFile(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        onHandle(offset, h -> h.write(buf, bufOffset, length));
    }

    private interface HandleIo {
        void run(RandomAccessFile handle) throws IOException;
    }

    /** {@code io} on a handle of its own, positioned at {@code offset}; the handle goes back to the pool after. */
    private void onHandle(long offset, HandleIo io) throws IOException {
        RandomAccessFile h = handle();
        try {
            h.seek(offset);
            io.run(h);
        } finally {
            handles.add(h);
        }
    }

    /** A handle no other I/O uses, once one is free (the disk's queue is full meanwhile). */
    private RandomAccessFile handle() throws IOException {
        RandomAccessFile free = handles.poll();
        if (free != null) {
            return free;
        }
        try {
            return handles.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while the disk's queue was full");
        }
    }

    @Override
    public void writeZeroes(long offset, long length) throws IOException {
        check(offset, length);
        if (writtenBetween(offset, offset + length).isEmpty()) {
            // Reads as zeroes already: nothing to write, and no reason to stop the disk's other I/O.
            // A write into the range in flight meanwhile lands as if it came after these zeroes, as
            // a disk may order them. (A raid1 resync copies a fresh array's zero regions this way,
            // and each used to hold every I/O of the node's disk.)
            return;
        }
        io.writeLock().lock();
        try {
            zeroWritten(offset, offset + length);
        } finally {
            io.writeLock().unlock();
        }
    }

    /** The written ranges (start to end) that overlap start..end, as they are now. */
    private List<Map.Entry<Long, Long>> writtenBetween(long start, long end) {
        synchronized (written) {
            Map.Entry<Long, Long> before = written.floorEntry(start);
            long first = before != null && before.getValue() > start ? before.getKey() : start;
            return List.copyOf(new TreeMap<>(written.subMap(first, true, end, false)).entrySet());
        }
    }

    /** Zeroes what was written between start and end; the rest reads as zeroes already. */
    private void zeroWritten(long start, long end) throws IOException {
        for (Map.Entry<Long, Long> w : writtenBetween(start, end)) {
            long from = Math.max(w.getKey(), start);
            BlockDevice.writeZeroesByWriting(this::writeFile, from, Math.min(w.getValue(), end) - from);
        }
        synchronized (written) {
            unmarkWritten(start, end);
        }
    }

    private static boolean allZero(byte[] buf, int from, int length) {
        for (int done = 0; done < length; done += Zeroes.MIB.length) {
            int n = Math.min(Zeroes.MIB.length, length - done);
            if (Arrays.mismatch(buf, from + done, from + done + n, Zeroes.MIB, 0, n) >= 0) {
                return false;
            }
        }
        return true;
    }

    private void unmarkWritten(long start, long end) {
        Map.Entry<Long, Long> before = written.lowerEntry(start);
        if (before != null && before.getValue() > start) {
            written.put(before.getKey(), start);
            if (before.getValue() > end) {
                written.put(end, before.getValue());
            }
        }
        // A copy of the entries, not the map's own: TreeMap's remove moves a successor's key and
        // value into the removed node, so a held entry could read its neighbour's end afterwards
        // (that marked whole extents written, and every zeroing there wrote real zeroes).
        for (Map.Entry<Long, Long> w : new TreeMap<>(written.subMap(start, true, end, false)).entrySet()) {
            written.remove(w.getKey());
            if (w.getValue() > end) {
                written.put(end, w.getValue());
            }
        }
    }

    private void markWritten(long start, long end) {
        if (start >= end) {
            return;
        }
        Map.Entry<Long, Long> before = written.floorEntry(start);
        if (before != null && before.getValue() >= start) {
            start = before.getKey();
            end = Math.max(end, before.getValue());
        }
        for (Map.Entry<Long, Long> next = written.ceilingEntry(start); next != null && next.getKey() <= end;
             next = written.ceilingEntry(start)) {
            end = Math.max(end, next.getValue());
            written.remove(next.getKey());
        }
        written.put(start, end);
    }

    /** Where the file may hold non-zero bytes (start to end, in bytes): what zeroing must write. */
    NavigableMap<Long, Long> mayHoldData() {
        synchronized (written) {
            return new TreeMap<>(written);
        }
    }

    private void check(long offset, long length) throws IOException {
        if (offset < 0 || length < 0 || offset % SECTOR != 0 || length % SECTOR != 0 || offset + length > sizeBytes) {
            throw new IOException("I/O outside the disk or not sector aligned: offset " + offset + " length " + length);
        }
    }

    @Override
    public void close() throws IOException {
        io.writeLock().lock();
        try {
            for (RandomAccessFile h : handles) {
                h.close();
            }
        } finally {
            io.writeLock().unlock();
        }
    }
}
