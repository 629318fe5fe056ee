package io.dnv.node.agent;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Kernel commands of a pass that do not depend on each other, run side by side: each volume's
 * dm devices (bottom-up, one after the other) and each export are independent of every other
 * volume's, and Linux runs dmsetup and configfs commands for different devices at once (a dm
 * table load, suspend or resume takes no lock across devices; each command is mostly its own
 * process's work). A failover gives one node hundreds of volumes to fence or promote in one
 * pass (docs/failover.md, "Failover at scale"). Connects stay one at a time: Linux serializes
 * every write to /dev/nvme-fabrics of a kernel.
 *
 * <p>With one lane everything runs on the caller's thread, in order (the unit tests' passes).
 */
final class Lanes {

    private final int lanes;
    private final ThreadPoolExecutor pool;

    Lanes(String nodeId, int lanes) {
        if (lanes < 1) {
            throw new IllegalArgumentException("kernel command lanes must be at least 1: " + lanes);
        }
        this.lanes = lanes;
        AtomicInteger n = new AtomicInteger();
        this.pool = lanes == 1 ? null : new ThreadPoolExecutor(lanes, lanes, 10, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "agent-" + nodeId + "-lane-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        if (pool != null) {
            pool.allowCoreThreadTimeOut(true);   // an idle agent holds no threads
        }
    }

    /**
     * Runs {@code each} on every item, the items of one group in order and the groups side by
     * side; returns once all are done. An exception of one is thrown here, after the others ended.
     */
    <T> void run(Collection<List<T>> groups, Consumer<T> each) {
        if (pool == null || groups.size() < 2) {
            groups.forEach(g -> g.forEach(each));
            return;
        }
        List<Future<?>> running = new ArrayList<>();
        for (List<T> g : groups) {
            running.add(pool.submit(() -> g.forEach(each)));
        }
        RuntimeException failed = null;
        for (Future<?> f : running) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failed == null) {
                    failed = e.getCause() instanceof RuntimeException r ? r : new CompletionException(e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                running.forEach(x -> x.cancel(true));
                throw new CompletionException(e);
            }
        }
        if (failed != null) {
            throw failed;
        }
    }

    int lanes() {
        return lanes;
    }
}
