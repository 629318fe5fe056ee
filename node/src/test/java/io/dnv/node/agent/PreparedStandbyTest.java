package io.dnv.node.agent;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.plan.Fixtures;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A volume's standby (n2) holds the LDs' imports and the raid1 slices over them ahead of a
 * promotion; the active (n1) builds the stack. A standby that starts while one disk node (n4)
 * does not answer still converges: that side's preparation is reported degraded, not waited for,
 * and it is made once the disk node is back.
 */
class PreparedStandbyTest {

    private static final String VOLUME = "prep";
    private static final VolumeSpec SPEC = new VolumeSpec(16L << 20, 1, 1, 1, 2);

    @TempDir
    Path dataDir;

    private final ActorTestKit testKit = ActorTestKit.create("PreparedStandbyTest");
    private final Fabric fabric = new Fabric();
    private final Map<String, NodeEndpoints> nodes = new LinkedHashMap<>();
    private final Map<String, SimulatedKernel> kernels = new LinkedHashMap<>();
    private final Agents agents = new Agents(testKit);

    @AfterEach
    void shutdown() {
        testKit.shutdownTestKit();
        kernels.values().forEach(SimulatedKernel::shutdown);
    }

    @Test
    void theStandbyImportsEveryLdAheadAndConvergesWhileADiskNodeIsAway() throws Exception {
        Fixtures.sixNodes().values().stream().limit(4).forEach(n -> nodes.put(n.nodeId(), n));
        for (NodeEndpoints n : nodes.values()) {
            kernels.put(n.nodeId(), new SimulatedKernel(n.address(), fabric)
                    .addDisk(n.diskPath().orElseThrow(), dataDir.resolve(n.nodeId() + ".disk"), 64L << 20));
        }
        VolumeLayout layout = VolumeLayout.of(SPEC);
        Placement placement = new Placement(List.of(new Placement.Controller("n1", Placement.Role.ACTIVE, Fixtures.VOLUME_PORT, 2),
                new Placement.Controller("n2", Placement.Role.STANDBY, Fixtures.VOLUME_PORT, 3)),
                List.of(new Placement.Leg(List.of(Placement.Group.placed(List.of(
                        new Placement.Extent("n3", 0, layout.ldSectors()), new Placement.Extent("n4", 0, layout.ldSectors())))))));
        agents.start(kernels, disks());
        agents.converge(Fixtures.desired(nodes, VOLUME, SPEC, placement, List.of(), 1));
        assertEquals(Set.of("127.0.1.3", "127.0.1.4"), liveImports("n2"), "the standby imports both LDs");
        Set<String> slices = Set.of(Names.raidMeta("n2", VOLUME, 0, 0, 0), Names.raidData("n2", VOLUME, 0, 0, 0),
                Names.raidMeta("n2", VOLUME, 0, 0, 1), Names.raidData("n2", VOLUME, 0, 0, 1));
        assertTrue(dmNames("n2").containsAll(slices), dmNames("n2").toString());
        assertTrue(dmNames("n2").stream().noneMatch(n -> n.contains("-r1-") || n.contains("-pool-")),
                "nothing that writes metadata is prepared: " + dmNames("n2"));

        // n4 goes away, and the standby's machine reboots meanwhile: its agent starts over an empty kernel.
        kernels.get("n4").powerOff();
        kernels.get("n2").powerCycle();
        Map<String, SimulatedKernel> up = new LinkedHashMap<>(kernels);
        up.remove("n4");
        agents.start(up, disks());
        Map<String, DesiredNode> desired = Fixtures.desired(nodes, VOLUME, SPEC, placement, List.of(), 2);
        desired.remove("n4");
        agents.converge(desired);
        assertEquals(Set.of("127.0.1.3"), liveImports("n2"));
        List<String> degraded = agents.status("n2").lastPass().orElseThrow().degraded();
        assertTrue(degraded.stream().anyMatch(l -> l.startsWith(Names.raidMeta("n2", VOLUME, 0, 0, 1)) && l.contains("prepared")),
                "the missing preparation is not reported: " + degraded);

        kernels.get("n4").powerOn();
        agents.start(kernels, disks());
        agents.converge(Fixtures.desired(nodes, VOLUME, SPEC, placement, List.of(), 3));
        assertEquals(Set.of("127.0.1.3", "127.0.1.4"), liveImports("n2"));
        assertTrue(dmNames("n2").containsAll(slices), dmNames("n2").toString());
    }

    private Set<String> liveImports(String node) {
        return kernels.get(node).observeHost().controllers().stream().filter(c -> c.state().equals("live"))
                .map(ObservedKernel.Controller::address).filter(a -> !a.equals(nodes.get(node).address())).collect(Collectors.toSet());
    }

    private Set<String> dmNames(String node) {
        return kernels.get(node).observe().dmDevices().stream().map(ObservedKernel.Dm::name).collect(Collectors.toSet());
    }

    private Map<String, Optional<String>> disks() {
        Map<String, Optional<String>> disks = new LinkedHashMap<>();
        nodes.forEach((id, n) -> disks.put(id, n.diskPath()));
        return disks;
    }
}
