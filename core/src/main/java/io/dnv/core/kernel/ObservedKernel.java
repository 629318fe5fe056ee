package io.dnv.core.kernel;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;

/**
 * What a kernel holds, read back from it (configfs, sysfs, dmsetup) in one shape for every
 * Kernel implementation, so reconcile and re-adopt are the same code on Linux and the simulator.
 * {@code bootId}: which boot of the machine it was read in (Linux's
 * /proc/sys/kernel/random/boot_id), empty when unknown: a kernel booted since holds none of it.
 */
public record ObservedKernel(List<Dm> dmDevices, List<BlockDevice> blockDevices, List<Port> ports,
                             List<Subsystem> subsystems, List<String> hosts, List<Controller> controllers, String bootId) {

    public ObservedKernel {
        dmDevices = List.copyOf(dmDevices);
        blockDevices = List.copyOf(blockDevices);
        ports = List.copyOf(ports);
        subsystems = List.copyOf(subsystems);
        hosts = List.copyOf(hosts);
        controllers = List.copyOf(controllers);
    }

    /**
     * A device-mapper device. {@code table} is the live table as `dmsetup table` prints it (lines
     * without the name, devices as major:minor); {@code status} as `dmsetup status` prints it.
     */
    public record Dm(String name, String majorMinor, String table, String status, boolean suspended, int openCount) {}

    /** A block device that is not device-mapper: a disk, or an NVMe namespace head with its UUID. */
    public record BlockDevice(String path, String majorMinor, long sizeSectors, Optional<UUID> uuid) {}

    /** ANA groups in group order, as configfs lists them. */
    public record Port(int id, String transport, String addressFamily, String address, int serviceId,
                       Map<Integer, AnaState> anaGroups, List<String> subsystems) {
        public Port {
            anaGroups = Collections.unmodifiableSortedMap(new TreeMap<>(anaGroups));
            subsystems = List.copyOf(subsystems);
        }
    }

    public record Subsystem(String nqn, boolean allowAnyHost, List<String> allowedHosts, int cntlidMin, int cntlidMax,
                            String serial, List<Namespace> namespaces) {}

    public record Namespace(int nsid, String devicePath, UUID uuid, String nguid, int anaGroup, boolean enabled) {}

    /**
     * A host-side NVMe-oF controller (/sys/class/nvme/nvmeX). {@code state} as sysfs spells it:
     * live, connecting, resetting, deleting.
     */
    public record Controller(String name, String transport, String address, int serviceId, String subsystemNqn,
                             String hostNqn, int cntlid, String state) {
        /** The {@link NvmeConnection#key()} of the connection this controller serves. */
        public String connectionKey() {
            return NvmeConnection.key(transport, address, serviceId, subsystemNqn, hostNqn);
        }
    }

    /** Every dm device, export and import carrying dnv's prefix: what a node still holds of dnv. */
    public List<String> dnvObjects() {
        return objects(nqn -> nqn.startsWith(Names.NQN_PREFIX));
    }

    /**
     * {@link #dnvObjects} but the node's witness export and imports (docs/failover.md), which
     * belong to no volume and stay while the node is in the cluster: what a node holds of volumes.
     */
    public List<String> volumeObjects() {
        return objects(nqn -> nqn.startsWith(Names.NQN_PREFIX) && !Names.isWitnessNqn(nqn));
    }

    private List<String> objects(java.util.function.Predicate<String> nqns) {
        List<String> found = new java.util.ArrayList<>();
        dmDevices.stream().filter(d -> d.name().startsWith(Names.DM_PREFIX)).forEach(d -> found.add("dm " + d.name()));
        subsystems.stream().filter(s -> nqns.test(s.nqn())).forEach(s -> found.add("export " + s.nqn()));
        controllers.stream().filter(c -> nqns.test(c.subsystemNqn()))
                .forEach(c -> found.add("import " + c.subsystemNqn() + " (" + c.name() + ")"));
        return found;
    }

    public Optional<Dm> dm(String name) {
        return dmDevices.stream().filter(d -> d.name().equals(name)).findFirst();
    }

    public Optional<BlockDevice> namespace(UUID uuid) {
        return blockDevices.stream().filter(b -> b.uuid().filter(uuid::equals).isPresent()).findFirst();
    }
}
