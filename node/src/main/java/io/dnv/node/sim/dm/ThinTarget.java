package io.dnv.node.sim.dm;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A `thin` device. Like dm-thin it remembers the mappings it has already found to be its own
 * and writes through them without asking the pool again; only a suspend forgets them. That is
 * why `create_snap` on an origin that is not suspended gives an inconsistent snapshot: the pool
 * marks the blocks shared, but the origin keeps writing in place through what it remembers.
 */
final class ThinTarget implements Target {

    private final ThinPool pool;
    private final long id;
    private final long blockBytes;
    private final Map<Long, Long> exclusive = new ConcurrentHashMap<>();

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
            pool.read(id, block, exclusive.getOrDefault(block, -1L), inBlock, buf, bufOffset + done, n);
            done += n;
        }
    }

    @Override
    public void write(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        for (int done = 0; done < length; ) {
            long block = (offset + done) / blockBytes;
            int inBlock = (int) ((offset + done) % blockBytes);
            int n = (int) Math.min(length - done, blockBytes - inBlock);
            Long known = exclusive.get(block);
            if (known != null) {
                pool.writeInPlace(known, inBlock, buf, bufOffset + done, n);
            } else {
                exclusive.put(block, pool.provisionAndWrite(id, block, inBlock, buf, bufOffset + done, n));
            }
            done += n;
        }
    }

    @Override
    public void postsuspend() {
        exclusive.clear();
    }

    @Override
    public String status() {
        return pool.thinStatus(id);
    }
}
