package io.dnv.node.sim.block;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * A physical disk backed by a sparse file: what was written survives every simulated power
 * cycle, because the file does. Unwritten ranges read as zeroes.
 */
public final class FileDisk implements BlockDevice, AutoCloseable {

    private final RandomAccessFile file;
    private final long sizeBytes;
    // Where the file may hold something other than zeroes (start -> end, disjoint): what was
    // written since it was created empty, less what was zeroed since. Writing zeroes anywhere
    // else is skipped: zeroing fresh extents would otherwise fill the page cache with zeroes.
    // A file that existed before counts as written all over.
    private final TreeMap<Long, Long> written = new TreeMap<>();

    public FileDisk(Path path, long sizeBytes) {
        if (sizeBytes <= 0 || sizeBytes % SECTOR != 0) {
            throw new IllegalArgumentException("disk size must be a positive multiple of 512: " + sizeBytes);
        }
        try {
            Files.createDirectories(path.toAbsolutePath().getParent());
            this.file = new RandomAccessFile(path.toFile(), "rw");
            if (file.length() > 0) {
                written.put(0L, Math.max(file.length(), sizeBytes));
            }
            if (file.length() < sizeBytes) {
                file.setLength(sizeBytes);
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
    public synchronized void read(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        check(offset, length);
        file.seek(offset);
        file.readFully(buf, bufOffset, length);
    }

    @Override
    public synchronized void write(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        check(offset, length);
        if (allZero(buf, bufOffset, length)) {
            zeroWritten(offset, offset + length);
            return;
        }
        writeFile(offset, buf, bufOffset, length);
        markWritten(offset, offset + length);
    }

    private void writeFile(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        file.seek(offset);
        file.write(buf, bufOffset, length);
    }

    @Override
    public synchronized void writeZeroes(long offset, long length) throws IOException {
        check(offset, length);
        zeroWritten(offset, offset + length);
    }

    /** Zeroes what was written between start and end; the rest reads as zeroes already. */
    private void zeroWritten(long start, long end) throws IOException {
        Map.Entry<Long, Long> before = written.floorEntry(start);
        long first = before != null && before.getValue() > start ? before.getKey() : start;
        for (Map.Entry<Long, Long> w : List.copyOf(written.subMap(first, true, end, false).entrySet())) {
            long from = Math.max(w.getKey(), start);
            BlockDevice.writeZeroesByWriting(this::writeFile, from, Math.min(w.getValue(), end) - from);
        }
        unmarkWritten(start, end);
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
    synchronized NavigableMap<Long, Long> mayHoldData() {
        return new TreeMap<>(written);
    }

    private void check(long offset, long length) throws IOException {
        if (offset < 0 || length < 0 || offset % SECTOR != 0 || length % SECTOR != 0 || offset + length > sizeBytes) {
            throw new IOException("I/O outside the disk or not sector aligned: offset " + offset + " length " + length);
        }
    }

    @Override
    public synchronized void close() throws IOException {
        file.close();
    }
}
