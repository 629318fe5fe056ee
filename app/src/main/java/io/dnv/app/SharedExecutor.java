package io.dnv.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.apache.pekko.dispatch.DispatcherPrerequisites;
import org.apache.pekko.dispatch.ExecutorServiceConfigurator;
import org.apache.pekko.dispatch.ExecutorServiceFactory;

import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * One thread pool, sized to the machine, that runs the dispatchers of every member of a one-JVM
 * simulation ({@code ./dnv dev}, {@code ./dnv bench}). Each member would otherwise start pools of
 * its own (8 threads for its default dispatcher alone): seven members kept dozens of threads
 * parking and waking each other on 2 cores, and that hand-off took about a tenth of the CPU.
 * Production members run one per JVM and keep Pekko's own pools.
 *
 * A member that terminates shuts down only its view of the pool; the pool lives as long as the JVM.
 */
public final class SharedExecutor extends ExecutorServiceConfigurator {

    /** Puts a member's default, internal and remoting dispatchers on the shared pool. */
    static final Config CONFIG = ConfigFactory.parseString("""
            pekko.actor.default-dispatcher.executor = "io.dnv.app.SharedExecutor"
            pekko.actor.internal-dispatcher.executor = "io.dnv.app.SharedExecutor"
            pekko.remote.default-remote-dispatcher.executor = "io.dnv.app.SharedExecutor"
            """);

    private static final ForkJoinPool POOL = new ForkJoinPool(Math.max(2, Runtime.getRuntime().availableProcessors()), pool -> {
        ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
        t.setName("dnv-shared-dispatcher-" + t.getPoolIndex());
        return t;
    }, null, true);

    public SharedExecutor(Config config, DispatcherPrerequisites prerequisites) {
        super(config, prerequisites);
    }

    @Override
    public ExecutorServiceFactory createExecutorServiceFactory(String id, ThreadFactory threadFactory) {
        return MemberView::new;
    }

    /** What one dispatcher sees: the shared pool, which its shutdown leaves running for the other members. */
    private static final class MemberView extends AbstractExecutorService {
        private volatile boolean shutDown;

        @Override
        public void execute(Runnable task) {
            POOL.execute(task);
        }

        @Override
        public void shutdown() {
            shutDown = true;
        }

        @Override
        public List<Runnable> shutdownNow() {
            shutDown = true;
            return List.of();
        }

        @Override
        public boolean isShutdown() {
            return shutDown;
        }

        @Override
        public boolean isTerminated() {
            return shutDown;
        }

        @Override
        public boolean awaitTermination(long timeout, TimeUnit unit) {
            return shutDown;
        }
    }
}
