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
 * order worker's holds) and remembers which dm device each one changed. A pass need not read the
 * kernel whole ({@link KernelLooks}): a node serving a thousand volumes holds tens of thousands
 * of dm devices, and a whole look at them takes seconds on Linux. A look taken a moment ago is
 * still the truth but for what the node's hands changed since, which is read again by name.
 * What changes without a hand of the node (connections, a raid1 side the kernel failed, a thin
 * pool filling, a hand on the node) is read again every look (the host side, the nvmet side, the
 * pools), noticed by the watchers, or found by the periodic whole look.
 */
public final class KernelChanges {

    private static final Set<String> UNCOUNTED = Set.of("dmStatus", "capabilities", "zeroOut", "answers", "nvmeConnect",
            "nvmeDisconnect");
    /**
     * How many changes are remembered by device: a failover pass of a thousand volumes makes a
     * few thousand. A look from before the oldest one remembered is taken whole again.
     */
    static final int REMEMBERED = 1 << 16;
    /** Written for a change that names no dm device (configfs): the nvmet side is read whole by every look. */
    private static final String NO_DEVICE = "";

    private final int remembered;
    private long count;
    /** The dm device of each remembered change, the newest last; the last one is change {@link #count}. */
    private final ArrayDeque<String> devices = new ArrayDeque<>();

    public KernelChanges() {
        this(REMEMBERED);
    }

    /** Remembering the devices of this many changes. */
    KernelChanges(int remembered) {
        this.remembered = remembered;
    }

    /** How many changes were made through {@link #counting} kernels so far. */
    synchronized long count() {
        return count;
    }

    private synchronized void changed(String device) {
        count++;
        devices.addLast(device);
        if (devices.size() > remembered) {
            devices.removeFirst();
        }
    }

    /**
     * The dm devices changed by the changes after change {@code since} (created, loaded,
     * suspended, resumed, removed, sent a message), or empty when they are no longer all remembered.
     */
    synchronized Optional<Set<String>> devicesChangedSince(long since) {
        long after = count - since;
        if (after > devices.size()) {
            return Optional.empty();
        }
        Set<String> names = new HashSet<>();
        Iterator<String> newestFirst = devices.descendingIterator();
        for (long i = 0; i < after; i++) {
            String device = newestFirst.next();
            if (!device.equals(NO_DEVICE)) {
                names.add(device);
            }
        }
        return Optional.of(names);
    }

    /**
     * The kernel, counting every call but its looks ({@code observe*}, {@code dmStatus},
     * {@code capabilities}), {@code zeroOut} (bytes, not objects: a disk is cleaned for minutes)
     * and the host side's connects and disconnects (every look reads the host side again; the
     * imports of a dead node are tried again and again beside the passes); a call the kernel
     * refused counts too, as it may have done part of what it was asked. A change is counted once
     * the call returned: a look that began before then may or may not show it, and the next look
     * reads it again.
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
                    // Every dm call names its device first: dmCreate(name, table), dmRemove(name)...
                    changed(name.startsWith("dm") ? (String) args[0] : NO_DEVICE);
                }
            }
        });
    }
}
