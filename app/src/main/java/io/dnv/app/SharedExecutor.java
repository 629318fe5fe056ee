package io.dnv.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.apache.pekko.dispatch.DispatcherPrerequisites;
import org.apache.pekko.dispatch.ExecutorServiceConfigurator;
import org.apache.pekko.dispatch.ExecutorServiceFactory;

import scala.Function0;
import scala.concurrent.BlockContext;
import scala.concurrent.CanAwait;

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
 *
 * <p>Pekko blocks a dispatcher thread in places (a guardian that calls {@code ClusterSharding.init}
 * waits for the shard region to start). With two threads shared by seven members, two members
 * starting at once blocked both and nothing was left to start their regions: startup hung until
 * the 20 s time-out and the member failed. So a worker that blocks says so ({@link Worker}), and the
 * pool starts a spare thread for as long as it waits, as Pekko's own fork-join pool does.
 */
public final class SharedExecutor extends ExecutorServiceConfigurator {

    /** Puts a member's default, internal and remoting dispatchers on the shared pool. */
    static final Config CONFIG = ConfigFactory.parseString("""
            pekko.actor.default-dispatcher.executor = "io.dnv.app.SharedExecutor"
            pekko.actor.internal-dispatcher.executor = "io.dnv.app.SharedExecutor"
            pekko.remote.default-remote-dispatcher.executor = "io.dnv.app.SharedExecutor"
            """);

    private static final ForkJoinPool POOL = new ForkJoinPool(Math.max(2, Runtime.getRuntime().availableProcessors()),
            Worker::new, null, true);

    /** How many threads run when none is blocked. */
    static int threads() {
        return POOL.getParallelism();
    }

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

    /** A pool thread whose blocking waits (Scala's {@code Await}, {@code blocking}) let the pool add a spare thread. */
    static final class Worker extends ForkJoinWorkerThread implements BlockContext {

        Worker(ForkJoinPool pool) {
            super(pool);
            setName("dnv-shared-dispatcher-" + getPoolIndex());
        }

        @Override
        public <T> T blockOn(Function0<T> thunk, CanAwait permission) {
            Blocker<T> blocker = new Blocker<>(thunk);
            try {
                ForkJoinPool.managedBlock(blocker);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while blocked", e);
            }
            return blocker.result;
        }
    }

    private static final class Blocker<T> implements ForkJoinPool.ManagedBlocker {
        private final Function0<T> thunk;
        private T result;
        private boolean done;

        Blocker(Function0<T> thunk) {
            this.thunk = thunk;
        }

        @Override
        public boolean block() {
            result = thunk.apply();
            done = true;
            return true;
        }

        @Override
        public boolean isReleasable() {
            return done;
        }
    }
}
