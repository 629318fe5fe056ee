package io.dnv.node.agent;

import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.node.kernel.Kernel;
import io.dnv.node.kernel.KernelException;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads the state of the node's witness imports (docs/failover.md, "Detection") every
 * {@link #LOOK}, apart from the passes, and tells its listener whenever it changed, so the
 * heartbeat carries a peer's crash within a look of the kernel noticing it (keep-alive 1 s): a
 * pass may take seconds on a node with thousands of objects, and a converged node passes only
 * every few seconds. It reads only the controllers the agent's last pass saw serving a witness
 * import ({@link Kernel#observeControllers}); one whose name now serves another connection, or
 * that is gone, is left out until a pass names it again. Spawn it on a blocking dispatcher.
 */
public final class WitnessWatcher {

    /** 100 ms: a few sysfs files per look; what it adds to a detection is at most this. */
    public static final Duration LOOK = Duration.ofMillis(100);

    public sealed interface Command permits Watch, Look {}

    /** The witness controllers as the agent's last pass observed them (any others are ignored). */
    public record Watch(List<ObservedKernel.Controller> controllers) implements Command {
        public Watch {
            controllers = controllers.stream().filter(c -> Names.isWitnessNqn(c.subsystemNqn())).toList();
        }
    }

    private enum Look implements Command { INSTANCE }

    /** The witness controllers as they are now. */
    public record Seen(List<ObservedKernel.Controller> controllers) {}

    private final Kernel kernel;
    private final ActorRef<Seen> listener;
    private final org.slf4j.Logger log;
    private List<String> names = List.of();
    private Set<String> keys = Set.of();
    /** What the listener was told last; null: nothing yet since the names changed. */
    private List<ObservedKernel.Controller> told;
    /** Why the last look failed, logged once (a kernel gone stays gone every 100 ms); null when it did not. */
    private String unreadable;

    private WitnessWatcher(Kernel kernel, ActorRef<Seen> listener, org.slf4j.Logger log) {
        this.kernel = kernel;
        this.listener = listener;
        this.log = log;
    }

    public static Behavior<Command> create(Kernel kernel, ActorRef<Seen> listener) {
        return create(kernel, listener, LOOK);
    }

    /** {@code every}: how often it reads (config {@code dnv.agent.witness-look}); longer only where a read is costly. */
    public static Behavior<Command> create(Kernel kernel, ActorRef<Seen> listener, Duration every) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            timers.startTimerWithFixedDelay(Look.INSTANCE, every);
            WitnessWatcher w = new WitnessWatcher(kernel, listener, ctx.getLog());
            return Behaviors.receive(Command.class)
                    .onMessage(Watch.class, watch -> {
                        w.watch(watch);
                        return Behaviors.same();
                    })
                    .onMessage(Look.class, look -> {
                        w.look();
                        return Behaviors.same();
                    })
                    .build();
        }));
    }

    /**
     * Names and connections both: the host kernel hands a freed instance out again, so a node whose
     * witness peers changed holds the new import under the old one's name. Watching by name alone
     * kept the old connection and left the new import out for as long as the names stayed.
     */
    private void watch(Watch w) {
        List<String> now = w.controllers().stream().map(ObservedKernel.Controller::name).sorted().toList();
        Set<String> nowKeys = new HashSet<>();
        w.controllers().forEach(c -> nowKeys.add(c.connectionKey()));
        if (!now.equals(names) || !nowKeys.equals(keys)) {
            names = now;
            keys = nowKeys;
            told = null;
        }
    }

    private void look() {
        List<ObservedKernel.Controller> now;
        try {
            now = names.isEmpty() ? List.of()
                    : kernel.observeControllers(names).stream().filter(c -> keys.contains(c.connectionKey())).toList();
        } catch (KernelException e) {
            if (!e.getMessage().equals(unreadable)) {
                log.warn("witness imports not readable (said once until it changes): {}", e.getMessage());
            }
            unreadable = e.getMessage();
            return;
        }
        unreadable = null;
        if (!now.equals(told)) {
            told = now;
            listener.tell(new Seen(now));
        }
    }
}
