package io.dnv.node.agent;

import io.dnv.node.kernel.Kernel;
import io.dnv.node.kernel.KernelException;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

import java.time.Duration;

/**
 * Zeroes what {@link Zeroing} holds, then the disk ranges {@link DiskCleaning} holds, apart from
 * the passes: one chunk per message, so the agent
 * never waits for it and a stop takes effect after the chunk under way. Spawn it on a blocking
 * dispatcher: a chunk holds a thread for as long as the disk takes. A refused chunk is tried
 * again after {@link #RETRY} (the other devices go first meanwhile); any other failure restarts
 * the worker with backoff, and the Zeroing keeps what was done.
 */
final class ZeroingWorker {

    enum Command { WORK }

    static final Duration RETRY = Duration.ofSeconds(5);
    private static final Object NEXT = "next";

    private ZeroingWorker() {}

    static Behavior<Command> create(Kernel kernel, Zeroing zeroing, DiskCleaning cleaning) {
        Behavior<Command> worker = Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            zeroing.onWork(() -> ctx.getSelf().tell(Command.WORK));
            cleaning.onWork(() -> ctx.getSelf().tell(Command.WORK));
            // What was handed over before this worker started, or restarted after a failure.
            ctx.getSelf().tell(Command.WORK);
            return Behaviors.receiveMessage(work -> {
                zeroNext(ctx, timers, kernel, zeroing, cleaning);
                return Behaviors.same();
            });
        }));
        return Behaviors.supervise(worker).onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofSeconds(1),
                Duration.ofSeconds(30), 0.2));
    }

    /**
     * One chunk, then the next through a single timer: a wake-up arriving meanwhile adds no second
     * loop. Released LDs go first (their volumes wait on them); a refused one does not hold up the disk's ranges.
     */
    private static void zeroNext(ActorContext<Command> ctx, TimerScheduler<Command> timers, Kernel kernel, Zeroing zeroing,
                                 DiskCleaning cleaning) {
        boolean refused = false;
        try {
            if (zeroing.zeroNext(kernel)) {
                timers.startSingleTimer(NEXT, Command.WORK, Duration.ZERO);
                return;
            }
        } catch (KernelException e) {
            ctx.getLog().warn("zeroing refused, trying again in {} s: {}", RETRY.toSeconds(), e.getMessage());
            refused = true;
        }
        try {
            if (cleaning.zeroNext(kernel)) {
                timers.startSingleTimer(NEXT, Command.WORK, refused ? RETRY : Duration.ZERO);
                return;
            }
        } catch (KernelException e) {
            ctx.getLog().warn("zeroing a free range of the disk refused, trying again in {} s: {}", RETRY.toSeconds(), e.getMessage());
            refused = true;
        }
        if (refused) {
            timers.startSingleTimer(NEXT, Command.WORK, RETRY);
        }
    }
}
