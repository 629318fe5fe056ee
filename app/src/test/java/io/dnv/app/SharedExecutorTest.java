package io.dnv.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;

import scala.concurrent.Await;
import scala.concurrent.Promise;
import scala.concurrent.duration.Duration;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The members of a one-JVM simulation run on one pool, and one member stopping leaves it to the others. */
class SharedExecutorTest {

    private static final Config LOCAL = SharedExecutor.CONFIG.withFallback(ConfigFactory.parseString("pekko.actor.provider = local"))
            .withFallback(ConfigFactory.load());

    @Test
    void membersRunOnTheSharedPoolAndOneStoppingLeavesItRunning() throws Exception {
        ActorSystem<Void> first = ActorSystem.create(Behaviors.empty(), "first", LOCAL);
        ActorSystem<Void> second = ActorSystem.create(Behaviors.empty(), "second", LOCAL);
        try {
            for (ActorSystem<Void> member : List.of(first, second)) {
                for (DispatcherSelector d : List.of(DispatcherSelector.defaultDispatcher(), DispatcherSelector.fromConfig("pekko.actor.internal-dispatcher"))) {
                    String thread = threadOf(member, d);
                    assertTrue(thread.startsWith("dnv-shared-dispatcher-"), member.name() + " ran on " + thread);
                }
            }
            first.terminate();
            first.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertTrue(threadOf(second, DispatcherSelector.defaultDispatcher()).startsWith("dnv-shared-dispatcher-"),
                    "the pool still runs the other member");
        } finally {
            first.terminate();
            second.terminate();
        }
    }

    /**
     * Every pool thread blocked in Pekko's way (Scala's Await, as ClusterSharding.init waits for its
     * region) and the task that would release them still runs: the pool adds a spare thread. A plain
     * pool of two threads hung here, as ./dnv dev did when two members started their entities at once.
     */
    @Test
    void threadsBlockedInAwaitLeaveRoomForTheTaskThatReleasesThem() throws Exception {
        ActorSystem<Void> member = ActorSystem.create(Behaviors.empty(), "blocking", LOCAL);
        try {
            Executor dispatcher = member.dispatchers().lookup(DispatcherSelector.defaultDispatcher());
            Promise<String> release = Promise.apply();
            CountDownLatch blocked = new CountDownLatch(SharedExecutor.threads());
            List<CompletableFuture<String>> waiters = new ArrayList<>();
            for (int i = 0; i < SharedExecutor.threads(); i++) {
                CompletableFuture<String> waiter = new CompletableFuture<>();
                dispatcher.execute(() -> {
                    blocked.countDown();
                    try {
                        waiter.complete(Await.result(release.future(), Duration.create(20, TimeUnit.SECONDS)));
                    } catch (Exception e) {
                        waiter.completeExceptionally(e);
                    }
                });
                waiters.add(waiter);
            }
            assertTrue(blocked.await(10, TimeUnit.SECONDS), "every pool thread took a waiting task");
            dispatcher.execute(() -> release.success("released"));
            for (CompletableFuture<String> waiter : waiters) {
                assertEquals("released", waiter.get(10, TimeUnit.SECONDS));
            }
        } finally {
            member.terminate();
        }
    }

    private static String threadOf(ActorSystem<Void> member, DispatcherSelector dispatcher) throws Exception {
        CompletableFuture<String> name = new CompletableFuture<>();
        member.dispatchers().lookup(dispatcher).execute(() -> name.complete(Thread.currentThread().getName()));
        return name.get(10, TimeUnit.SECONDS);
    }
}
