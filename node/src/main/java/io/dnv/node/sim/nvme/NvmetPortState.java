package io.dnv.node.sim.nvme;

import io.dnv.core.kernel.AnaGroups;
import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.kernel.ObservedKernel;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** configfs ports/&lt;id&gt;: address, ANA groups, linked subsystems. Guarded by the owning Nvmet. */
final class NvmetPortState {

    final int id;
    final Fabric.Address address;
    final String addressFamily;
    /** Groups that exist under ana_groups/; the default group is there from mkdir on. */
    final Map<Integer, AnaState> groups = new TreeMap<>();
    /** In link order; a set because every connect asks it, and a disk port links hundreds. */
    final Set<String> subsystems = new LinkedHashSet<>();

    NvmetPortState(NvmetPort port) {
        this.id = port.id();
        this.address = new Fabric.Address(port.transport(), port.address(), port.serviceId());
        this.addressFamily = port.addressFamily();
        groups.put(AnaGroups.DEFAULT, AnaState.OPTIMIZED);
    }

    /**
     * nvmet keeps a state for every group id on every port, inaccessible unless the group was
     * created here and set otherwise; so a namespace in a group this port lacks is inaccessible
     * through it.
     */
    AnaState anaState(int group) {
        return groups.getOrDefault(group, AnaState.INACCESSIBLE);
    }

    /** The port is enabled (listens) exactly while a subsystem is linked to it. */
    boolean listening() {
        return !subsystems.isEmpty();
    }

    ObservedKernel.Port observe() {
        return new ObservedKernel.Port(id, address.transport(), addressFamily, address.traddr(), address.trsvcid(),
                Map.copyOf(groups), List.copyOf(subsystems));
    }
}
