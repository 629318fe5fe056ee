package io.dnv.node.sim.nvme;

import io.dnv.core.kernel.ObservedKernel;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

/** configfs subsystems/&lt;nqn&gt;. Guarded by the owning Nvmet. */
final class NvmetSubsystemState {

    final String nqn;
    /** Linux 6.1 creates subsystems closed: attr_allow_any_host reads 0 after mkdir. */
    boolean allowAnyHost;
    final Set<String> allowedHosts = new LinkedHashSet<>();
    final int cntlidMin;
    final int cntlidMax;
    final String serial;
    final TreeMap<Integer, NvmetNamespaceState> namespaces = new TreeMap<>();

    NvmetSubsystemState(String nqn, int cntlidMin, int cntlidMax, String serial) {
        this.nqn = nqn;
        this.cntlidMin = cntlidMin;
        this.cntlidMax = cntlidMax;
        this.serial = serial;
    }

    boolean allows(String hostNqn) {
        return allowAnyHost || allowedHosts.contains(hostNqn);
    }

    ObservedKernel.Subsystem observe() {
        return new ObservedKernel.Subsystem(nqn, allowAnyHost, List.copyOf(allowedHosts), cntlidMin, cntlidMax, serial,
                namespaces.values().stream().map(NvmetNamespaceState::observe).toList());
    }
}
