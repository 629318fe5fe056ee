package io.dnv.node.agent;

import io.dnv.node.kernel.Kernel;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts the changes the node's own hands make to its kernel: the passes, the side watcher, the
 * order worker (a snapshot's holds). A pass may start from the look the pass before it ended
 * with instead of reading the kernel whole again ({@link Reconciler}): a node serving a
 * thousand volumes holds twenty thousand dm devices, and a whole look at them takes seconds on
 * Linux. That look is still the truth as long as nobody of this node changed anything since;
 * what changes without a hand of the node (connections, a raid1 side the kernel failed, a hand
 * on the node) is read again every pass (the host side), noticed by the watchers, or found by the
 * periodic whole look.
 */
public final class KernelChanges {

    private static final Set<String> UNCOUNTED = Set.of("dmStatus", "capabilities", "zeroOut", "nvmeConnect", "nvmeDisconnect");

    private final AtomicLong count = new AtomicLong();

    /** How many changes were made through {@link #counting} kernels so far. */
    long count() {
        return count.get();
    }

    /**
     * The kernel, counting every call but its looks ({@code observe*}, {@code dmStatus},
     * {@code capabilities}), {@code zeroOut} (bytes, not objects: a disk is cleaned for minutes)
     * and the host side's connects and disconnects (every pass reads the host side again; the
     * imports of a dead node are tried again and again beside the passes); a call the kernel
     * refused counts too, as it may have done part of what it was asked.
     */
    public Kernel counting(Kernel kernel) {
        return (Kernel) Proxy.newProxyInstance(Kernel.class.getClassLoader(), new Class<?>[] {Kernel.class}, (proxy, method, args) -> {
            String name = method.getName();
            if (!UNCOUNTED.contains(name) && !name.startsWith("observe") && method.getDeclaringClass() != Object.class) {
                count.incrementAndGet();
            }
            try {
                return method.invoke(kernel, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }
}
