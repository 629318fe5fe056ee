package io.dnv.node.sim.dm;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * md's bitmap daemon for one kernel's raid1 arrays: every {@code daemon_sleep} (md's default 5 s,
 * which dm-raid keeps unless its table says otherwise) each array clears the write-intent bits of
 * regions no write touched since the run before last ({@link Raid1Target#bitmapDaemon}). Without
 * it every region written since an array was assembled stays dirty, and an assembly after a
 * crash copies all of them where Linux copies the last few seconds' worth.
 *
 * <p>One thread for the kernel's arrays (md runs the daemon on each array's own thread): an
 * array whose bitmap write waits on a path that is down holds up the others' clearing, never
 * their I/O.
 */
final class BitmapDaemon {

    static final Duration DEFAULT_SLEEP = Duration.ofSeconds(5);

    private final Set<Raid1Target> arrays = ConcurrentHashMap.newKeySet();
    private Duration sleep = DEFAULT_SLEEP;
    private ScheduledExecutorService thread;

    synchronized void sleep(Duration sleep) {
        this.sleep = sleep;
        if (thread != null) {
            thread.shutdownNow();
            thread = null;
            start();
        }
    }

    synchronized void add(Raid1Target array) {
        arrays.add(array);
        start();
    }

    void remove(Raid1Target array) {
        arrays.remove(array);
    }

    /** The machine lost power: nothing runs any more. */
    synchronized void halt() {
        arrays.clear();
        if (thread != null) {
            thread.shutdownNow();
            thread = null;
        }
    }

    private void start() {
        if (thread != null || arrays.isEmpty()) {
            return;
        }
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
            Thread th = new Thread(r, "md-bitmap-daemon");
            th.setDaemon(true);
            return th;
        });
        long nanos = sleep.toNanos();
        t.scheduleWithFixedDelay(this::run, nanos, nanos, TimeUnit.NANOSECONDS);
        thread = t;
    }

    private void run() {
        for (Raid1Target array : arrays) {
            if (Thread.currentThread().isInterrupted()) {
                return;
            }
            array.bitmapDaemon();
        }
    }
}
