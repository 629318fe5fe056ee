package io.dnv.app;

import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;

import java.util.Optional;
import java.util.concurrent.ExecutionException;

/**
 * A controller or agent process lives as long as its cluster member does, and its exit status
 * says why the member stopped. A member the cluster removed (the split-brain resolver downed it,
 * or someone else made it leave) cannot come back: only a new process joins again, as a new
 * incarnation. So that exits non-zero, and systemd's {@code Restart=on-failure} starts the
 * process again. Stopped by a signal (systemctl stop, Ctrl-C), the member leaves, and the JVM,
 * already exiting, ends with the signal's status whatever the launcher returns.
 *
 * Pekko can exit the JVM itself ({@code coordinated-shutdown.exit-jvm}), but that setting would
 * also end {@code ./dnv dev} and every test JVM whose member is downed; the launcher exits instead.
 */
final class MemberExit {

    /** Stopped on purpose, by a signal (the JVM's shutdown hook ran the member's shutdown). */
    static final int STOPPED = 0;
    /** Any other end: the member's system terminated by itself, or without a coordinated shutdown. */
    static final int FAILED = 1;
    /** The cluster downed this member, or it left without being stopped. */
    static final int REMOVED = 3;

    private MemberExit() {}

    /** Blocks until the member's actor system terminated; the process's exit status. */
    static int await(ActorSystem<?> system) throws InterruptedException, ExecutionException {
        system.getWhenTerminated().toCompletableFuture().get();
        return code(CoordinatedShutdown.get(system).getShutdownReason());
    }

    /** The exit status for the reason the member's coordinated shutdown ran (none if it did not run). */
    static int code(Optional<CoordinatedShutdown.Reason> reason) {
        if (reason.equals(Optional.of(CoordinatedShutdown.jvmExitReason()))) {
            return STOPPED;
        }
        if (reason.equals(Optional.of(CoordinatedShutdown.clusterDowningReason()))
                || reason.equals(Optional.of(CoordinatedShutdown.clusterLeavingReason()))) {
            return REMOVED;
        }
        return FAILED;
    }
}
