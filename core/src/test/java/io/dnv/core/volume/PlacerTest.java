package io.dnv.core.volume;

import io.dnv.core.kernel.AnaGroups;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.node.NodeInfo;
import io.dnv.core.node.NodeView;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PlacerTest {

    static NodeView node(String id, String state, long freeBytes, Set<String> roles, Map<String, String> labels,
                         int controllerVolumes) {
        return node(id, state, freeBytes, roles, labels, controllerVolumes, List.of());
    }

    static NodeView node(String id, String state, long freeBytes, Set<String> roles, Map<String, String> labels,
                         int controllerVolumes, List<NodeView.AnaGroup> anaGroups) {
        NodeInfo info = new NodeInfo(new NodeEndpoints(id, "127.0.8.1", Optional.of("/dev/ram0"),
                Optional.of(NvmetPort.tcp(1, "127.0.8.1", 4420)), Optional.empty(), List.of(NvmetPort.tcp(3, "127.0.8.1", 4422))),
                freeBytes, roles, labels, id.startsWith("old") ? Set.of("transport:tcp")
                : id.startsWith("cl") ? withClone() : Placer.REQUIRED);
        return new NodeView(id, state, Optional.of(info), Optional.of(Instant.now()),
                new NodeView.Capacity(freeBytes, 0, freeBytes, freeBytes, 1, 0), controllerVolumes, controllerVolumes, anaGroups, 0, 0, List.of(),
                false, Set.of(), List.of());
    }

    private static Set<String> withClone() {
        Set<String> caps = new HashSet<>(Placer.REQUIRED);
        caps.add(Placer.DM_CLONE);
        return caps;
    }

    /**
     * A clone's hydrating active (the first) goes only to a node with dm-clone, whatever the
     * loads say; its other controllers and its sides anywhere. Without one up: refused, naming it.
     */
    @Test
    void aClonesHydratingActiveGoesOnlyToANodeWithDmClone() {
        List<NodeView> nodes = new ArrayList<>();
        for (int i = 1; i <= 4; i++) {
            nodes.add(node("n" + i, "UP", 1L << 30, Set.of("disk", "ctrl"), Map.of(), 0));
        }
        nodes.add(node("cl1", "UP", 1L << 30, Set.of("disk", "ctrl"), Map.of(), 40));
        nodes.add(node("cl2", "DOWN", 1L << 30, Set.of("disk", "ctrl"), Map.of(), 0));
        VolumeSpec spec = new VolumeSpec(64L << 20, 2, 1, 2, 2);
        Set<String> clone = Set.of(Placer.DM_CLONE);
        for (String v : List.of("a", "b", "c", "d")) {
            Placer.Choice c = Placer.choose(v, spec, VolumeLayout.of(spec), nodes, Set.of(), clone).choice().orElseThrow();
            assertEquals("cl1", c.controllers().get(0), "the most loaded node, the only one up with dm-clone");
            assertTrue(!c.controllers().subList(1, 3).contains("cl1"));
        }
        assertTrue(!Placer.choose("a", spec, VolumeLayout.of(spec), nodes).choice().orElseThrow().controllers().contains("cl1"),
                "a volume that is no clone goes to the least loaded nodes");

        Placer.Result refused = Placer.choose("a", spec, VolumeLayout.of(spec), nodes, Set.of("cl1"), clone);
        assertTrue(refused.choice().isEmpty());
        assertEquals("a clone's hydrating active needs a controller node with dm-clone (see docs/operations.md): 0 of the 4 "
                + "controller nodes up have it with an ANA group free; lacking it: n1, n2, n3, n4", refused.refusal());

        assertEquals(Optional.empty(), Placer.firstActiveRefusal("a", nodes, clone), "the API lets a clone through while cl1 is up");
        List<NodeView> without = nodes.stream().filter(n -> !n.id().equals("cl1")).toList();
        assertEquals(Optional.of("a clone's hydrating active needs a controller node with dm-clone (see docs/operations.md): 0 of the 4 "
                + "controller nodes up have it; lacking it: n1, n2, n3, n4"), Placer.firstActiveRefusal("a", without, clone),
                "and refuses it, naming what is missing, with none (cl2 is down)");
    }

    @Test
    void sidesOfAGroupAndControllersGoToDistinctNodesThatAreUp() {
        List<NodeView> nodes = new ArrayList<>();
        for (int i = 1; i <= 4; i++) {
            nodes.add(node("n" + i, "UP", 1L << 30, Set.of("disk", "ctrl"), Map.of(), 0));
        }
        nodes.add(node("down", "DOWN", 1L << 40, Set.of("disk", "ctrl"), Map.of(), 0));
        nodes.add(node("oldkernel", "UP", 1L << 40, Set.of("disk", "ctrl"), Map.of(), 0));
        VolumeSpec spec = new VolumeSpec(64L << 20, 2, 1, 4, 2);
        Placer.Choice c = Placer.choose("v", spec, VolumeLayout.of(spec), nodes).choice().orElseThrow();
        assertEquals(3, new HashSet<>(c.controllers()).size());
        assertTrue(!c.controllers().contains("down"));
        assertTrue(!c.controllers().contains("oldkernel"));
        for (List<String> sides : c.sides()) {
            assertEquals(2, new HashSet<>(sides).size());
            assertTrue(!sides.contains("down"));
            assertTrue(!sides.contains("oldkernel"), "a node without dm-raid and dm-thin-pool gets no side");
        }
    }

    @Test
    void aNodeStillRemovingAnEarlierVolumeOfTheSameNameIsNotChosenForIt() {
        List<NodeView> nodes = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            nodes.add(node("n" + i, "UP", 1L << 30, Set.of("disk", "ctrl"), Map.of(), 0));
        }
        NodeView n1 = nodes.get(0);
        nodes.set(0, new NodeView(n1.id(), n1.state(), n1.info(), n1.lastHeartbeat(), n1.capacity(), 0, 0, List.of(), 0, 0, List.of(),
                false, Set.of("v"), List.of()));
        VolumeSpec spec = new VolumeSpec(64L << 20, 1, 1, 1, 2);
        Placer.Choice c = Placer.choose("v", spec, VolumeLayout.of(spec), nodes).choice().orElseThrow();
        assertTrue(!c.controllers().contains("n1") && !c.sides().get(0).contains("n1"), c.toString());
        assertTrue(Placer.choose("w", spec, VolumeLayout.of(spec), nodes).choice().isPresent());
        spec = new VolumeSpec(64L << 20, 1, 1, 1, 3);
        assertTrue(Placer.choose("v", spec, VolumeLayout.of(spec), nodes).choice().isEmpty(), "three replicas need n1 too");
    }

    @Test
    void createsThatSeeTheSameLoadsSpreadTheirControllersOverEveryNode() {
        List<NodeView> nodes = new ArrayList<>();
        for (int i = 1; i <= 6; i++) {
            nodes.add(node("n" + i, "UP", 64L << 30, Set.of("disk", "ctrl"), Map.of(), 0));
        }
        VolumeSpec spec = new VolumeSpec(64L << 20, 1, 1, 4, 2);
        Map<String, Integer> active = new java.util.TreeMap<>();
        for (int v = 0; v < 120; v++) {
            Placer.Choice c = Placer.choose("bench-" + v, spec, VolumeLayout.of(spec), nodes).choice().orElseThrow();
            active.merge(c.controllers().get(0), 1, Integer::sum);
        }
        assertEquals(6, active.size(), "every node is the active controller of some: " + active);
        active.values().forEach(n -> assertTrue(n >= 10, "120 volumes over 6 nodes, none with fewer than 10: " + active));
    }

    @Test
    void aBurstThatSeesOneNodeWithAVolumeFewerStillSpreadsItsControllers() {
        List<NodeView> nodes = new ArrayList<>();
        for (int i = 1; i <= 6; i++) {
            nodes.add(node("n" + i, "UP", 64L << 30, Set.of("disk", "ctrl"), Map.of(), i == 5 ? 40 : 41));
        }
        VolumeSpec spec = new VolumeSpec(64L << 20, 1, 1, 4, 2);
        Map<String, Integer> controllers = new java.util.TreeMap<>();
        for (int v = 0; v < 200; v++) {
            Placer.choose("burst-" + v, spec, VolumeLayout.of(spec), nodes).choice().orElseThrow().controllers()
                    .forEach(n -> controllers.merge(n, 1, Integer::sum));
        }
        assertEquals(6, controllers.size(), "every node holds controllers of the burst: " + controllers);
        controllers.values().forEach(n -> assertTrue(n < 127 - 41, "no volume port runs out of ANA groups: " + controllers));
    }

    @Test
    void failureDomainsAreDistinctWhenNodesHaveThem() {
        List<NodeView> nodes = List.of(
                node("a1", "UP", 1L << 30, Set.of("disk", "ctrl"), Map.of(Placer.FAILURE_DOMAIN, "rack-a"), 0),
                node("a2", "UP", 2L << 30, Set.of("disk", "ctrl"), Map.of(Placer.FAILURE_DOMAIN, "rack-a"), 0),
                node("b1", "UP", 1L << 29, Set.of("disk"), Map.of(Placer.FAILURE_DOMAIN, "rack-b"), 0));
        VolumeSpec spec = new VolumeSpec(64L << 20, 1, 1, 1, 2);
        Placer.Choice c = Placer.choose("v", spec, VolumeLayout.of(spec), nodes).choice().orElseThrow();
        assertEquals(Set.of("a2", "b1"), Set.copyOf(c.sides().get(0)), "one side per rack, not both in rack-a");
    }

    @Test
    void aRefusalNamesWhatIsMissing() {
        List<NodeView> nodes = List.of(
                node("a1", "UP", 1L << 30, Set.of("disk", "ctrl"), Map.of(Placer.FAILURE_DOMAIN, "rack-a"), 0),
                node("a2", "UP", 1L << 30, Set.of("disk", "ctrl"), Map.of(Placer.FAILURE_DOMAIN, "rack-a"), 0));
        VolumeSpec spec = new VolumeSpec(64L << 20, 1, 1, 4, 2);
        Placer.Result r = Placer.choose("v", spec, VolumeLayout.of(spec), nodes);
        assertTrue(r.choice().isEmpty());
        assertEquals("needs 2 disk nodes in distinct failure domains with 23 MiB free for group 0 of leg 0, found 1", r.refusal());
        Placer.Result noControllers = Placer.choose("v", new VolumeSpec(64L << 20, 2, 1, 1, 1), VolumeLayout.of(spec), nodes);
        assertEquals("needs 3 controller nodes that are up, found 2 with an ANA group for their role (2 up)", noControllers.refusal());
    }

    /**
     * Groups are per failover domain, so the count of volumes on a node does not matter: a node
     * with thousands of controller volumes takes more. What can run out is groups for new
     * domains: a node whose volume port gave every usable group to other domains is chosen only
     * where its own domain's group is there already, rather than reserving extents for a create
     * that its ANA group request would then fail.
     */
    @Test
    void aControllerGoesWhereItsPortHasItsDomainsGroupOrAFreeOne() {
        List<NodeView.AnaGroup> full = new ArrayList<>();
        for (int g = AnaGroups.FIRST_CREATED; g <= AnaGroups.LAST_USABLE; g++) {
            full.add(new NodeView.AnaGroup(3, g, AnaGroups.standbyOf(List.of("x" + g)), 20));
        }
        List<NodeView.AnaGroup> fullWithActive = new ArrayList<>(full);
        fullWithActive.set(0, new NodeView.AnaGroup(3, AnaGroups.FIRST_CREATED, AnaGroups.ACTIVE, 1500));
        List<NodeView> nodes = new ArrayList<>();
        nodes.add(node("n1", "UP", 64L << 30, Set.of("disk", "ctrl"), Map.of(), 0, full));
        nodes.add(node("n2", "UP", 64L << 30, Set.of("disk", "ctrl"), Map.of(), 0, fullWithActive));
        nodes.add(node("n3", "UP", 64L << 30, Set.of("disk", "ctrl"), Map.of(), 3000));
        VolumeSpec spec = new VolumeSpec(64L << 20, 1, 1, 1, 2);
        int sidesOnN1 = 0;
        for (int v = 0; v < 50; v++) {
            Placer.Choice c = Placer.choose("v" + v, spec, VolumeLayout.of(spec), nodes).choice().orElseThrow();
            assertTrue(!c.controllers().contains("n1"), "n1 has no group for an active, nor for a standby of n2 or n3: " + c);
            assertEquals(Set.of("n2", "n3"), Set.copyOf(c.controllers()));
            sidesOnN1 += (int) c.sides().stream().filter(sides -> sides.contains("n1")).count();
        }
        assertTrue(sidesOnN1 > 0, "n1 still takes raid1 sides");
    }

    /**
     * A failover's new standby: a controller node that is up, holds none of the volume's other
     * controllers, did not fail under it, and has a group for the standby's domain.
     */
    @Test
    void aNewStandbyGoesToAnotherUpNodeWithAGroupForItsDomain() {
        String domain = AnaGroups.standbyOf(List.of("n2"));
        List<NodeView.AnaGroup> full = new ArrayList<>();
        for (int g = AnaGroups.FIRST_CREATED; g <= AnaGroups.LAST_USABLE; g++) {
            full.add(new NodeView.AnaGroup(3, g, "standby-of:x" + g, 1));
        }
        List<NodeView> nodes = List.of(node("n1", "UP", 1L << 30, Set.of("disk", "ctrl"), Map.of(), 0),
                node("n2", "UP", 1L << 30, Set.of("disk", "ctrl"), Map.of(), 0),
                node("n3", "DOWN", 1L << 30, Set.of("disk", "ctrl"), Map.of(), 0),
                node("n4", "UP", 1L << 30, Set.of("disk"), Map.of(), 0),
                node("n5", "UP", 1L << 30, Set.of("disk", "ctrl"), Map.of(), 0, full),
                node("n6", "UP", 1L << 30, Set.of("disk", "ctrl"), Map.of(), 0),
                node("n7", "UP", 1L << 30, Set.of("disk", "ctrl"), Map.of(), 40));
        Placer.Result r = Placer.chooseStandby("v", domain, Set.of("n1", "n2"), Set.of("n6"), nodes);
        assertEquals(List.of("n7"), r.choice().orElseThrow().controllers(),
                "n1, n2 hold controllers, n3 is down, n4 no controller node, n5 has no group left, n6 failed under the volume");
        assertEquals(List.of(), r.choice().orElseThrow().sides());
        Placer.Result none = Placer.chooseStandby("v", domain, Set.of("n1", "n2", "n7"), Set.of("n6"), nodes);
        assertTrue(none.choice().isEmpty());
        assertTrue(none.refusal().contains(domain) && none.refusal().contains("n6"), none.refusal());
    }
}
