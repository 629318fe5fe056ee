package io.dnv.node.member;

import org.apache.pekko.actor.typed.BackoffSupervisorStrategy;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Starts a storage node's member or agent again after it threw, with backoff, and counts how
 * often that happened in this process. Without it an exception (a parser meeting kernel output
 * it does not know, pushed desired state that does not assemble) stopped the actor for good
 * while the process stayed up: a node without an agent and no way to tell. Pekko logs each
 * failure with its cause; the count is logged when the actor starts again.
 */
final class Restarts {

    /**
     * 200 ms doubling to 10 s: a cause that persists (a kernel the parser cannot read) is not
     * hammered; a minute without a failure brings the delay back to 200 ms.
     */
    static final BackoffSupervisorStrategy BACKOFF = SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(10), 0.2)
            .withResetBackoffAfter(Duration.ofMinutes(1));

    private final String nodeId;
    private final AtomicInteger count = new AtomicInteger();

    Restarts(String nodeId) {
        this.nodeId = nodeId;
    }

    /**
     * {@code behavior}, restarted on any exception; {@code what} names it in the log. It must be
     * a factory ({@code Behaviors.setup}), so that every start makes a fresh actor.
     */
    <T> Behavior<T> supervise(String what, Behavior<T> behavior) {
        AtomicBoolean started = new AtomicBoolean();
        return Behaviors.supervise(Behaviors.<T>setup(ctx -> {
            if (started.getAndSet(true)) {
                ctx.getLog().warn("node {}: {} started again after a failure ({} restarts in this process)", nodeId, what,
                        count.incrementAndGet());
            }
            return behavior;
        })).onFailure(Exception.class, BACKOFF);
    }
}
