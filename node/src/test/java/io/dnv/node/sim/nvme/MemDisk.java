package io.dnv.node.sim.nvme;

import io.dnv.node.sim.block.BlockDevice;

import java.io.IOException;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;

/** A small in-memory disk that counts writes, so a test can see which target served an I/O. */
final class MemDisk implements BlockDevice {

    private final byte[] data;
    final AtomicInteger writes = new AtomicInteger();

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

    synchronized byte[] bytes(int offset, int length) {
        return Arrays.copyOfRange(data, offset, offset + length);
    }

    private void check(long offset, int length) throws IOException {
        if (offset < 0 || offset + length > data.length) {
            throw new IOException("outside the disk");
        }
    }
}
