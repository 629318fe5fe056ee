package io.dnv.node.sim.dm;

import java.io.IOException;

/**
 * A `thin` device: one thin id of a pool, split into the pool's blocks. `create_snap` on an
 * origin that is not suspended is accepted but races the origin's writes in flight (see
 * {@link ThinPool#write}); with the origin quiescent, the snapshot is consistent, as on Linux.
 */
final class ThinTarget implements Target {

    private final ThinPool pool;
    private final long id;
    private final long blockBytes;

    ThinTarget(ThinPool pool, long id) {
        this.pool = pool;
        this.id = id;
        this.blockBytes = pool.blockBytes();
    }

    @Override
    public void open() {
        pool.openThin(id);
    }

    @Override
    public void close() {
        pool.closeThin(id);
    }

    @Override
    public void read(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        for (int done = 0; done < length; ) {
            long block = (offset + done) / blockBytes;
            int inBlock = (int) ((offset + done) % blockBytes);
            int n = (int) Math.min(length - done, blockBytes - inBlock);
            pool.read(id, block, inBlock, buf, bufOffset + done, n);
            done += n;
        }
    }

    @Override
    public void write(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        for (int done = 0; done < length; ) {
            long block = (offset + done) / blockBytes;
            int inBlock = (int) ((offset + done) % blockBytes);
            int n = (int) Math.min(length - done, blockBytes - inBlock);
            pool.write(id, block, inBlock, buf, bufOffset + done, n);
            done += n;
        }
    }

    @Override
    public String status() {
        return pool.thinStatus(id);
    }
}
