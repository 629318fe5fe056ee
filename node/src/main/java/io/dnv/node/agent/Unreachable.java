package io.dnv.node.agent;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Targets (address and port) a connect could not reach, tried again with backoff. A connect to a
 * dead node costs its timeout (nvme-tcp sends its SYN twice: about 3 s on Linux), and a dead disk
 * node holds an import of every LD it served: without this a pass would spend that time on each.
 */
final class Unreachable {

    private static final Duration FIRST = Duration.ofSeconds(1);
    private static final Duration MAX = Duration.ofSeconds(30);
    /**
     * strerror of the errnos a connect fails with when nothing answered. A refusal (ECONNREFUSED:
     * the node is up, its port not yet) costs nothing to try again and is not one of them.
     */
    private static final List<String> NETWORK_ERRORS = List.of("Connection timed out", "No route to host",
            "Network is unreachable");

    /** Per target: {next try (System.nanoTime), backoff after it}. */
    private final Map<String, long[]> targets = new HashMap<>();

    static String target(io.dnv.core.kernel.NvmeConnection c) {
        return c.address() + ":" + c.serviceId();
    }

    static boolean isNetworkError(String kernelMessage) {
        return NETWORK_ERRORS.stream().anyMatch(kernelMessage::contains);
    }

    /** How long until the target may be tried again; empty when it may be now. */
    Optional<Duration> wait(String target) {
        long[] t = targets.get(target);
        long left = t == null ? 0 : t[0] - System.nanoTime();
        return left > 0 ? Optional.of(Duration.ofNanos(left)) : Optional.empty();
    }

    void failed(String target) {
        long[] t = targets.get(target);
        long backoff = t == null ? FIRST.toNanos() : Math.min(t[1] * 2, MAX.toNanos());
        targets.put(target, new long[] {System.nanoTime() + backoff, backoff});
    }

    /** Whether a connect to the target failed for want of an answer, and none succeeded since. */
    boolean failedLately(String target) {
        return targets.containsKey(target);
    }

    void reached(String target) {
        targets.remove(target);
    }
}
