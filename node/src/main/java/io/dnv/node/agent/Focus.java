package io.dnv.node.agent;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.DmDevice;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.NvmetSubsystem;
import io.dnv.core.kernel.ObservedKernel;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The desired dm devices, exports and imports a pass compares with the kernel. Comparing all of
 * them makes a pass cost what the whole node holds, and during a burst of creates a node passes
 * several times a second while only the new volumes change. When the kernel is exactly as the
 * previous pass left it, an object that pass settled and that is still wanted exactly as then is
 * still settled: the pass looks at the objects that changed or were not settled. Whenever the
 * kernel differs in anything (another agent, a controller reconnecting, a resync, a hand on the
 * node) or there is no previous pass, it looks at everything. Ports are always looked at; garbage
 * only when something could have become garbage or garbage was left: an object or ANA group no
 * longer wanted, a kernel that changed, an LD left in place while it is zeroed.
 */
final class Focus {

    static final Focus EVERYTHING = new Focus(null, true);

    /** What the previous pass was given (and its objects by name) and what it left. */
    record Previous(DesiredNode desired, PassResult result, Named named) {
        /**
         * The same, its result showing the target side of {@code now} (a look taken after the
         * pass, when nothing else changed the kernel since), and the host side as the pass saw it.
         */
        Previous seeing(ObservedKernel now) {
            ObservedKernel was = result.observed();
            ObservedKernel after = new ObservedKernel(now.dmDevices(), was.blockDevices(), now.ports(), now.subsystems(), now.hosts(),
                    was.controllers(), was.bootId());
            return new Previous(desired, result.seeing(after), named);
        }
    }

    /**
     * A desired state's dm devices, exports and imports by name. Built once per pass, and kept
     * as the next pass's previous: a node holds thousands.
     */
    record Named(Map<String, DmDevice> dm, Map<String, NvmetSubsystem> subsystems, Map<String, NvmeConnection> connections) {
        static Named of(DesiredNode d) {
            return new Named(byName(d.dmDevices(), DmDevice::name), byName(d.subsystems(), NvmetSubsystem::nqn),
                    byName(d.connections(), NvmeConnection::key));
        }

        boolean names(String object) {
            return dm.containsKey(object) || subsystems.containsKey(object) || connections.containsKey(object);
        }
    }

    private final Set<String> names;
    private final boolean garbage;

    private Focus(Set<String> names, boolean garbage) {
        this.names = names;
        this.garbage = garbage;
    }

    static Focus since(Previous previous, DesiredNode desired, Named now, ObservedKernel observed) {
        if (previous == null || !observed.equals(previous.result().observed()) || !failuresNamedObjects(previous)) {
            return EVERYTHING;
        }
        Named before = previous.named();
        Set<String> names = new HashSet<>(previous.result().unsettled());
        changed(now.dm(), before.dm(), names);
        changed(now.subsystems(), before.subsystems(), names);
        changed(now.connections(), before.connections(), names);
        // A changed export can leave a host entry nobody is allowed through any more; a changed dm
        // device or import leaves nothing behind (what it stops naming is dropped by name itself).
        boolean garbage = !desired.ports().equals(previous.desired().ports())
                || !unchanged(before.subsystems(), now.subsystems())
                || dropped(before.dm(), now.dm())
                || dropped(before.connections(), now.connections())
                || leftGarbage(previous);
        return new Focus(names, garbage);
    }

    /**
     * Whether the previous pass left something no desired state names in place: an LD still
     * being zeroed, which goes once it is all zero, with no change of the kernel to show when.
     */
    private static boolean leftGarbage(Previous previous) {
        return !previous.result().unsettled().stream().allMatch(previous.named()::names);
    }

    /**
     * Every refusal is recorded under the object it concerns, which stays unsettled and so in
     * focus. A refusal of something that is not a desired dm device, export or import (a host
     * entry another agent created first, a range to zero) may hold back an object it was done
     * for: the next pass compares everything.
     */
    private static boolean failuresNamedObjects(Previous previous) {
        return previous.result().failures().stream().allMatch(f -> previous.named().names(f.object()));
    }

    /** Whether a name of {@code before} is not among {@code now} (another spec under the name is a change). */
    private static boolean dropped(Map<String, ?> before, Map<String, ?> now) {
        for (String name : before.keySet()) {
            if (!now.containsKey(name)) {
                return true;
            }
        }
        return false;
    }

    /** Objects are compared whole (records), so any change of a spec brings it into focus. */
    private static <T> void changed(Map<String, T> now, Map<String, T> before, Set<String> names) {
        now.forEach((name, object) -> {
            if (!same(object, before.get(name))) {
                names.add(name);
            }
        });
    }

    /** Whether every object of {@code before} is still among {@code now}, exactly as it was. */
    private static <T> boolean unchanged(Map<String, T> before, Map<String, T> now) {
        for (Map.Entry<String, T> e : before.entrySet()) {
            if (!same(e.getValue(), now.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Each object is compared with the one of the same name only: what the agent is handed again
     * mostly is the same instance, and equality of two records walks them whole.
     */
    private static <T> boolean same(T object, T other) {
        return object == other || object.equals(other);
    }

    private static <T> Map<String, T> byName(List<T> objects, Function<T, String> name) {
        Map<String, T> byName = new HashMap<>();
        objects.forEach(o -> byName.put(name.apply(o), o));
        return byName;
    }

    /** The same objects, looking for garbage too: a pass before left some ({@link Reconciler#leaveGarbage}). */
    Focus withGarbage() {
        return garbage ? this : new Focus(names, true);
    }

    boolean includes(String name) {
        return names == null || names.contains(name);
    }

    /** Whether the pass must look for objects nobody wants any more. */
    boolean garbage() {
        return garbage;
    }

    boolean everything() {
        return names == null;
    }
}
