package io.dnv.node.agent;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.DmDevice;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.NvmetSubsystem;
import io.dnv.core.kernel.ObservedKernel;

import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * The desired dm devices, exports and imports a pass compares with the kernel. Comparing all of
 * them makes a pass cost what the whole node holds, and during a burst of creates a node passes
 * several times a second while only the new volumes change. When the kernel is exactly as the
 * previous pass left it, an object that pass settled and that is still wanted exactly as then is
 * still settled: the pass looks at the objects that changed or were not settled. Whenever the
 * kernel differs in anything (another agent, a controller reconnecting, a resync, a hand on the
 * node) or there is no previous pass, it looks at everything. Ports, garbage and ANA groups are
 * always looked at whole.
 */
final class Focus {

    static final Focus EVERYTHING = new Focus(null);

    /** What the previous pass was given and what it left. */
    record Previous(DesiredNode desired, PassResult result) {}

    private final Set<String> names;

    private Focus(Set<String> names) {
        this.names = names;
    }

    static Focus since(Previous previous, DesiredNode desired, ObservedKernel observed) {
        if (previous == null || !observed.equals(previous.result().observed())) {
            return EVERYTHING;
        }
        Set<String> names = new HashSet<>(previous.result().unsettled());
        changed(desired.dmDevices(), previous.desired().dmDevices(), DmDevice::name, names);
        changed(desired.subsystems(), previous.desired().subsystems(), NvmetSubsystem::nqn, names);
        changed(desired.connections(), previous.desired().connections(), NvmeConnection::key, names);
        return new Focus(names);
    }

    /**
     * Objects are compared whole (records), so any change of a spec brings it into focus. Most
     * are the very instances the previous pass was given, which is checked first.
     */
    private static <T> void changed(List<T> now, List<T> before, Function<T, String> name, Set<String> names) {
        Set<T> same = Collections.newSetFromMap(new IdentityHashMap<>());
        same.addAll(before);
        Set<T> equal = null;
        for (T object : now) {
            if (same.contains(object)) {
                continue;
            }
            if (equal == null) {
                equal = new HashSet<>(before);
            }
            if (!equal.contains(object)) {
                names.add(name.apply(object));
            }
        }
    }

    boolean includes(String name) {
        return names == null || names.contains(name);
    }

    boolean everything() {
        return names == null;
    }
}
