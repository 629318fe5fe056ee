package io.dnv.node.member;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.node.ToAgent;
import io.dnv.core.node.ZeroingProgress;
import io.dnv.core.plan.DesiredNodes;
import io.dnv.core.plan.Fixtures;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.plan.Planner;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** A node's pushed desired state: whole volumes, created ones folded in place, and Syncs that must match. */
class PushedVolumesTest {

    private static final VolumeSpec SPEC = new VolumeSpec(64L << 20, 1, 1, 4, 2);
    private static final Map<String, NodeEndpoints> NODES = Fixtures.sixNodes();
    private static final NodeEndpoints N1 = NODES.get("n1");
    private static final NodeObjects BRAND_NEW = objects("v1", true);
    /** The volume port: an object of every volume with a controller on the node. */
    private static final String SHARED_PORT = BRAND_NEW.names().stream()
            .filter(n -> n.startsWith("port ") && !n.contains("ana group")).findFirst().orElseThrow();

    private static NodeObjects objects(String volume, boolean brandNew) {
        VolumeLayout layout = VolumeLayout.of(SPEC);
        return Planner.plan(volume, SPEC, layout, Fixtures.placement(SPEC, layout, brandNew), List.of(), NODES).get("n1");
    }

    @Test
    void aVolumeToldCreatedIsAssembledAsThePlannerPlansItOnceCreated() {
        PushedVolumes pushed = new PushedVolumes();
        pushed.put(new ToAgent.PutVolume("v1", BRAND_NEW, 3));
        pushed.created(new ToAgent.VolumeCreated("v1", 3, 7));

        Optional<DesiredNode> desired = pushed.sync(new ToAgent.Sync(7, N1, Map.of("v1", 7L)));
        assertNotEquals(BRAND_NEW, objects("v1", false), "brand-new objects carry preparations");
        assertEquals(Optional.of(DesiredNodes.assemble(N1, 7, List.of(objects("v1", false)))), desired);
    }

    @Test
    void createdForAVersionThisNodeDoesNotHoldIsIgnoredAndTheSyncWaitsForAResend() {
        PushedVolumes pushed = new PushedVolumes();
        pushed.put(new ToAgent.PutVolume("v1", BRAND_NEW, 3));
        pushed.created(new ToAgent.VolumeCreated("v1", 2, 7));
        pushed.created(new ToAgent.VolumeCreated("v2", 3, 7));

        assertEquals(Optional.empty(), pushed.sync(new ToAgent.Sync(7, N1, Map.of("v1", 7L))), "v1 is still at version 3 here");

        pushed.put(new ToAgent.PutVolume("v1", objects("v1", false), 7));
        assertEquals(Optional.of(DesiredNodes.assemble(N1, 7, List.of(objects("v1", false)))),
                pushed.sync(new ToAgent.Sync(7, N1, Map.of("v1", 7L))));
    }

    /** What a heartbeat says instead of the pass's unsettled names: the volumes they belong to. */
    @Test
    void unsettledObjectsAreToldAsTheVolumesThatHaveThem() {
        PushedVolumes pushed = new PushedVolumes();
        pushed.put(new ToAgent.PutVolume("v1", BRAND_NEW, 3));
        pushed.put(new ToAgent.PutVolume("v2", objects("v2", true), 4));
        String v2Device = objects("v2", true).dmDevices().get(0).name();

        assertEquals(Set.of(), pushed.volumesWithAny(Set.of()));
        assertEquals(Set.of(), pushed.volumesWithAny(Set.of("dnv-n1-somebody-else")));
        assertEquals(Set.of("v2"), pushed.volumesWithAny(Set.of(v2Device, "dnv-n1-somebody-else")));
        assertEquals(Set.of("v1", "v2"), pushed.volumesWithAny(Set.of(SHARED_PORT)), "a volume port is every volume's object on it");
    }

    @Test
    void aSyncDropsTheVolumesItDoesNotName() {
        PushedVolumes pushed = new PushedVolumes();
        pushed.put(new ToAgent.PutVolume("v1", BRAND_NEW, 3));
        pushed.put(new ToAgent.PutVolume("v2", objects("v2", true), 4));

        assertEquals(Optional.of(DesiredNodes.assemble(N1, 5, List.of(objects("v2", true)))),
                pushed.sync(new ToAgent.Sync(5, N1, Map.of("v2", 4L))));
        assertEquals(1, pushed.size());
        assertEquals(Set.of("v2"), pushed.volumesWithAny(Set.of(SHARED_PORT)), "v1's objects left with it");
    }

    /** A volume pushed again holds the new objects' names only. */
    @Test
    void aVolumePushedAgainIsToldByItsNewObjectsOnly() {
        PushedVolumes pushed = new PushedVolumes();
        pushed.put(new ToAgent.PutVolume("v2", objects("v2", true), 4));
        String v2Device = objects("v2", true).dmDevices().get(0).name();
        pushed.put(new ToAgent.PutVolume("v2", BRAND_NEW, 5));
        assertEquals(Set.of(), pushed.volumesWithAny(Set.of(v2Device)));
        assertEquals(Set.of("v2"), pushed.volumesWithAny(Set.of(BRAND_NEW.dmDevices().get(0).name())));
    }

    /** What a heartbeat says of removals: volumes not held any more whose dm devices of this node are still in the kernel. */
    @Test
    void leftoversAreVolumesNotHeldWithADmDeviceOfThisNodeStillInTheKernel() {
        PushedVolumes pushed = new PushedVolumes();
        pushed.put(new ToAgent.PutVolume("v1", BRAND_NEW, 3));
        io.dnv.core.kernel.ObservedKernel observed = new io.dnv.core.kernel.ObservedKernel(List.of(
                dm(io.dnv.core.kernel.Names.thin("n1", "v1", 0)), dm(io.dnv.core.kernel.Names.ld("n1", "gone-1", 0, 0, 1)),
                dm(io.dnv.core.kernel.Names.ld("n2", "other-node", 0, 0, 1)), dm("vg0-root")), List.of(), List.of(), List.of(), List.of(),
                List.of(), "");
        assertEquals(Set.of("gone-1"), pushed.leftovers("n1", observed, List.of()));
    }

    /**
     * A released LD whose device a power cycle took, not all zero yet, keeps its volume a leftover
     * as its device did: the control plane must not hand its extent on while old bytes are there.
     */
    @Test
    void leftoversAreAlsoVolumesNotHeldWithAReleasedLdOfThisNodeStillBeingZeroed() {
        PushedVolumes pushed = new PushedVolumes();
        pushed.put(new ToAgent.PutVolume("v1", BRAND_NEW, 3));
        io.dnv.core.kernel.ObservedKernel empty = new io.dnv.core.kernel.ObservedKernel(List.of(), List.of(), List.of(), List.of(),
                List.of(), List.of(), "");
        List<ZeroingProgress> zeroing = List.of(
                new ZeroingProgress(io.dnv.core.kernel.Names.ld("n1", "gone-1", 0, 0, 1), 256L << 20, 1L << 30),
                new ZeroingProgress(io.dnv.core.kernel.Names.ld("n1", "v1", 0, 0, 1), 0, 1L << 30),
                new ZeroingProgress(io.dnv.core.kernel.Names.ld("n2", "other-node", 0, 0, 1), 0, 1L << 30));
        assertEquals(Set.of("gone-1"), pushed.leftovers("n1", empty, zeroing));
        assertEquals(Set.of(), pushed.leftovers("n1", empty, List.of()));
    }

    private static io.dnv.core.kernel.ObservedKernel.Dm dm(String name) {
        return new io.dnv.core.kernel.ObservedKernel.Dm(name, "253:0", "0 8 zero", "0 8 zero", false, 0);
    }
}
