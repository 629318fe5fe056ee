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
 * only when something could have become garbage: an object or ANA group no longer wanted, or a
 * kernel that changed.
 */
final class Focus {

    static final Focus EVERYTHING = new Focus(null, true);

    /** What the previous pass was given and what it left. */
    record Previous(DesiredNode desired, PassResult result) {}

    private final Set<String> names;
    private final boolean garbage;

    private Focus(Set<String> names, boolean garbage) {
        this.names = names;
        this.garbage = garbage;
    }

    static Focus since(Previous previous, DesiredNode desired, ObservedKernel observed) {
        if (previous == null || !observed.equals(previous.result().observed()) || !failuresNamedObjects(previous)) {
            return EVERYTHING;
        }
        Set<String> names = new HashSet<>(previous.result().unsettled());
        changed(desired.dmDevices(), previous.desired().dmDevices(), DmDevice::name, names);
        changed(desired.subsystems(), previous.desired().subsystems(), NvmetSubsystem::nqn, names);
        changed(desired.connections(), previous.desired().connections(), NvmeConnection::key, names);
        // A changed export can leave a host entry nobody is allowed through any more; a changed dm
        // device or import leaves nothing behind (what it stops naming is dropped by name itself).
        boolean garbage = !desired.ports().equals(previous.desired().ports())
                || !unchanged(previous.desired().subsystems(), desired.subsystems(), NvmetSubsystem::nqn)
                || dropped(previous.desired().dmDevices(), desired.dmDevices(), DmDevice::name)
                || dropped(previous.desired().connections(), desired.connections(), NvmeConnection::key);
        return new Focus(names, garbage);
    }

    /**
     * Every refusal is recorded under the object it concerns, which stays unsettled and so in
     * focus. A refusal of something that is not a desired dm device, export or import (a host
     * entry another agent created first, a range to zero) may hold back an object it was done
     * for: the next pass compares everything.
     */
    private static boolean failuresNamedObjects(Previous previous) {
        if (previous.result().failures().isEmpty()) {
            return true;
        }
        Set<String> objects = new HashSet<>();
        DesiredNode d = previous.desired();
        d.dmDevices().forEach(x -> objects.add(x.name()));
        d.subsystems().forEach(x -> objects.add(x.nqn()));
        d.connections().forEach(x -> objects.add(x.key()));
        return previous.result().failures().stream().allMatch(f -> objects.contains(f.object()));
    }

    /** Whether a name of {@code before} is not among {@code now} (another spec under the name is a change). */
    private static <T> boolean dropped(List<T> before, List<T> now, Function<T, String> name) {
        Set<String> kept = new HashSet<>();
        now.forEach(o -> kept.add(name.apply(o)));
        for (T o : before) {
            if (!kept.contains(name.apply(o))) {
                return true;
            }
        }
        return false;
    }

    /** Objects are compared whole (records), so any change of a spec brings it into focus. */
    private static <T> void changed(List<T> now, List<T> before, Function<T, String> name, Set<String> names) {
        Map<String, T> previous = byName(before, name);
        for (T object : now) {
            String n = name.apply(object);
            if (!same(object, previous.get(n))) {
                names.add(n);
            }
        }
    }

    /** Whether every object of {@code before} is still among {@code now}, exactly as it was. */
    private static <T> boolean unchanged(List<T> before, List<T> now, Function<T, String> name) {
        Map<String, T> current = byName(now, name);
        for (T object : before) {
            if (!same(object, current.get(name.apply(object)))) {
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
