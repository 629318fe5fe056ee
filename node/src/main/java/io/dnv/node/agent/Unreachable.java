package io.dnv.node.agent;

import io.dnv.node.kernel.KernelException;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Targets (address and port) a connect could not reach, tried again with backoff. A connect to a
 * dead node costs its timeout (nvme-tcp sends its SYN twice: about 3 s on Linux), and a dead disk
 * node holds an import of every LD it served: without this a pass would spend that time on each.
 *
 * <p>Once a target did not answer, the next tries run beside the passes, one at a time: a pass
 * that waited out a dead node's SYN timeout held every fence and promotion of its node for those
 * 3 s, again at every try (docs/failover.md, "Failover at scale"). A try probes the target from
 * userspace first ({@link io.dnv.node.kernel.Kernel#answers}) and connects only once it answers:
 * Linux serializes every connect of a kernel (one mutex for /dev/nvme-fabrics), and a connect
 * that waited out the SYN timeout held every connect of the passes for those 3 s, their
 * promotions' and new standbys' included. Called from the pass and from the try's thread.
 */
final class Unreachable {

    private static final Duration FIRST = Duration.ofSeconds(1);
    private static final Duration MAX = Duration.ofSeconds(30);
    /** How long a probe waits for an answer: as long as nvme-tcp's own connect does (its SYN and one retransmission). */
    static final Duration PROBE_WAIT = Duration.ofSeconds(3);
    /**
     * strerror of the errnos a connect fails with when nothing answered. A refusal (ECONNREFUSED:
     * the node is up, its port not yet) costs nothing to try again and is not one of them.
     */
    private static final List<String> NETWORK_ERRORS = List.of("Connection timed out", "No route to host",
            "Network is unreachable");

    /** Per target: {next try (System.nanoTime), backoff after it}. */
    private final Map<String, long[]> targets = new HashMap<>();
    /**
     * Desired imports a pass left unconnected because their target did not answer, by key, with
     * their target: the next passes look at them whatever their focus, and the agent passes again
     * when their target is due to be tried ({@link #nextTry}). Nothing else would bring them back:
     * they hold up no volume, so they are not unsettled, and a kernel that stays as it was shows
     * no change to start a pass.
     */
    private final Map<String, String> leftOut = new HashMap<>();
    /** Targets being tried beside the passes. */
    private final Set<String> trying = new HashSet<>();
    private final Runnable answered;
    private final ThreadPoolExecutor tries;

    /** {@code answered}: told when a target tried beside the passes answered, so a pass runs soon. */
    Unreachable(String nodeId, Runnable answered) {
        this.answered = answered;
        this.tries = new ThreadPoolExecutor(1, 1, 10, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "agent-" + nodeId + "-retry");
            t.setDaemon(true);
            return t;
        });
        tries.allowCoreThreadTimeOut(true);
    }

    static String target(io.dnv.core.kernel.NvmeConnection c) {
        return c.address() + ":" + c.serviceId();
    }

    static boolean isNetworkError(String kernelMessage) {
        return NETWORK_ERRORS.stream().anyMatch(kernelMessage::contains);
    }

    /** How long until the target may be tried again; empty when it may be now. */
    synchronized Optional<Duration> wait(String target) {
        long[] t = targets.get(target);
        long left = t == null ? 0 : t[0] - System.nanoTime();
        return left > 0 ? Optional.of(Duration.ofNanos(left)) : Optional.empty();
    }

    synchronized void failed(String target) {
        long[] t = targets.get(target);
        long backoff = t == null ? FIRST.toNanos() : Math.min(t[1] * 2, MAX.toNanos());
        targets.put(target, new long[] {System.nanoTime() + backoff, backoff});
    }

    /** Whether a connect to the target failed for want of an answer, and none succeeded since. */
    synchronized boolean failedLately(String target) {
        return targets.containsKey(target);
    }

    synchronized void reached(String target) {
        targets.remove(target);
    }

    /** A pass left this desired import unconnected: its target did not answer, now or lately. */
    synchronized void leftOut(io.dnv.core.kernel.NvmeConnection c) {
        leftOut.put(c.key(), target(c));
    }

    synchronized boolean isLeftOut(String key) {
        return leftOut.containsKey(key);
    }

    /** The import is live, or no longer desired: nothing to come back for. */
    synchronized void settled(String key) {
        leftOut.remove(key);
    }

    synchronized Set<String> leftOutKeys() {
        return Set.copyOf(leftOut.keySet());
    }

    /**
     * How long until the earliest target of a left-out import may be tried again (zero when it may
     * be now); empty when no import is left out. A try under way tells when its target answered,
     * and is looked at again no sooner than a probe takes.
     */
    synchronized Optional<Duration> nextTry() {
        long now = System.nanoTime();
        return leftOut.values().stream().distinct().map(t -> {
            long left = targets.containsKey(t) ? Math.max(0, targets.get(t)[0] - now) : 0L;
            return trying.contains(t) ? Math.max(left, PROBE_WAIT.toNanos()) : left;
        }).min(Long::compare).map(Duration::ofNanos);
    }

    /**
     * Tries a target that did not answer lately on the retry thread, unless a try of the target is
     * under way: {@code answers} probes it, and only once it answered does {@code connect} run.
     * Answered (connected, or refused: the node is up), the target counts as reached and the next
     * pass connects the rest of its imports itself.
     */
    synchronized void tryBeside(String target, java.util.function.BooleanSupplier answers, Runnable connect) {
        if (!trying.add(target)) {
            return;
        }
        failed(target);   // no other try before this one ends and its backoff is up
        tries.execute(() -> {
            boolean reachedIt;
            try {
                reachedIt = answers.getAsBoolean();
                if (reachedIt) {
                    connect.run();
                }
            } catch (KernelException e) {
                reachedIt = !isNetworkError(e.kernelMessage());
            } catch (RuntimeException e) {
                reachedIt = false;
            }
            synchronized (this) {
                trying.remove(target);
                if (reachedIt) {
                    reached(target);
                }
            }
            if (reachedIt) {
                answered.run();
            }
        });
    }
}
