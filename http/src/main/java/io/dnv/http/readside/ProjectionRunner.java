package io.dnv.http.readside;

import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.SharedKillSwitch;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/**
 * The cluster singleton that runs a projection's stream. Its stop message drains the stream
 * (the transaction under way commits) before the actor stops, so on a hand-over the next
 * member's instance starts only after this one's last write.
 */
final class ProjectionRunner {

    sealed interface Command {}

    /** The singleton's stop message. Never crosses the network: the manager sends it locally. */
    enum Stop implements Command { INSTANCE }

    private record Ended(Throwable failure) implements Command {}

    private ProjectionRunner() {}

    static Behavior<Command> create(String name, Function<SharedKillSwitch, Source<?, NotUsed>> projection) {
        return Behaviors.setup(ctx -> {
            SharedKillSwitch stop = KillSwitches.shared(name);
            CompletionStage<Done> ended = projection.apply(stop).runWith(Sink.ignore(), ctx.getSystem());
            ctx.pipeToSelf(ended, (done, failure) -> new Ended(failure));
            // A member shutting down stops its entities' regions before its singletons: a stream
            // still running then asks entities that are gone, fails and restarts, warning about
            // it. It is drained when the member stops serving, before the regions go.
            Cancellable drainOnShutdown = CoordinatedShutdown.get(ctx.getSystem()).addCancellableTask(
                    CoordinatedShutdown.PhaseServiceStop(), "drain-projection-" + name, () -> {
                        ctx.getSelf().tell(Stop.INSTANCE);
                        return ended.exceptionally(t -> Done.getInstance());
                    });
            return Behaviors.receive(Command.class)
                    .onMessage(Stop.class, s -> {
                        stop.shutdown();
                        return draining(stop, drainOnShutdown);
                    })
                    .onMessage(Ended.class, e -> {
                        // the stream restarts itself on failures and runs until stopped: ending
                        // otherwise is a bug, and the supervisor starts it again from the stored offset
                        throw new IllegalStateException("projection " + name + " ended unasked", e.failure());
                    })
                    .onSignal(PreRestart.class, signal -> shut(stop, drainOnShutdown))
                    .onSignal(PostStop.class, signal -> shut(stop, drainOnShutdown))
                    .build();
        });
    }

    private static Behavior<Command> draining(SharedKillSwitch stop, Cancellable drainOnShutdown) {
        return Behaviors.receive(Command.class)
                .onMessage(Ended.class, e -> Behaviors.stopped())
                .onMessage(Stop.class, s -> Behaviors.same())
                .onSignal(PostStop.class, signal -> shut(stop, drainOnShutdown))
                .build();
    }

    /** Stopped for any other reason (system shutdown, a failure): no stream outlives its actor. */
    private static Behavior<Command> shut(SharedKillSwitch stop, Cancellable drainOnShutdown) {
        stop.shutdown();
        drainOnShutdown.cancel();
        return Behaviors.same();
    }
}
