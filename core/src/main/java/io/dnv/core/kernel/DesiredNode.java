package io.dnv.core.kernel;

import java.util.List;

/**
 * Everything one storage node's kernel should hold, as of a generation of the control plane.
 * {@code toZero}: the free ranges of the node's disk not known to be zero, which the agent zeroes
 * in the background and reports as it goes; no volume gets any of them until it did.
 */
public record DesiredNode(String nodeId, long generation, List<NvmetPort> ports, List<DmDevice> dmDevices,
                          List<NvmetSubsystem> subsystems, List<NvmeConnection> connections, List<DiskRange> toZero) {

    public DesiredNode {
        ports = List.copyOf(ports);
        dmDevices = List.copyOf(dmDevices);
        subsystems = List.copyOf(subsystems);
        connections = List.copyOf(connections);
        toZero = List.copyOf(toZero);
    }

    /** Nothing to zero. */
    public DesiredNode(String nodeId, long generation, List<NvmetPort> ports, List<DmDevice> dmDevices,
                       List<NvmetSubsystem> subsystems, List<NvmeConnection> connections) {
        this(nodeId, generation, ports, dmDevices, subsystems, connections, List.of());
    }

    public static DesiredNode empty(String nodeId, long generation, List<NvmetPort> ports) {
        return new DesiredNode(nodeId, generation, ports, List.of(), List.of(), List.of());
    }
}
