package io.dnv.node.agent;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.DiskRange;
import io.dnv.node.kernel.Kernel;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.slf4j.event.Level;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The agent of one storage node: holds the newest desired state it was given and keeps the
 * kernel converged to it. A pass that leaves failures or waits is retried with exponential
 * backoff (and logged every time, with what the kernel said); a converged node is re-checked
 * whole periodically, so drift is repaired without anyone noticing an event. Other passes look
 * at what changed since the pass before (see {@link Focus}).
 *
 * Kernel calls block (on Linux they are commands), so spawn it on a blocking dispatcher.
 */
public final class NodeAgent extends AbstractBehavior<NodeAgent.Command> {

    public sealed interface Command {}

    /** The control plane's full desired state for this node; older generations are ignored. */
    public record Apply(DesiredNode desired) implements Command {}

    public record GetStatus(ActorRef<Status> replyTo) implements Command {}

    /** A pass for new desired state or a retry, or the periodic resync of everything. */
    /**
     * A pass for new desired state or a retry; the periodic resync of everything; a recheck of a
     * node holding raid1 groups that are not whole (their statuses move by themselves: a recovery,
     * the backoff of a re-add).
     */
    private enum Tick implements Command { CHANGES, RESYNC, DEGRADED }

    /** The {@link SideWatcher} saw an import go down or come back: a change no one pushes. */
    enum ImportsChanged implements Command { INSTANCE }

    /**
     * The {@link SideWatcher} found every import of the volumes from another node down and turned
     * the volume ports inaccessible ({@link Isolation}): {@code evidence} says what it saw.
     */
    record Isolated(List<String> evidence) implements Command {}

    /**
     * The last pass reported before its look at the kernel ({@link Reconciler#pass}): take the look
     * now, unless the next pass comes first and its first look stands for it.
     */
    private enum LookOwed implements Command { INSTANCE }

    /**
     * The last pass reported before removing the dm devices and imports nobody wants any more
     * ({@link Reconciler#removeGarbage}): now, unless new desired state came meanwhile (the next
     * pass removes it after comparing that).
     */
    private enum GarbageDue implements Command { INSTANCE }

    /** A released LD is all zero: nothing in the kernel shows it, so say it, and a pass removes the LD. */
    private enum Zeroed implements Command { INSTANCE }

    /** A chunk of a dirty range of the disk is zero: worth a report (at most every {@link #CLEANED_REPORTS}), not a pass. */
    private enum Cleaned implements Command { CHUNK, REPORT }

    private static final Object REPORT_TIMER = "report";
    /** A disk of sparse never-written ranges is zeroed in moments, chunk after chunk: one report for all of them. */
    static final Duration CLEANED_REPORTS = Duration.ofMillis(200);

    private static final Object PASS_TIMER = "pass";
    /**
     * How long after a whole look ended the looks may build on it, reading only what the node's
     * hands changed since ({@link KernelLooks}); the resync's period, when the resync looks whole
     * anyway. What changes with no hand of the node and those looks do not read again (a raid1
     * group's sides) makes the agent look whole sooner: a side failed by the side watcher is a
     * change of the node, an import that comes back a whole look at once.
     */
    static final Duration LOOK_KEPT = Duration.ofSeconds(10);
    /**
     * A pass that waits on another node (an export not there yet) is the normal course of a
     * create: a node logs a warning once it failed this many passes in a row on one generation.
     */
    static final int WARN_AFTER_PASSES = 3;
    /** A log line names this many failures and waits; the node's API view has all of them. */
    static final int LOGGED_ITEMS = 5;

    /**
     * What the agent reports: the generation it was given, the newest one it converged to, its
     * first pass since it started (the re-adopt of whatever the kernel held) and its last pass
     * (mutations, failures with the kernel's words, waits, observed kernel); {@code cleaned}: what
     * it zeroed of the disk ranges its desired state names ({@link DiskCleaning}); {@code isolated}:
     * the node was cut off and serves as nothing ({@link Isolation}) until it is given desired
     * state again, which only the control plane may give it.
     */
    public record Status(String nodeId, long desiredGeneration, long reachedGeneration, int failedPasses,
                         Optional<PassResult> firstPass, Optional<PassResult> lastPass, List<DiskRange> cleaned,
                         boolean isolated) {}

    /**
     * {@code spacing}: a new generation starts a pass at once, or, if a pass started less than
     * this long ago, once that long has passed. Every pass compares the desired state, and during
     * a burst of creates generations arrive every 50 ms: one pass for the generations of a
     * spacing costs less than one pass each, and a change after a quiet spell still passes at once.
     * {@code stateDirectory}: where the agent keeps what must outlive it (how far each released
     * LD is zeroed); without one, a restarted agent zeroes them from the start again, and not at
     * all those whose devices went meanwhile (a reboot).
     */
    public record Settings(Duration resync, Duration firstBackoff, Duration maxBackoff, Duration spacing,
                           Optional<Path> stateDirectory, int kernelCommands) {
        /**
         * Most unconverged passes wait on another node (an export not there yet), so retry soon;
         * the cap keeps a refusing kernel from being hammered. A pass runs up to four kernel
         * commands at once ({@link Lanes}): a failover hands a node hundreds of volumes to fence
         * or promote, and a storage server has cores to spare for it.
         */
        public static final Settings DEFAULT = new Settings(Duration.ofSeconds(10), Duration.ofMillis(50), Duration.ofSeconds(2),
                Duration.ofMillis(100), Optional.empty(), 4);

        /** One kernel command at a time, in the order the pass names them. */
        public Settings(Duration resync, Duration firstBackoff, Duration maxBackoff, Duration spacing) {
            this(resync, firstBackoff, maxBackoff, spacing, Optional.empty(), 1);
        }

        /** Passes for new generations at once, however recent the last one. */
        public Settings(Duration resync, Duration firstBackoff, Duration maxBackoff) {
            this(resync, firstBackoff, maxBackoff, Duration.ZERO);
        }

        public Settings withStateDirectory(Path directory) {
            return new Settings(resync, firstBackoff, maxBackoff, spacing, Optional.of(directory), kernelCommands);
        }

        /** {@code config dnv.node.kernel-commands}: how many kernel commands a pass may run at once. */
        public Settings withKernelCommands(int commands) {
            return new Settings(resync, firstBackoff, maxBackoff, spacing, stateDirectory, commands);
        }
    }

    private final String nodeId;
    private final Reconciler reconciler;
    private final Settings settings;
    private final TimerScheduler<Command> timers;
    private final Optional<ActorRef<Status>> listener;
    private final DiskCleaning cleaning;
    private final ActorRef<SideWatcher.Command> sideWatcher;
    private final Isolation isolation = new Isolation();
    private DesiredNode desired;
    private long reached = -1;
    private int failedPasses;
    private PassResult firstPass;
    private PassResult lastPass;
    private long lastPassStarted;
    /** An import went down or came back since the last pass: the next one reads every raid1 group again. */
    private boolean importsMoved;
    /** Removals of unwanted objects after a report refused in a row ({@link #onGarbageDue}). */
    private int failedGarbage;
    /** Rechecks in a row that found a raid1 group degraded ({@link #degradedRecheck}). */
    private int degradedRechecks;

    /** {@code disk}: the physical disk the node's configuration names ({@code NodeEndpoints.diskPath}). */
    public static Behavior<Command> create(String nodeId, Optional<String> disk, Kernel kernel, Settings settings) {
        return create(nodeId, disk, kernel, settings, Optional.empty());
    }

    /** {@code listener} hears the status when the agent starts, after every pass and every new generation, as it happens. */
    public static Behavior<Command> create(String nodeId, Optional<String> disk, Kernel kernel, Settings settings,
                                           Optional<ActorRef<Status>> listener) {
        return create(nodeId, disk, kernel, settings, listener, new HeldDevices());
    }

    /**
     * {@code held}: what the node's {@link OrderWorker} holds suspended, which the passes leave alone;
     * {@code changes}: counts what the order worker changes in the kernel (it must be given a kernel
     * {@link KernelChanges#counting counted} by it), and the agent counts its own changes there too.
     */
    public static Behavior<Command> create(String nodeId, Optional<String> disk, Kernel kernel, Settings settings,
                                           Optional<ActorRef<Status>> listener, HeldDevices held, KernelChanges changes) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new NodeAgent(ctx, timers, nodeId, disk, changes.counting(kernel),
                settings, listener, held, changes)));
    }

    /** {@code held}: what the node's {@link OrderWorker} holds suspended, which the passes leave alone. */
    public static Behavior<Command> create(String nodeId, Optional<String> disk, Kernel kernel, Settings settings,
                                           Optional<ActorRef<Status>> listener, HeldDevices held) {
        return create(nodeId, disk, kernel, settings, listener, held, new KernelChanges());
    }

    private NodeAgent(ActorContext<Command> ctx, TimerScheduler<Command> timers, String nodeId, Optional<String> disk, Kernel kernel,
                      Settings settings, Optional<ActorRef<Status>> listener, HeldDevices held, KernelChanges changes) {
        super(ctx);
        this.listener = listener;
        this.timers = timers;
        this.nodeId = nodeId;
        // Zeroing a released LD takes as long as the disk needs: apart from the passes.
        Zeroing zeroing = new Zeroing(settings.stateDirectory().map(ZeroingFile::new), disk);
        this.cleaning = new DiskCleaning(disk);
        ctx.spawn(ZeroingWorker.create(kernel, zeroing, cleaning), "zeroing", DispatcherSelector.blocking());
        zeroing.onZeroed(() -> ctx.getSelf().tell(Zeroed.INSTANCE));
        cleaning.onCleaned(() -> ctx.getSelf().tell(Cleaned.CHUNK));
        this.reconciler = new Reconciler(kernel, disk, zeroing, nodeId, isolation, new Lanes(nodeId, settings.kernelCommands()), held,
                () -> ctx.getSelf().tell(ImportsChanged.INSTANCE), changes, LOOK_KEPT);
        // Failing a dead disk node's raid1 sides cannot wait for a pass: a pass's look at the
        // kernel does not answer while the writes it would release are held.
        this.sideWatcher = ctx.spawn(SideWatcher.create(kernel, ctx.getSelf(), isolation, reconciler::silent), "side-watcher",
                DispatcherSelector.blocking());
        this.settings = settings;
        this.lastPassStarted = System.nanoTime() - settings.spacing().toNanos();
        // A (re)started agent holds no desired state: saying so at once gets it handed the state again.
        listener.ifPresent(l -> l.tell(status()));
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Apply.class, this::onApply)
                .onMessage(GetStatus.class, this::onGetStatus)
                .onMessage(Tick.class, this::onTick)
                .onMessage(ImportsChanged.class, this::onImportsChanged)
                .onMessage(Isolated.class, this::onIsolated)
                .onMessage(LookOwed.class, this::onLookOwed)
                .onMessage(GarbageDue.class, this::onGarbageDue)
                .onMessage(Zeroed.class, z -> passSoon())
                .onMessage(Cleaned.class, this::onCleaned)
                .onSignal(PreRestart.class, this::onGone)
                .onSignal(PostStop.class, this::onGone)
                .build();
    }

    /** A restarted or stopped agent's reconciler is dropped: its probes must stop with it. */
    private Behavior<Command> onGone(Object signal) {
        reconciler.close();
        return this;
    }

    private Behavior<Command> onApply(Apply apply) {
        if (!apply.desired().nodeId().equals(nodeId)) {
            getContext().getLog().error("desired state for node {} sent to the agent of {}; ignored", apply.desired().nodeId(), nodeId);
            return this;
        }
        // Cut off, the node takes the desired state it is given next even if it is no newer: only the
        // control plane gives it one, and that one says what the node is now.
        boolean isolated = isolation.isolated();
        if (desired == null || apply.desired().generation() > desired.generation()
                || isolated && apply.desired().generation() >= desired.generation()) {
            if (isolation.take(apply.desired().generation())) {
                getContext().getLog().warn("node {} given desired state generation {} after it was cut off: its volume ports serve "
                        + "as that says", nodeId, apply.desired().generation());
            }
            desired = apply.desired();
            cleaning.want(desired.toZero());
            sideWatcher.tell(new SideWatcher.Desired(desired));
            failedPasses = 0;
            timers.startSingleTimer(PASS_TIMER, Tick.CHANGES, untilSpaced());
            listener.ifPresent(l -> l.tell(status()));
        }
        return this;
    }

    /**
     * The passes go on (imports reconnect, a side whose link returns is taken back), but with the
     * volume ports inaccessible, and the node says it waits for desired state.
     */
    private Behavior<Command> onIsolated(Isolated isolated) {
        getContext().getLog().warn("node {} cut off ({}): serving nothing until the control plane gives it desired state", nodeId,
                first(isolated.evidence()));
        reached = -1;
        passSoon();
        listener.ifPresent(l -> l.tell(status()));
        return this;
    }

    private Behavior<Command> onGetStatus(GetStatus get) {
        get.replyTo().tell(status());
        return this;
    }

    private Status status() {
        return new Status(nodeId, desired == null ? -1 : desired.generation(), reached, failedPasses,
                Optional.ofNullable(firstPass), Optional.ofNullable(lastPass), cleaning.cleaned(), isolation.isolated());
    }

    private Behavior<Command> onCleaned(Cleaned c) {
        if (c == Cleaned.REPORT) {
            listener.ifPresent(l -> l.tell(status()));
        } else if (!timers.isTimerActive(REPORT_TIMER)) {
            timers.startSingleTimer(REPORT_TIMER, Cleaned.REPORT, CLEANED_REPORTS);
        }
        return this;
    }

    private Behavior<Command> onTick(Tick tick) {
        if (desired == null) {
            return this;
        }
        lastPassStarted = System.nanoTime();
        lastPass = reconciler.pass(desired, tick == Tick.RESYNC ? Reconciler.Scope.EVERYTHING
                : importsMoved || tick == Tick.DEGRADED ? Reconciler.Scope.CHANGES_READING_RAID1S : Reconciler.Scope.CHANGES);
        importsMoved = false;
        if (firstPass == null) {
            firstPass = lastPass;
        }
        long passMillis = (System.nanoTime() - lastPassStarted) / 1_000_000;
        if (lastPass.converged()) {
            // Cut off, its volume ports are not as the desired state says: it reached nothing.
            if (!isolation.isolated()) {
                if (reached != desired.generation() || !lastPass.mutations().isEmpty()) {
                    getContext().getLog().info("node {} converged to generation {} ({} mutations, {} ms)", nodeId,
                            desired.generation(), lastPass.mutations().size(), passMillis);
                }
                reached = desired.generation();
            }
            failedPasses = 0;
            // A raid1 side down or coming back is looked at again soon, its group's status read
            // again: what to do next depends on time (the backoff of a side's re-add). Ever less
            // soon while nothing changes: after a failover the survivors hold groups degraded
            // until the dead node returns. Once the recheck is as far apart as the resync, it is
            // the resync. An import that comes back starts a pass of its own.
            if (reconciler.leftGroupsAndHosts()) {
                timers.startSingleTimer(PASS_TIMER, Tick.CHANGES, settings.spacing());
            } else if (lastPass.degraded().isEmpty()) {
                degradedRechecks = 0;
                timers.startSingleTimer(PASS_TIMER, Tick.RESYNC, settings.resync());
            } else {
                Duration recheck = degradedRecheck();
                timers.startSingleTimer(PASS_TIMER, recheck.compareTo(settings.resync()) < 0 ? Tick.DEGRADED : Tick.RESYNC, recheck);
            }
        } else {
            failedPasses++;
            Duration backoff = backoff();
            // The lists are only named when the level is on: most of these passes log at DEBUG.
            getContext().getLog().atLevel(failedPasses >= WARN_AFTER_PASSES ? Level.WARN : Level.DEBUG)
                    .setMessage("node {} generation {} not converged (pass {}, {} mutations, {} ms), retry in {} ms; failures: {}; waiting: {}")
                    .addArgument(nodeId).addArgument(desired.generation()).addArgument(failedPasses)
                    .addArgument(lastPass.mutations().size()).addArgument(passMillis).addArgument(backoff.toMillis())
                    .addArgument(() -> first(lastPass.failures())).addArgument(() -> first(lastPass.waiting())).log();
            timers.startSingleTimer(PASS_TIMER, Tick.CHANGES, backoff);
        }
        listener.ifPresent(l -> l.tell(status()));
        // Behind whatever arrived during the pass: new desired state goes first.
        if (reconciler.garbageDue()) {
            getContext().getSelf().tell(GarbageDue.INSTANCE);
        } else if (reconciler.owesLook()) {
            getContext().getSelf().tell(LookOwed.INSTANCE);
        }
        return this;
    }

    private Behavior<Command> onGarbageDue(GarbageDue due) {
        if (!reconciler.garbageDue()) {
            return this;
        }
        if (desired.generation() > lastPass.generation()) {
            reconciler.leaveGarbage();
            return this;
        }
        List<Failure> refused = reconciler.removeGarbage();
        failedGarbage = refused.isEmpty() ? 0 : failedGarbage + 1;
        if (!refused.isEmpty()) {
            getContext().getLog().atLevel(failedGarbage >= WARN_AFTER_PASSES ? Level.WARN : Level.DEBUG)
                    .setMessage("node {}: removing what generation {} no longer wants was refused ({} times in a row): {}")
                    .addArgument(nodeId).addArgument(lastPass.generation()).addArgument(failedGarbage)
                    .addArgument(() -> first(refused)).log();
        }
        // A pass that did not converge retries soon anyway; a converged one waits for the resync
        // unless what it left to remove asks for a pass sooner.
        if (lastPass.converged()) {
            if (!refused.isEmpty()) {
                timers.startSingleTimer(PASS_TIMER, Tick.CHANGES, settings.maxBackoff());
            } else if (reconciler.leftGroupsAndHosts()) {
                timers.startSingleTimer(PASS_TIMER, Tick.CHANGES, settings.spacing());
            }
        }
        if (reconciler.owesLook()) {
            getContext().getSelf().tell(LookOwed.INSTANCE);
        }
        return this;
    }

    /**
     * The look the last pass owes, once it has been reported. Not when a pass comes next anyway (new
     * desired state arrived meanwhile, the pass did not converge and retries soon, or it left ANA
     * groups and host entries for the next pass to remove): that pass
     * reads the kernel whole first, and a node holding thousands of dm devices reads them for
     * seconds. Until then the node's status shows the kernel as the pass last looked at it.
     */
    private Behavior<Command> onLookOwed(LookOwed owed) {
        if (!reconciler.owesLook() || desired.generation() > lastPass.generation() || !lastPass.converged()
                || reconciler.leftGroupsAndHosts()) {
            return this;
        }
        lastPass = reconciler.lookOwed();
        listener.ifPresent(l -> l.tell(status()));
        return this;
    }

    private Behavior<Command> onImportsChanged(ImportsChanged changed) {
        importsMoved = true;
        degradedRechecks = 0;
        return passSoon();
    }

    /** {@link Raid1Sides#RECHECK}, doubled at each recheck that found the node degraded still, up to the resync's period. */
    private Duration degradedRecheck() {
        Duration next = Raid1Sides.RECHECK.multipliedBy(1L << Math.min(degradedRechecks++, 8));
        return next.compareTo(settings.resync()) < 0 ? next : settings.resync();
    }

    /** A pass at once (or when the spacing is up), instead of at the retry or resync due. */
    private Behavior<Command> passSoon() {
        timers.startSingleTimer(PASS_TIMER, Tick.CHANGES, untilSpaced());
        return this;
    }

    private Duration untilSpaced() {
        long sinceLast = System.nanoTime() - lastPassStarted;
        return Duration.ofNanos(Math.max(0, settings.spacing().toNanos() - sinceLast));
    }

    private static String first(Collection<?> items) {
        String named = items.stream().limit(LOGGED_ITEMS).map(Object::toString).collect(Collectors.joining(", ", "[", "]"));
        return items.size() <= LOGGED_ITEMS ? named : named + " and " + (items.size() - LOGGED_ITEMS) + " more";
    }

    private Duration backoff() {
        long ms = settings.firstBackoff().toMillis() << Math.min(failedPasses - 1, 20);
        return Duration.ofMillis(Math.min(ms, settings.maxBackoff().toMillis()));
    }
}
