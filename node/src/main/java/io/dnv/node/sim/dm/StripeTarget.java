package io.dnv.node.sim.dm;

import io.dnv.node.sim.block.BlockDevice;

import java.io.IOException;
import java.util.List;

/**
 * Chunks dealt round-robin over equal legs from offset 0: both `striped` and dm-raid `raid0`
 * (md raid0 with one zone), which is why the same bytes read back through either.
 */
final class StripeTarget implements Target {

    private final List<BlockDevice> legs;
    private final long chunkBytes;
    private final String status;

    private StripeTarget(List<BlockDevice> legs, long chunkSectors, String status) {
        this.legs = List.copyOf(legs);
        this.chunkBytes = chunkSectors * BlockDevice.SECTOR;
        this.status = status;
    }

    /** dm-stripe's status: the legs by major:minor, then one health char per leg. */
    static StripeTarget striped(List<BlockDevice> legs, long chunkSectors, List<String> legNumbers) {
        return new StripeTarget(legs, chunkSectors,
                legs.size() + " " + String.join(" ", legNumbers) + " 1 " + "A".repeat(legs.size()));
    }

    /** dm-raid's status; raid0 has no redundancy, so nothing ever syncs. */
    static StripeTarget raid0(List<BlockDevice> legs, long chunkSectors, long lengthSectors) {
        long perLeg = lengthSectors / legs.size();
        return new StripeTarget(legs, chunkSectors,
                "raid0 " + legs.size() + " " + "A".repeat(legs.size()) + " " + perLeg + "/" + perLeg + " idle 0 0 -");
    }

    @Override
    public void read(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        for (int done = 0; done < length; ) {
            int n = pieceLength(offset + done, length - done);
            leg(offset + done).read(legOffset(offset + done), buf, bufOffset + done, n);
            done += n;
        }
    }

    @Override
    public void write(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        for (int done = 0; done < length; ) {
            int n = pieceLength(offset + done, length - done);
            leg(offset + done).write(legOffset(offset + done), buf, bufOffset + done, n);
            done += n;
        }
    }

    private int pieceLength(long offset, int remaining) {
        return (int) Math.min(remaining, chunkBytes - offset % chunkBytes);
    }

    private BlockDevice leg(long offset) {
        return legs.get((int) ((offset / chunkBytes) % legs.size()));
    }

    private long legOffset(long offset) {
        long chunk = offset / chunkBytes;
        return (chunk / legs.size()) * chunkBytes + offset % chunkBytes;
    }

    @Override
    public String status() {
        return status;
    }
}
