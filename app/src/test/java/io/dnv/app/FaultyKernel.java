package io.dnv.app;

import io.dnv.node.kernel.Kernel;
import io.dnv.node.kernel.KernelException;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A kernel that passes every call on, except those it was told to refuse or to slow: a call of
 * a method whose arguments, joined by spaces, contain a key throws as a kernel refusal would
 * (the next {@code times} such calls), or first waits (every such call).
 */
final class FaultyKernel {

    private record Match(String method, String key) {
        boolean matches(String name, String call) {
            return method.equals(name) && call.contains(key);
        }
    }

    private final List<Match> refusals = new CopyOnWriteArrayList<>();
    private final List<String> met = new CopyOnWriteArrayList<>();
    private final Map<Match, Duration> delays = new ConcurrentHashMap<>();
    private final Kernel kernel;

    FaultyKernel(Kernel inner) {
        this.kernel = (Kernel) Proxy.newProxyInstance(Kernel.class.getClassLoader(), new Class<?>[]{Kernel.class}, (proxy, m, args) -> {
            String call = args == null ? "" : String.join(" ", Arrays.stream(args).map(String::valueOf).toList());
            for (Match r : refusals) {
                if (r.matches(m.getName(), call) && refusals.remove(r)) {
                    met.add(r.method() + " " + r.key());
                    throw new KernelException(call, m.getName(), "Input/output error (injected)");
                }
            }
            for (Map.Entry<Match, Duration> d : delays.entrySet()) {
                if (d.getKey().matches(m.getName(), call)) {
                    Thread.sleep(d.getValue().toMillis());
                }
            }
            try {
                return m.invoke(inner, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }

    Kernel kernel() {
        return kernel;
    }

    /** The next {@code times} calls of {@code method} whose arguments contain {@code key} are refused. */
    void refuse(String method, String key, int times) {
        for (int i = 0; i < times; i++) {
            refusals.add(new Match(method, key));
        }
    }

    /** Every call of {@code method} whose arguments contain {@code key} waits {@code delay} first. */
    void slow(String method, String key, Duration delay) {
        delays.put(new Match(method, key), delay);
    }

    /** Every call runs at once again. */
    void quick() {
        delays.clear();
    }

    /** Refusals not met yet are dropped. */
    void forgive() {
        refusals.clear();
    }

    int refusalsLeft() {
        return refusals.size();
    }

    /** The refusals thrown so far, as "method key". */
    List<String> met() {
        return List.copyOf(met);
    }
}
