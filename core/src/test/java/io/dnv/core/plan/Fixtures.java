package io.dnv.core.plan;

import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Six storage servers, each a disk node and a controller node, and simple placements over them. */
public final class Fixtures {

    public static final int DISK_PORT = 1;
    public static final int LEG_PORT = 2;
    public static final int VOLUME_PORT = 3;

    public static Map<String, NodeEndpoints> sixNodes() {
        Map<String, NodeEndpoints> nodes = new LinkedHashMap<>();
        for (int i = 1; i <= 6; i++) {
            String address = "127.0.1." + i;
            nodes.put("n" + i, new NodeEndpoints("n" + i, address, Optional.of("/dev/ram0"),
                    Optional.of(NvmetPort.tcp(DISK_PORT, address, 4420)), Optional.of(NvmetPort.tcp(LEG_PORT, address, 4421)),
                    List.of(NvmetPort.tcp(VOLUME_PORT, address, 4422))));
        }
        return nodes;
    }

    /**
     * Controllers on n1.. in slot order; raid1 sides of leg i on two nodes chosen round-robin
     * from the six, each extent right after the previous one on its disk.
     */
    public static Placement placement(VolumeSpec spec, VolumeLayout layout, boolean brandNew) {
        List<Placement.Controller> controllers = new ArrayList<>();
        for (int slot = 0; slot < spec.controllerCount(); slot++) {
            controllers.add(new Placement.Controller("n" + (slot + 1),
                    slot < spec.activeControllers() ? Placement.Role.ACTIVE : Placement.Role.STANDBY, VOLUME_PORT, 2));
        }
        long[] nextFree = new long[7];
        List<Placement.Leg> legs = new ArrayList<>();
        for (int leg = 0; leg < spec.legCount(); leg++) {
            List<Placement.Extent> sides = new ArrayList<>();
            for (int s = 0; s < spec.replicas(); s++) {
                int node = (leg * spec.replicas() + s) % 6 + 1;
                sides.add(new Placement.Extent("n" + node, nextFree[node], layout.ldSectors()));
                nextFree[node] += layout.ldSectors();
            }
            legs.add(new Placement.Leg(List.of(new Placement.Group(brandNew, sides, 0, 0))));
        }
        return new Placement(controllers, legs);
    }

    /** Every node's desired state with one volume on it (or nothing, on nodes it does not use). */
    public static Map<String, io.dnv.core.kernel.DesiredNode> desired(Map<String, NodeEndpoints> nodes, String volumeId, VolumeSpec spec,
                                                                    Placement placement, List<String> hosts, long generation) {
        return desired(nodes, volumeId, spec, VolumeLayout.of(spec), placement, hosts, generation);
    }

    /** The same, with legs and stripes sized by {@code layout} (an extend's stages). */
    public static Map<String, io.dnv.core.kernel.DesiredNode> desired(Map<String, NodeEndpoints> nodes, String volumeId, VolumeSpec spec,
                                                                    VolumeLayout layout, Placement placement, List<String> hosts,
                                                                    long generation) {
        return desired(nodes, volumeId, spec, layout, placement, hosts, List.of(), generation);
    }

    /** The same, with snapshots of the volume exported. */
    public static Map<String, io.dnv.core.kernel.DesiredNode> desired(Map<String, NodeEndpoints> nodes, String volumeId, VolumeSpec spec,
                                                                    VolumeLayout layout, Placement placement, List<String> hosts,
                                                                    List<SnapshotExport> exports, long generation) {
        Map<String, NodeObjects> plan = Planner.plan(volumeId, spec, layout, placement, hosts, nodes, exports);
        Map<String, io.dnv.core.kernel.DesiredNode> desired = new LinkedHashMap<>();
        nodes.values().forEach(n -> desired.put(n.nodeId(), DesiredNodes.assemble(n, generation,
                plan.containsKey(n.nodeId()) ? List.of(plan.get(n.nodeId())) : List.of())));
        return desired;
    }

    /** Every node's desired state with no volume: only its own ports. */
    public static Map<String, io.dnv.core.kernel.DesiredNode> empty(Map<String, NodeEndpoints> nodes, long generation) {
        Map<String, io.dnv.core.kernel.DesiredNode> desired = new LinkedHashMap<>();
        nodes.values().forEach(n -> desired.put(n.nodeId(), DesiredNodes.assemble(n, generation, List.of())));
        return desired;
    }

    private Fixtures() {}
}
