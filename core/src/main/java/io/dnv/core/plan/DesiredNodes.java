package io.dnv.core.plan;

import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.DiskRange;
import io.dnv.core.kernel.DmDevice;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.kernel.NvmetSubsystem;
import io.dnv.core.node.NodeEndpoints;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Merges what every volume needs on a node, plus the node's own ports, into its desired state. */
public final class DesiredNodes {

    private DesiredNodes() {}

    public static DesiredNode assemble(NodeEndpoints node, long generation, Collection<NodeObjects> volumes) {
        return assemble(node, generation, volumes, List.of());
    }

    /** {@code toZero}: the ranges of the node's disk to zero, as the node's entity sent them. */
    public static DesiredNode assemble(NodeEndpoints node, long generation, Collection<NodeObjects> volumes, List<DiskRange> toZero) {
        Map<Integer, NvmetPort> ports = new LinkedHashMap<>();
        for (NvmetPort p : node.ports()) {
            ports.put(p.id(), p);
        }
        Map<String, DmDevice> dm = new LinkedHashMap<>();
        Map<String, NvmetSubsystem> subsystems = new LinkedHashMap<>();
        Map<String, NvmeConnection> connections = new LinkedHashMap<>();
        // Collected first and added to each port once: a port carries a group per volume.
        Map<Integer, Map<Integer, AnaState>> groups = new HashMap<>();
        for (NodeObjects v : volumes) {
            for (NodeObjects.AnaGroup g : v.anaGroups()) {
                NvmetPort p = ports.get(g.portId());
                if (p == null) {
                    throw new IllegalArgumentException("node " + node.nodeId() + " has no port " + g.portId());
                }
                Map<Integer, AnaState> onPort = groups.computeIfAbsent(p.id(), id -> new HashMap<>(p.anaGroups()));
                AnaState before = onPort.putIfAbsent(g.group(), g.state());
                if (before != null && before != g.state()) {
                    throw new IllegalArgumentException("ANA group " + g.group() + " of port " + g.portId() + " claimed twice");
                }
            }
            v.dmDevices().forEach(d -> putOnce(dm, d.name(), d));
            v.subsystems().forEach(s -> putOnce(subsystems, s.nqn(), s));
            v.connections().forEach(c -> putOnce(connections, c.key(), c));
        }
        groups.forEach((port, g) -> ports.put(port, ports.get(port).withAnaGroups(g)));
        return new DesiredNode(node.nodeId(), generation, new ArrayList<>(ports.values()), List.copyOf(dm.values()),
                List.copyOf(subsystems.values()), List.copyOf(connections.values()), toZero);
    }

    private static <T> void putOnce(Map<String, T> map, String key, T value) {
        T old = map.putIfAbsent(key, value);
        if (old != null && !old.equals(value)) {
            throw new IllegalArgumentException("two volumes want different " + key);
        }
    }
}
