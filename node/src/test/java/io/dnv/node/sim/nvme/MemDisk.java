package io.dnv.node.sim.nvme;

import io.dnv.node.sim.block.BlockDevice;

import java.io.IOException;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;

/** A small in-memory disk that counts writes and write-zeroes, so a test can see which target served an I/O, and how. */
final class MemDisk implements BlockDevice {

    private final byte[] data;
    final AtomicInteger writes = new AtomicInteger();
    final AtomicInteger zeroings = new AtomicInteger();

    MemDisk(int bytes) {
        data = new byte[bytes];
    }

    @Override
    public long sizeSectors() {
        return data.length / SECTOR;
    }

    @Override
    public synchronized void read(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        check(offset, length);
        System.arraycopy(data, (int) offset, buf, bufOffset, length);
    }

    @Override
    public synchronized void write(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        check(offset, length);
        System.arraycopy(buf, bufOffset, data, (int) offset, length);
        writes.incrementAndGet();
    }

    @Override
    public synchronized void writeZeroes(long offset, long length) throws IOException {
        check(offset, (int) length);
        Arrays.fill(data, (int) offset, (int) (offset + length), (byte) 0);
        zeroings.incrementAndGet();
    }

    synchronized byte[] bytes(int offset, int length) {
        return Arrays.copyOfRange(data, offset, offset + length);
    }

    private void check(long offset, int length) throws IOException {
        if (offset < 0 || offset + length > data.length) {
            throw new IOException("outside the disk");
        }
    }
}
