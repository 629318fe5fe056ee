package io.dnv.core.plan;

import io.dnv.core.kernel.AnaGroups;
import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.node.NodeInfo;
import io.dnv.core.node.NodeView;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.Placer;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole control-plane path of a volume's ANA group, pure: placement on what the nodes
 * report, a group per failover domain, the planner's objects, and one node's desired state
 * assembled from thousands of volumes on one volume port. Before domains the 128th volume of a
 * port found no group.
 */
class ThousandsOfVolumesOnOneNodeTest {

    @Test
    void sixNodesPlaceThousandsOfVolumesAndEachPortHoldsAGroupPerDomain() {
        Map<String, NodeEndpoints> endpoints = Fixtures.sixNodes();
        VolumeSpec spec = new VolumeSpec(64L << 20, 1, 1, 1, 2);
        VolumeLayout layout = VolumeLayout.of(spec);
        int volumes = 6000;
        Map<String, Map<Integer, String>> groups = new HashMap<>();
        Map<String, Map<String, Integer>> members = new HashMap<>();
        Map<String, List<NodeObjects>> objects = new HashMap<>();
        endpoints.keySet().forEach(n -> {
            groups.put(n, new HashMap<>());
            members.put(n, new HashMap<>());
            objects.put(n, new ArrayList<>());
        });
        for (int v = 0; v < volumes; v++) {
            String id = "v" + v;
            List<NodeView> views = endpoints.values().stream().map(e -> view(e, members.get(e.nodeId()), groups.get(e.nodeId()))).toList();
            Placer.Choice choice = Placer.choose(id, spec, layout, views).choice().orElseThrow();
            List<Placement.Controller> controllers = new ArrayList<>();
            for (int slot = 0; slot < choice.controllers().size(); slot++) {
                String node = choice.controllers().get(slot);
                String domain = AnaGroups.domain(slot, spec.activeControllers(), choice.controllers());
                // StorageNode's rule: the domain's group on the port, else the lowest free one.
                int group = AnaGroups.groupFor(domain, groups.get(node)).orElseThrow();
                groups.get(node).put(group, domain);
                members.get(node).merge(domain, 1, Integer::sum);
                controllers.add(new Placement.Controller(node, slot < spec.activeControllers() ? Placement.Role.ACTIVE
                        : Placement.Role.STANDBY, Fixtures.VOLUME_PORT, group));
            }
            List<Placement.Extent> sides = choice.sides().get(0).stream()
                    .map(n -> new Placement.Extent(n, 0, layout.ldSectors())).toList();
            Placement placement = new Placement(controllers, List.of(new Placement.Leg(List.of(Placement.Group.placed(sides).created()))));
            Planner.plan(id, spec, layout, placement, List.of(), endpoints).forEach((n, o) -> objects.get(n).add(o));
        }
        for (String n : endpoints.keySet()) {
            DesiredNode desired = DesiredNodes.assemble(endpoints.get(n), 1, objects.get(n));
            NvmetPort port = desired.ports().stream().filter(p -> p.id() == Fixtures.VOLUME_PORT).findFirst().orElseThrow();
            long exports = desired.subsystems().stream().filter(s -> s.ports().contains(Fixtures.VOLUME_PORT)).count();
            int controllerVolumes = members.get(n).values().stream().mapToInt(Integer::intValue).sum();
            assertEquals(controllerVolumes, exports);
            assertTrue(controllerVolumes >= 1900, n + " carries " + controllerVolumes);
            // The active group and one per other node it stands by for, whatever the volume count.
            assertTrue(port.anaGroups().size() <= 1 + endpoints.size() - 1, port.anaGroups().toString());
            assertTrue(port.anaGroups().keySet().stream().allMatch(AnaGroups::isUsable), port.anaGroups().toString());
        }
    }

    private static NodeView view(NodeEndpoints e, Map<String, Integer> members, Map<Integer, String> groups) {
        NodeInfo info = new NodeInfo(e, 1L << 40, Set.of("disk", "ctrl"), Map.of(), Placer.REQUIRED);
        List<NodeView.AnaGroup> ana = new ArrayList<>();
        groups.forEach((g, domain) -> ana.add(new NodeView.AnaGroup(Fixtures.VOLUME_PORT, g, domain, members.get(domain))));
        int controllerVolumes = members.values().stream().mapToInt(Integer::intValue).sum();
        return new NodeView(e.nodeId(), "UP", Optional.of(info), Optional.of(Instant.now()),
                new NodeView.Capacity(1L << 40, 0, 1L << 40, 1L << 40, 1, 0), controllerVolumes, controllerVolumes, ana, 0, 0,
                List.of(), false, Set.of(), List.of());
    }
}
