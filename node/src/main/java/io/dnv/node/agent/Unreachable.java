package io.dnv.node.agent;

import io.dnv.core.kernel.NvmeConnection;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Targets (address and port) a connect could not reach, and the desired imports left out because
 * of them. A connect to a dead node costs its timeout (nvme-tcp sends its SYN twice: about 3 s on
 * Linux) and holds the kernel's connect lock meanwhile (Linux serializes every connect of a kernel:
 * one mutex for /dev/nvme-fabrics), so every connect of the passes, the promotions' and new
 * standbys' included, would wait behind it (docs/failover.md, "Failover at scale").
 *
 * <p>Once a target did not answer, the passes leave its imports out, and the target is probed from
 * userspace ({@link io.dnv.node.kernel.Kernel#answers}) on a thread of its own, with backoff, for as
 * long as an import of it is left out. When a probe is answered the agent is told, and its next
 * pass connects the imports left out, whatever that pass's focus: they hold up no volume (a
 * witness, a side its raid1 group serves without), so nothing else would bring them back while the
 * kernel stays as it was. Called from the pass and from the probe's thread.
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

    /** Per target that did not answer: the backoff before its next probe. */
    private final Map<String, Duration> targets = new HashMap<>();
    /** Desired imports left unconnected because their target did not answer, by key, with their target. */
    private final Map<String, String> leftOut = new HashMap<>();
    /** The next probe of each target that has one due. */
    private final Map<String, ScheduledFuture<?>> probes = new HashMap<>();
    private final Predicate<NvmeConnection> answers;
    private final Runnable answered;
    private final ScheduledThreadPoolExecutor prober;
    private boolean closed;

    /**
     * {@code answers}: the probe ({@link io.dnv.node.kernel.Kernel#answers} with {@link #PROBE_WAIT});
     * {@code answered}: told when a target that did not answer answered a probe, so a pass runs soon.
     */
    Unreachable(String nodeId, Predicate<NvmeConnection> answers, Runnable answered) {
        this.answers = answers;
        this.answered = answered;
        this.prober = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "agent-" + nodeId + "-probe");
            t.setDaemon(true);
            return t;
        });
        prober.setKeepAliveTime(10, TimeUnit.SECONDS);
        prober.allowCoreThreadTimeOut(true);
        prober.setRemoveOnCancelPolicy(true);
    }

    static String target(NvmeConnection c) {
        return c.address() + ":" + c.serviceId();
    }

    static boolean isNetworkError(String kernelMessage) {
        return NETWORK_ERRORS.stream().anyMatch(kernelMessage::contains);
    }

    /** A connect to the target got no answer: its imports are left out until a probe is answered. */
    synchronized void failed(String target) {
        targets.merge(target, FIRST, (backoff, first) -> backoff.multipliedBy(2).compareTo(MAX) < 0 ? backoff.multipliedBy(2) : MAX);
    }

    /**
     * An import of the target stayed down past {@link SideWatcher#GRACE}, its kernel reconnecting
     * all the while: counted as not answering, as a connect that timed out is (its imports are
     * left out and the target probed), without lengthening a backoff already running. A target
     * that only refused (this node fenced) answers the first probe, a second later.
     */
    synchronized void silent(String target) {
        targets.putIfAbsent(target, FIRST);
    }

    /** Whether a connect to the target failed for want of an answer, and no connect or probe was answered since. */
    synchronized boolean failedLately(String target) {
        return targets.containsKey(target);
    }

    synchronized void reached(String target) {
        targets.remove(target);
        ScheduledFuture<?> probe = probes.remove(target);
        if (probe != null) {
            probe.cancel(false);
        }
    }

    /**
     * A pass left this desired import unconnected: its target did not answer, now or lately. Its
     * target is probed after its backoff, unless a probe of it is due already.
     */
    synchronized void leftOut(NvmeConnection c) {
        String target = target(c);
        leftOut.put(c.key(), target);
        if (targets.containsKey(target) && !probes.containsKey(target)) {
            probeLater(target, c);
        }
    }

    /** The next probe of {@code target}, after its backoff (the caller holds the lock). */
    private void probeLater(String target, NvmeConnection c) {
        if (!closed) {
            probes.put(target, prober.schedule(() -> probe(target, c), targets.get(target).toMillis(), TimeUnit.MILLISECONDS));
        }
    }

    synchronized boolean isLeftOut(String key) {
        return leftOut.containsKey(key);
    }

    /** The import is live, or no longer desired: nothing to come back for. */
    synchronized void settled(String key) {
        leftOut.remove(key);
    }

    /** Forgets the imports left out that no desired state names any more. */
    synchronized void forgetAllBut(Set<String> desiredKeys) {
        leftOut.keySet().retainAll(desiredKeys);
    }

    /** The agent stopped: no more probes. */
    synchronized void close() {
        closed = true;
        prober.shutdownNow();
    }

    /**
     * One probe of a target, on the prober's thread. Answered (connected, or refused: the node is
     * up), the target counts as reached and the agent is told; not, the next one is due after a
     * longer backoff, as long as an import of the target is still left out.
     */
    private void probe(String target, NvmeConnection c) {
        boolean reachedIt;
        try {
            reachedIt = answers.test(c);
        } catch (RuntimeException e) {
            reachedIt = false;
        }
        synchronized (this) {
            probes.remove(target);
            if (closed || !targets.containsKey(target)) {
                return;
            }
            if (reachedIt) {
                targets.remove(target);
            } else {
                failed(target);
                if (leftOut.containsValue(target)) {
                    probeLater(target, c);
                }
                return;
            }
        }
        answered.run();
    }
}
