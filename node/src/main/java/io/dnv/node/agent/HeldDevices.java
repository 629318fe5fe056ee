package io.dnv.node.agent;

import java.util.Collection;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The dm devices an order holds suspended now ({@link OrderWorker}): a pass leaves them
 * suspended and does not reload them, where it resumes any other device it finds suspended
 * (left so by an interrupted operation). Shared by the order worker and the passes, which run
 * on threads of their own; it outlives both, so an agent that starts again still sees what the
 * worker holds, and a worker that starts again gives its holds back first.
 */
public final class HeldDevices {

    private final ConcurrentHashMap<String, Integer> held = new ConcurrentHashMap<>();

    boolean contains(String dmName) {
        return held.containsKey(dmName);
    }

    void add(Collection<String> dmNames) {
        dmNames.forEach(d -> held.merge(d, 1, Integer::sum));
    }

    void remove(Collection<String> dmNames) {
        dmNames.forEach(d -> held.computeIfPresent(d, (k, n) -> n == 1 ? null : n - 1));
    }
}
