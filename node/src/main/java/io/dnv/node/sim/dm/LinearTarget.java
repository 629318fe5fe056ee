package io.dnv.node.sim.dm;

import io.dnv.node.sim.block.BlockDevice;

import java.io.IOException;

/** `linear dev offset`: the line's sectors are the device's sectors from offset on. */
final class LinearTarget implements Target {

    private final BlockDevice device;
    private final long startBytes;

    LinearTarget(BlockDevice device, long offsetSectors) {
        this.device = device;
        this.startBytes = offsetSectors * BlockDevice.SECTOR;
    }

    @Override
    public void read(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        device.read(startBytes + offset, buf, bufOffset, length);
    }

    @Override
    public void write(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        device.write(startBytes + offset, buf, bufOffset, length);
    }

    /** dm-linear passes write-zeroes down, as Linux does. */
    @Override
    public void writeZeroes(long offset, long length) throws IOException {
        device.writeZeroes(startBytes + offset, length);
    }

    @Override
    public String status() {
        return "";
    }
}
