package io.dnv.node.agent;

import io.dnv.core.node.ToAgent;
import io.dnv.node.kernel.Kernel;
import io.dnv.node.kernel.KernelException;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Carries out the control plane's orders ({@link ToAgent.Order}) at once, beside the agent's
 * passes (a pass can take seconds; a hold of host I/O cannot wait for it), and answers each.
 *
 * <p>A hold suspends devices under a token and ends by itself at its bound: its timer resumes
 * them, and the release that comes later hears that the hold was not intact. A worker that
 * stops or starts again resumes everything it holds first, so nothing it held outlives it.
 * Orders run one at a time; the kernel calls of one order run at once (on Linux each is a
 * dmsetup of its own), so a volume of 16 legs is snapshotted in the time of one. A hold's timer
 * that falls due while an order runs takes effect when that order is done.
 *
 * <p>Spawn it on a blocking dispatcher.
 */
public final class OrderWorker extends AbstractBehavior<OrderWorker.Command> {

    public sealed interface Command {}

    public record Carry(ToAgent.Order order) implements Command {}

    private record Lapse(String token, String holdId) implements Command {}

    private enum RetryResumes implements Command { INSTANCE }

    /** At most this many kernel calls of one order at once. */
    static final int PARALLEL = 16;
    /** Releases remembered, so a release asked again (its answer lost) hears the same. */
    static final int REMEMBERED = 1024;
    static final Duration RESUME_RETRY = Duration.ofMillis(200);

    private record Hold(String holdId, List<String> devices, long startedNanos) {
        long heldMicros() {
            return (System.nanoTime() - startedNanos) / 1000;
        }
    }

    private final Kernel kernel;
    private final HeldDevices held;
    private final TimerScheduler<Command> timers;
    private final ExecutorService calls;
    private final Map<String, Hold> holds = new HashMap<>();
    private final Map<String, ToAgent.OrderDone> released = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, ToAgent.OrderDone> eldest) {
            return size() > REMEMBERED;
        }
    };
    /** Devices the kernel would not resume yet: tried again until it does, and until then not held for any pass. */
    private final Set<String> toResume = new LinkedHashSet<>();

    public static Behavior<Command> create(Kernel kernel, HeldDevices held) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new OrderWorker(ctx, timers, kernel, held)));
    }

    private OrderWorker(ActorContext<Command> ctx, TimerScheduler<Command> timers, Kernel kernel, HeldDevices held) {
        super(ctx);
        this.kernel = kernel;
        this.held = held;
        this.timers = timers;
        this.calls = Executors.newFixedThreadPool(PARALLEL, r -> {
            Thread t = new Thread(r, "dnv-orders");
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Carry.class, c -> {
                    c.order().replyTo().tell(carry(c.order()));
                    return this;
                })
                .onMessage(Lapse.class, this::onLapse)
                .onMessageEquals(RetryResumes.INSTANCE, () -> {
                    resume(List.copyOf(toResume));
                    return this;
                })
                .onSignal(PreRestart.class, s -> stopped())
                .onSignal(PostStop.class, s -> stopped())
                .build();
    }

    private ToAgent.OrderDone carry(ToAgent.Order order) {
        if (order instanceof ToAgent.HoldIo h) {
            return hold(h);
        }
        if (order instanceof ToAgent.ReleaseIo r) {
            return release(r);
        }
        if (order instanceof ToAgent.SnapThins s) {
            return snap(s);
        }
        if (order instanceof ToAgent.Hydrate h) {
            return hydrate(h);
        }
        return delete((ToAgent.DeleteThins) order);
    }

    /** The clone's throttle set (dm-clone takes both at any time), then its status as it is now. */
    private ToAgent.OrderDone hydrate(ToAgent.Hydrate o) {
        java.util.Optional<String> status = kernel.dmStatus(o.device());
        if (status.isEmpty() || io.dnv.core.kernel.CloneStatus.parse(status.get()).isEmpty()) {
            return ToAgent.OrderDone.refused(o.device() + " is no clone: " + status.orElse("no such device"));
        }
        try {
            kernel.dmMessage(o.device(), 0, "hydration_threshold " + o.threshold());
            kernel.dmMessage(o.device(), 0, "hydration_batch_size " + o.batchSize());
        } catch (KernelException e) {
            return ToAgent.OrderDone.refused("throttling " + o.device() + " refused: " + e.kernelMessage());
        }
        return ToAgent.OrderDone.status(kernel.dmStatus(o.device()).orElse(""));
    }

    private ToAgent.OrderDone hold(ToAgent.HoldIo o) {
        Hold existing = holds.get(o.token());
        if (existing != null) {
            return ToAgent.OrderDone.held(existing.holdId());
        }
        long started = System.nanoTime();
        held.add(o.devices());
        Map<String, String> refused = each(o.devices(), kernel::dmSuspend);
        long left = Duration.ofMillis(o.boundMillis()).toNanos() - (System.nanoTime() - started);
        if (!refused.isEmpty() || left <= 0) {
            resume(o.devices().stream().filter(d -> !refused.containsKey(d)).toList());
            held.remove(o.devices());
            return ToAgent.OrderDone.refused(!refused.isEmpty() ? "dm suspend refused: " + refused
                    : "suspending took longer than the hold's bound of " + o.boundMillis() + " ms");
        }
        String holdId = UUID.randomUUID().toString();
        holds.put(o.token(), new Hold(holdId, List.copyOf(o.devices()), started));
        timers.startSingleTimer(o.token(), new Lapse(o.token(), holdId), Duration.ofNanos(left));
        return ToAgent.OrderDone.held(holdId);
    }

    /** Whatever the token holds resumes; the answer is about hold {@code holdId}, the same when asked again. */
    private ToAgent.OrderDone release(ToAgent.ReleaseIo o) {
        Hold h = holds.remove(o.token());
        if (h != null) {
            timers.cancel(o.token());
            end(h);
            released.put(key(o.token(), h.holdId()), ToAgent.OrderDone.released(true, h.heldMicros()));
        }
        return released.getOrDefault(key(o.token(), o.holdId()), ToAgent.OrderDone.released(false, 0));
    }

    private Behavior<Command> onLapse(Lapse l) {
        Hold h = holds.get(l.token());
        if (h != null && h.holdId().equals(l.holdId())) {
            holds.remove(l.token());
            end(h);
            released.put(key(l.token(), h.holdId()), ToAgent.OrderDone.released(false, h.heldMicros()));
            getContext().getLog().warn("hold {} of {} lapsed at its bound after {} ms: {} resumed", h.holdId(), l.token(),
                    h.heldMicros() / 1000, h.devices());
        }
        return this;
    }

    /**
     * Only under its own hold: the thins suspended (their I/O drained; with every stripe held
     * there is none), snapshotted, resumed. A snapshot id that exists is done: the volume hands
     * out each id once, and deletes what an undone try left before it tries again.
     */
    private ToAgent.OrderDone snap(ToAgent.SnapThins o) {
        Hold h = holds.get(o.token());
        if (h == null || !h.holdId().equals(o.holdId())) {
            return ToAgent.OrderDone.refused("hold " + o.holdId() + " of " + o.token() + " is not in force (lapsed, released,"
                    + " or lost with an agent that started again)");
        }
        List<String> thins = o.snaps().stream().map(ToAgent.ThinSnap::thin).toList();
        held.add(thins);
        Map<String, String> refused = each(thins, kernel::dmSuspend);
        if (refused.isEmpty()) {
            Map<ToAgent.ThinSnap, String> snapRefused = each(o.snaps(), s -> message(s.pool(), "create_snap " + s.snapId() + " "
                    + s.originId(), KernelException.FILE_EXISTS));
            snapRefused.forEach((s, why) -> refused.put(s.pool(), why));
        }
        Set<String> notSuspended = new java.util.HashSet<>(refused.keySet());
        resume(thins.stream().filter(t -> !notSuspended.contains(t)).toList());
        held.remove(thins);
        return refused.isEmpty() ? ToAgent.OrderDone.done() : ToAgent.OrderDone.refused("snapshot refused: " + refused);
    }

    private ToAgent.OrderDone delete(ToAgent.DeleteThins o) {
        Map<ToAgent.PoolThin, String> refused = each(o.thins(), t -> message(t.pool(), "delete " + t.thinId(), KernelException.NO_DATA));
        return refused.isEmpty() ? ToAgent.OrderDone.done() : ToAgent.OrderDone.refused("thin delete refused: " + refused);
    }

    /** A pool message; the kernel's {@code done} (EEXIST for a create, ENODATA for a delete) means it was done before. */
    private void message(String pool, String message, String done) {
        try {
            kernel.dmMessage(pool, 0, message);
        } catch (KernelException e) {
            if (!e.kernelMessage().contains(done)) {
                throw e;
            }
        }
    }

    private void end(Hold h) {
        resume(h.devices());
        held.remove(h.devices());
    }

    /** Resumes the devices; one the kernel would not resume is tried again shortly. */
    private void resume(List<String> devices) {
        Map<String, String> refused = each(devices, kernel::dmResume);
        toResume.removeAll(devices);
        if (!refused.isEmpty()) {
            getContext().getLog().warn("dm resume refused, trying again in {} ms: {}", RESUME_RETRY.toMillis(), refused);
            toResume.addAll(refused.keySet());
            timers.startSingleTimer(RetryResumes.INSTANCE, RetryResumes.INSTANCE, RESUME_RETRY);
        }
    }

    /** Everything held is resumed before the worker goes (its timers go with it). */
    private Behavior<Command> stopped() {
        new ArrayList<>(holds.values()).forEach(this::end);
        holds.clear();
        if (!toResume.isEmpty()) {
            each(List.copyOf(toResume), kernel::dmResume);
        }
        calls.shutdown();
        return this;
    }

    /** {@code call} on every item at once; what the kernel said for each it refused. */
    private <T> Map<T, String> each(List<T> items, Consumer<T> call) {
        Function<T, String> attempt = item -> {
            try {
                call.accept(item);
                return null;
            } catch (RuntimeException e) {
                return e.getMessage();
            }
        };
        Map<T, String> refused = new LinkedHashMap<>();
        if (items.size() == 1) {
            String why = attempt.apply(items.get(0));
            if (why != null) {
                refused.put(items.get(0), why);
            }
            return refused;
        }
        List<Future<String>> running = new ArrayList<>();
        items.forEach(item -> running.add(calls.submit(() -> attempt.apply(item))));
        for (int i = 0; i < items.size(); i++) {
            try {
                String why = running.get(i).get();
                if (why != null) {
                    refused.put(items.get(i), why);
                }
            } catch (ExecutionException e) {
                refused.put(items.get(i), String.valueOf(e.getCause()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                refused.put(items.get(i), "interrupted");
            }
        }
        return refused;
    }

    private static String key(String token, String holdId) {
        return token + "|" + holdId;
    }
}
