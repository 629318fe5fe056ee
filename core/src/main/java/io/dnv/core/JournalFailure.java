package io.dnv.core;

import org.apache.pekko.actor.typed.BackoffSupervisorStrategy;
import org.apache.pekko.actor.typed.SupervisorStrategy;

import java.time.Duration;

/**
 * What an entity does when the journal refuses a write or a recovery (the database restarting,
 * a connection lost): it starts again from its journal after a backoff. By default Pekko stops
 * it, and a stopped entity that nobody messages (a storage node's pushes, a volume's next step)
 * stays stopped. The callers of a write that failed hear nothing and ask again; every entity
 * command is safe to ask twice.
 *
 * Only the event-sourced behaviour restarts: the same object, its timers cancelled (restart them
 * on {@code RecoveryCompleted}). Commands that arrive during the backoff wait for the restart.
 */
public final class JournalFailure {

    /** 200 ms doubling to 10 s: a journal that is down is asked again soon, not hammered. */
    public static final BackoffSupervisorStrategy RESTART =
            SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(10), 0.2);

    private JournalFailure() {}
}
