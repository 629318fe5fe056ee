package io.dnv.node.sim.block;

import java.io.IOException;

/**
 * A simulated block device. Offsets and lengths are in bytes and multiples of 512. A call
 * blocks while the device holds I/O (a suspended dm device, an NVMe path with no usable
 * controller) and throws IOException where Linux would complete the bio with an error.
 */
public interface BlockDevice {

    int SECTOR = 512;

    long sizeSectors();

    void read(long offset, byte[] buf, int bufOffset, int length) throws IOException;

    void write(long offset, byte[] buf, int bufOffset, int length) throws IOException;

    default void read(long offset, byte[] buf) throws IOException {
        read(offset, buf, 0, buf.length);
    }

    default void write(long offset, byte[] buf) throws IOException {
        write(offset, buf, 0, buf.length);
    }

    /** REQ_OP_WRITE_ZEROES: the range reads back as zeroes afterwards. */
    default void writeZeroes(long offset, long length) throws IOException {
        writeZeroesByWriting(this::write, offset, length);
    }

    interface Writer {
        void write(long offset, byte[] buf, int bufOffset, int length) throws IOException;
    }

    /** Write-zeroes for a device that has nothing better: zeroes written a MiB at a time. */
    static void writeZeroesByWriting(Writer device, long offset, long length) throws IOException {
        for (long done = 0; done < length; ) {
            int n = (int) Math.min(Zeroes.MIB.length, length - done);
            device.write(offset + done, Zeroes.MIB, 0, n);
            done += n;
        }
    }
}
