package io.dnv.core.kernel;

import java.util.List;

/** Everything one storage node's kernel should hold, as of a generation of the control plane. */
public record DesiredNode(String nodeId, long generation, List<NvmetPort> ports, List<DmDevice> dmDevices,
                          List<NvmetSubsystem> subsystems, List<NvmeConnection> connections) {

    public DesiredNode {
        ports = List.copyOf(ports);
        dmDevices = List.copyOf(dmDevices);
        subsystems = List.copyOf(subsystems);
        connections = List.copyOf(connections);
    }

    public static DesiredNode empty(String nodeId, long generation, List<NvmetPort> ports) {
        return new DesiredNode(nodeId, generation, ports, List.of(), List.of(), List.of());
    }
}
