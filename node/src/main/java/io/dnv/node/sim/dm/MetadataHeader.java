package io.dnv.node.sim.dm;

import io.dnv.node.sim.block.BlockDevice;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The header every simulated metadata format (raid1 superblock, thin-pool, dm-clone) starts
 * with: all zero on a device never formatted, else the format's magic, then its fields.
 */
final class MetadataHeader {

    private MetadataHeader() {}

    /**
     * The header's fields, just past the magic; null when the first {@code bytes} are all zero
     * (a brand-new device). Bytes that are not zero and do not start with the magic are someone
     * else's: refused with {@code refusal}, as the kernel refuses metadata it cannot validate.
     */
    static ByteBuffer read(BlockDevice device, int bytes, byte[] magic, String target, String refusal)
            throws IOException, TableError {
        byte[] header = new byte[bytes];
        device.read(0, header);
        if (Arrays.equals(header, new byte[bytes])) {
            return null;
        }
        ByteBuffer b = ByteBuffer.wrap(header);
        byte[] found = new byte[magic.length];
        b.get(found);
        if (!Arrays.equals(found, magic)) {
            throw TableError.target(target, refusal);
        }
        return b;
    }
}
