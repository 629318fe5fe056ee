package io.dnv.core.plan;

import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.NvmetSubsystem;
import io.dnv.core.node.NodeEndpoints;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Who witnesses whom (docs/failover.md, "Detection"): the next two nodes in id order, around the ring. */
class WitnessesTest {

    @Test
    void everyNodeImportsTheWitnessOfTheNextTwoAndIsWitnessedByThePreviousTwo() {
        List<NodeEndpoints> nodes = new ArrayList<>(Fixtures.sixNodes().values());
        Collections.shuffle(nodes, new java.util.Random(3));
        Map<String, NodeObjects> plan = Witnesses.plan(nodes);
        assertEquals(plan, Witnesses.plan(Fixtures.sixNodes().values()), "the same whatever order the nodes come in");

        NodeObjects n6 = plan.get("n6");
        assertEquals(List.of(Names.witnessNqn("n1"), Names.witnessNqn("n2")),
                n6.connections().stream().map(NvmeConnection::subsystemNqn).toList());
        for (NvmeConnection c : n6.connections()) {
            assertEquals(ConnectTimeouts.WITNESS, c.timeouts());
            assertEquals(Names.hostNqn("n6"), c.hostNqn());
            assertEquals(4420, c.serviceId(), "the disk port, an internal one");
        }
        NvmetSubsystem export = n6.subsystems().get(0);
        assertEquals(Names.witnessNqn("n6"), export.nqn());
        assertEquals(List.of(Names.hostNqn("n4"), Names.hostNqn("n5")), export.allowedHosts());
        assertTrue(export.namespaces().isEmpty(), "nothing to read or write: its connections are all it is for");
        assertEquals(List.of(Fixtures.DISK_PORT), export.ports());
        assertTrue(n6.dmDevices().isEmpty() && n6.anaGroups().isEmpty());
        // Every node's export is imported by exactly the nodes it allows.
        for (String node : plan.keySet()) {
            List<String> importers = plan.entrySet().stream().filter(e -> e.getValue().connections().stream()
                    .anyMatch(c -> c.subsystemNqn().equals(Names.witnessNqn(node)))).map(e -> Names.hostNqn(e.getKey())).sorted().toList();
            assertEquals(plan.get(node).subsystems().get(0).allowedHosts(), importers, node);
            assertEquals(Witnesses.PER_NODE, importers.size(), node);
        }
    }

    @Test
    void twoNodesWitnessEachOtherAndOneAloneExportsItsWitnessToNobody() {
        List<NodeEndpoints> two = List.of(Fixtures.sixNodes().get("n1"), Fixtures.sixNodes().get("n2"));
        Map<String, NodeObjects> plan = Witnesses.plan(two);
        assertEquals(List.of(Names.witnessNqn("n2")), plan.get("n1").connections().stream().map(NvmeConnection::subsystemNqn).toList());
        assertEquals(List.of(Names.hostNqn("n2")), plan.get("n1").subsystems().get(0).allowedHosts());

        NodeObjects alone = Witnesses.plan(List.of(Fixtures.sixNodes().get("n1"))).get("n1");
        assertTrue(alone.connections().isEmpty());
        assertTrue(alone.subsystems().get(0).allowedHosts().isEmpty());
    }

    /** The witness objects go into a node's desired state beside its volumes' without a clash. */
    @Test
    void witnessesAssembleWithAVolumesObjects() {
        Map<String, NodeEndpoints> nodes = Fixtures.sixNodes();
        io.dnv.core.volume.VolumeSpec spec = new io.dnv.core.volume.VolumeSpec(64L << 20, 1, 1, 4, 2);
        io.dnv.core.volume.VolumeLayout layout = io.dnv.core.volume.VolumeLayout.of(spec);
        NodeObjects volume = Planner.plan("w1", spec, layout, Fixtures.placement(spec, layout, false), List.of(), nodes).get("n1");
        NodeObjects witnesses = Witnesses.plan(nodes.values()).get("n1");
        DesiredNode desired = DesiredNodes.assemble(nodes.get("n1"), 3, List.of(volume, witnesses));
        assertEquals(volume.connections().size() + 2, desired.connections().size());
        assertEquals(volume.subsystems().size() + 1, desired.subsystems().size());
    }
}
