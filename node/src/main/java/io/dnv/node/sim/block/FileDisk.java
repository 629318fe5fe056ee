package io.dnv.node.sim.block;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A physical disk backed by a sparse file: what was written survives every simulated power
 * cycle, because the file does. Unwritten ranges read as zeroes.
 */
public final class FileDisk implements BlockDevice, AutoCloseable {

    private final RandomAccessFile file;
    private final long sizeBytes;

    public FileDisk(Path path, long sizeBytes) {
        if (sizeBytes <= 0 || sizeBytes % SECTOR != 0) {
            throw new IllegalArgumentException("disk size must be a positive multiple of 512: " + sizeBytes);
        }
        try {
            Files.createDirectories(path.toAbsolutePath().getParent());
            this.file = new RandomAccessFile(path.toFile(), "rw");
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
        file.seek(offset);
        file.write(buf, bufOffset, length);
    }

    private void check(long offset, int length) throws IOException {
        if (offset < 0 || length < 0 || offset % SECTOR != 0 || length % SECTOR != 0 || offset + length > sizeBytes) {
            throw new IOException("I/O outside the disk or not sector aligned: offset " + offset + " length " + length);
        }
    }

    @Override
    public synchronized void close() throws IOException {
        file.close();
    }
}
