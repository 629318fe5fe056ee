package io.dnv.node.agent;

import io.dnv.node.kernel.Kernel;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Optional;
import java.util.Set;

/**
 * Counts the changes the node's own hands make to its kernel (the passes, the side watcher, the
 * order worker's holds) and remembers which dm device or nvmet subsystem each one changed. A pass
 * need not read the kernel whole ({@link KernelLooks}): a node serving a thousand volumes holds
 * tens of thousands of dm devices and thousands of subsystems, and a whole look at them takes
 * seconds on Linux. A look taken a moment ago is still the truth but for what the node's hands
 * changed since, which is read again by name. What changes without a hand of the node
 * (connections, a raid1 side the kernel failed, a thin pool filling, a hand on the node) is read
 * again every look (the host side, nvmet's ports and hosts, the pools), noticed by the watchers,
 * or found by the periodic whole look.
 */
public final class KernelChanges {

    private static final Set<String> UNCOUNTED = Set.of("dmStatus", "capabilities", "zeroOut", "answers", "nvmeConnect",
            "nvmeDisconnect");
    /**
     * How many changes are remembered: a failover pass of a thousand volumes makes a few thousand.
     * A look from before the oldest one remembered is taken whole again.
     */
    static final int REMEMBERED = 1 << 16;

    /**
     * What one change named: a dm device, a subsystem, or neither ("": a port, an ANA group, a
     * host entry, read by every look).
     */
    private record Change(String device, String subsystem) {}

    /** The dm devices and the subsystems the changes since a look named. */
    record Changed(Set<String> devices, Set<String> subsystems) {}

    private final int remembered;
    private long count;
    /** Each remembered change, the newest last; the last one is change {@link #count}. */
    private final ArrayDeque<Change> changes = new ArrayDeque<>();

    public KernelChanges() {
        this(REMEMBERED);
    }

    /** Remembering this many changes. */
    KernelChanges(int remembered) {
        this.remembered = remembered;
    }

    /** How many changes were made through {@link #counting} kernels so far. */
    synchronized long count() {
        return count;
    }

    private synchronized void changed(Change change) {
        count++;
        changes.addLast(change);
        if (changes.size() > remembered) {
            changes.removeFirst();
        }
    }

    /**
     * The dm devices (created, loaded, suspended, resumed, removed, sent a message) and the
     * subsystems (created, removed, their hosts or namespaces changed) that the changes after
     * change {@code since} named, or empty when they are no longer all remembered.
     */
    synchronized Optional<Changed> changedSince(long since) {
        long after = count - since;
        if (after > changes.size()) {
            return Optional.empty();
        }
        Set<String> devices = new HashSet<>();
        Set<String> subsystems = new HashSet<>();
        Iterator<Change> newestFirst = changes.descendingIterator();
        for (long i = 0; i < after; i++) {
            Change c = newestFirst.next();
            if (!c.device().isEmpty()) {
                devices.add(c.device());
            }
            if (!c.subsystem().isEmpty()) {
                subsystems.add(c.subsystem());
            }
        }
        return Optional.of(new Changed(devices, subsystems));
    }

    /**
     * The kernel, counting every call but its looks ({@code observe*}, {@code dmStatus},
     * {@code capabilities}), {@code zeroOut} (bytes, not objects: a disk is cleaned for minutes),
     * the probes, and the host side's connects and disconnects (every look reads the host side
     * again; the imports of a dead node are tried again and again beside the passes); a call the
     * kernel refused counts too, as it may have done part of what it was asked. A change is
     * counted once the call returned: a look that began before then may or may not show it, and
     * the next look reads it again.
     */
    public Kernel counting(Kernel kernel) {
        return (Kernel) Proxy.newProxyInstance(Kernel.class.getClassLoader(), new Class<?>[] {Kernel.class}, (proxy, method, args) -> {
            String name = method.getName();
            boolean counted = !UNCOUNTED.contains(name) && !name.startsWith("observe") && method.getDeclaringClass() != Object.class;
            try {
                return method.invoke(kernel, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            } finally {
                if (counted) {
                    changed(change(name, args));
                }
            }
        });
    }

    /**
     * Every dm call names its device first (dmCreate(name, table), dmRemove(name)...), and every
     * call that changes a subsystem's own directory its NQN (nvmetSubsystemCreate(nqn, ...),
     * nvmetAllowHost(nqn, host), nvmetNamespaceEnable(nqn, nsid, ...)...). A port's links
     * (nvmetLink(port, nqn)) belong to the port.
     */
    private static Change change(String method, Object[] args) {
        if (method.startsWith("dm")) {
            return new Change((String) args[0], "");
        }
        boolean subsystem = method.startsWith("nvmetSubsystem") || method.startsWith("nvmetAllow") || method.startsWith("nvmetDisallow")
                || method.startsWith("nvmetNamespace");
        return new Change("", subsystem ? (String) args[0] : "");
    }
}
