package io.dnv.sim.bench;

import io.dnv.node.sim.SimulatedKernel;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * One application writing a volume through its host's multipath device, one write at a time:
 * block after block of {@link #BLOCKS}, each write carrying the volume, the block and a sequence
 * number that only grows. It remembers, per block, the newest write acknowledged and the newest
 * issued, so that a read afterwards tells a lost write (the block shows no write of ours, or a
 * torn one) from a stale one (it shows an older write than the newest acknowledged).
 *
 * <p>After a fault it records when the first write issued after the fault was acknowledged: a
 * write held by the host meanwhile is followed at once by the next, so that moment is when I/O
 * resumed, within one write.
 */
final class VolumeWriter implements Runnable {

    static final int BLOCK = 4096;
    static final int BLOCKS = 32;
    private static final long MAGIC = 0x646e762d666f7762L;   // "dnv-fowb"

    final String volumeId;
    private final int volume;
    private final SimulatedKernel.Handle device;
    private final long strideBytes;
    private final long intervalNanos;
    private final long[] acked = new long[BLOCKS];
    private final long[] issued = new long[BLOCKS];
    private volatile boolean running = true;
    private volatile long faultAt = Long.MAX_VALUE;
    private volatile long resumedAt;
    private volatile long acks;
    private volatile int errors;
    private volatile String lastError = "";
    private long seq;
    private final Thread thread;

    VolumeWriter(String volumeId, int volume, SimulatedKernel.Handle device, long intervalMillis) {
        this.volumeId = volumeId;
        this.volume = volume;
        this.device = device;
        // Blocks spread over the whole volume: every leg of the stripe gets some.
        this.strideBytes = device.sizeBytes() / BLOCKS / BLOCK * BLOCK;
        this.intervalNanos = intervalMillis * 1_000_000L;
        Arrays.fill(acked, -1);
        Arrays.fill(issued, -1);
        this.thread = new Thread(this, "writer-" + volumeId);
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    @Override
    public void run() {
        byte[] buf = new byte[BLOCK];
        while (running) {
            int block = (int) (seq % BLOCKS);
            long s = seq++;
            fill(buf, volume, block, s);
            issued[block] = s;
            long sent = System.nanoTime();
            try {
                device.write(block * strideBytes, buf);
                acked[block] = s;
                acks++;
                if (resumedAt == 0 && sent >= faultAt) {
                    resumedAt = System.nanoTime();
                }
            } catch (IOException e) {
                errors++;
                lastError = e.getMessage();
            }
            long left = intervalNanos - (System.nanoTime() - sent);
            if (left > 0 && running) {
                java.util.concurrent.locks.LockSupport.parkNanos(left);
            }
        }
    }

    /** From now on (System.nanoTime()), a write issued and acknowledged counts as I/O resumed. */
    void faultAt(long nanos) {
        faultAt = nanos;
    }

    /** When I/O resumed after the fault (System.nanoTime()), 0 while it has not. */
    long resumedAt() {
        return resumedAt;
    }

    long acks() {
        return acks;
    }

    int errors() {
        return errors;
    }

    String lastError() {
        return lastError;
    }

    /** Stops after the write under way, and waits for it (up to {@code millis}). */
    void stop(long millis) throws InterruptedException {
        running = false;
        thread.join(millis);
    }

    boolean stopped() {
        return !thread.isAlive();
    }

    /** What a read of every block shows against what was acknowledged. */
    record Check(int lost, int stale) {}

    Check check() throws IOException {
        int lost = 0;
        int stale = 0;
        byte[] buf = new byte[BLOCK];
        byte[] expected = new byte[BLOCK];
        for (int block = 0; block < BLOCKS; block++) {
            if (acked[block] < 0) {
                continue;
            }
            device.read(block * strideBytes, buf);
            ByteBuffer b = ByteBuffer.wrap(buf);
            long found = b.getLong() == MAGIC && b.getInt() == volume && b.getInt() == block ? b.getLong() : -1;
            if (found >= 0) {
                fill(expected, volume, block, found);
                if (!Arrays.equals(buf, expected)) {
                    found = -1;   // torn: part of a write
                }
            }
            if (found == acked[block] || (found > acked[block] && found <= issued[block])) {
                continue;
            }
            if (found >= 0 && found < acked[block]) {
                stale++;
            } else {
                lost++;
            }
        }
        return new Check(lost, stale);
    }

    /** The block's header, then bytes that depend on the sequence number all the way through. */
    private static void fill(byte[] buf, int volume, int block, long seq) {
        ByteBuffer b = ByteBuffer.wrap(buf);
        b.putLong(MAGIC).putInt(volume).putInt(block).putLong(seq);
        long x = seq * 0x9E3779B97F4A7C15L + block;
        while (b.remaining() >= 8) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            b.putLong(x);
        }
    }
}
