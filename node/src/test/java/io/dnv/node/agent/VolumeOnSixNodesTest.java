package io.dnv.node.agent;

import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The whole data path of one volume on six simulated storage servers, driven only by the
 * agents and the planner's desired state: build, write through a host, read back from the
 * volume and from both raid1 sides, restart the agents (zero mutations), power-cycle every
 * node (bytes back), delete (nothing left), and recreate on the same extents (zeros only).
 */
class VolumeOnSixNodesTest {

    private static final String HOST_NQN = "nqn.2014-08.org.nvmexpress:uuid:6f1c0a52-8d2e-4b7a-9d55-1f5b9f2d7e01";
    private static final long DISK_BYTES = 256L << 20;
    private static final VolumeSpec SPEC = new VolumeSpec(64L << 20, 1, 1, 4, 2);

    @TempDir
    Path dataDir;

    private final ActorTestKit testKit = ActorTestKit.create("VolumeOnSixNodesTest");
    private final Fabric fabric = new Fabric();
    private final Map<String, NodeEndpoints> nodes = Fixtures.sixNodes();
    private final Map<String, SimulatedKernel> kernels = new LinkedHashMap<>();
    private final Agents agents = new Agents(testKit);

    @AfterEach
    void shutdown() {
        testKit.shutdownTestKit();
        kernels.values().forEach(SimulatedKernel::shutdown);
    }

    @Test
    void buildWriteRestartPowerCycleDeleteAndRecreate() throws Exception {
        for (NodeEndpoints n : nodes.values()) {
            kernels.put(n.nodeId(), new SimulatedKernel(n.address(), fabric)
                    .addDisk(n.diskPath().orElseThrow(), dataDir.resolve(n.nodeId() + ".disk"), DISK_BYTES));
        }
        SimulatedKernel host = new SimulatedKernel("127.0.2.1", fabric);
        kernels.put("host", host);
        VolumeLayout layout = VolumeLayout.of(SPEC);
        Placement brandNew = Fixtures.placement(SPEC, layout, true);

        startAgents();
        converge(desired("vol1", layout, brandNew, 1));

        byte[] pattern = new byte[8 << 20];
        new Random(42).nextBytes(pattern);
        long offset = 3L << 20;
        List<String> paths = connectHost(host, "vol1");
        try (SimulatedKernel.Handle volume = host.open(head(host, "vol1"))) {
            assertEquals(layout.usableBytes(), volume.sizeBytes());
            volume.write(offset, pattern);
            assertArrayEquals(pattern, read(volume, offset, pattern.length), "host reads back what it wrote");
        }
        try (SimulatedKernel.Handle stripe = kernels.get("n1").open("/dev/mapper/" + Names.volume("n1", "vol1"))) {
            assertArrayEquals(pattern, read(stripe, offset, pattern.length), "the active controller's stripe holds it");
        }
        assertBothSidesHoldEveryChunk(layout, brandNew, pattern);

        // The control plane persists that the groups were created: brand new no longer.
        Placement created = Fixtures.placement(SPEC, layout, false);
        converge(desired("vol1", layout, created, 2));

        Map<String, CountingKernel> counted = startAgents();
        converge(desired("vol1", layout, created, 2));
        counted.forEach((node, k) -> assertEquals(0, k.mutations(), node + " re-adopted its kernel without touching it"));

        disconnectHost(host, paths);
        kernels.values().forEach(SimulatedKernel::powerCycle);
        startAgents();
        converge(desired("vol1", layout, created, 3));
        paths = connectHost(host, "vol1");
        try (SimulatedKernel.Handle volume = host.open(head(host, "vol1"))) {
            assertArrayEquals(pattern, read(volume, offset, pattern.length), "bytes survive a power cycle of every node");
        }
        disconnectHost(host, paths);

        converge(empty(4));
        for (Map.Entry<String, SimulatedKernel> k : kernels.entrySet()) {
            assertNothingWithThePrefix(k.getKey(), k.getValue().observe());
        }

        // A new volume on the very same extents: a partial write provisions a thin block without
        // zeroing it (skip_block_zeroing), so only the agent's zeroing of released extents keeps
        // vol1's bytes from showing.
        converge(desired("vol2", layout, brandNew, 5));
        paths = connectHost(host, "vol2");
        try (SimulatedKernel.Handle volume = host.open(head(host, "vol2"))) {
            byte[] small = new byte[4096];
            Arrays.fill(small, (byte) 0x5a);
            volume.write(offset, small);
            byte[] around = read(volume, offset - (1 << 20), 3 << 20);
            for (int i = 0; i < around.length; i++) {
                boolean written = i >= (1 << 20) && i < (1 << 20) + small.length;
                if (around[i] != (written ? (byte) 0x5a : 0)) {
                    fail("byte " + i + " of the new volume is " + around[i] + ": another volume's old data");
                }
            }
        }
        disconnectHost(host, paths);
    }

    private Map<String, CountingKernel> startAgents() {
        Map<String, CountingKernel> counted = new LinkedHashMap<>();
        Map<String, java.util.Optional<String>> disks = new LinkedHashMap<>();
        for (String node : nodes.keySet()) {
            counted.put(node, new CountingKernel(kernels.get(node)));
            disks.put(node, nodes.get(node).diskPath());
        }
        agents.start(counted, disks);
        return counted;
    }

    private void converge(Map<String, DesiredNode> desired) {
        agents.converge(desired);
    }

    private Map<String, DesiredNode> desired(String volumeId, VolumeLayout layout, Placement placement, long generation) {
        return Fixtures.desired(nodes, volumeId, SPEC, placement, List.of(HOST_NQN), generation);
    }

    private Map<String, DesiredNode> empty(long generation) {
        return Fixtures.empty(nodes, generation);
    }

    /** The host connects to every controller of the volume, as native multipath wants. */
    private List<String> connectHost(SimulatedKernel host, String volumeId) {
        List<String> controllers = new ArrayList<>();
        for (String node : List.of("n1", "n2")) {
            NodeEndpoints n = nodes.get(node);
            controllers.add(host.nvmeConnect(new NvmeConnection("tcp", n.address(), n.port(Fixtures.VOLUME_PORT).serviceId(),
                    Names.volumeNqn(volumeId), HOST_NQN, Names.hostId(HOST_NQN), new ConnectTimeouts(5, 10, 1, 2))));
        }
        return controllers;
    }

    private static void disconnectHost(SimulatedKernel host, List<String> controllers) {
        controllers.forEach(host::nvmeDisconnect);
    }

    private static String head(SimulatedKernel host, String volumeId) {
        UUID uuid = Names.namespaceUuid(Names.volumeNqn(volumeId));
        return host.observe().namespace(uuid).orElseThrow(() -> new AssertionError("no head for " + volumeId)).path();
    }

    /**
     * Every 16 KiB stripe chunk of the pattern is somewhere in the thin data of a leg, and the
     * two raid1 sides of that leg's group (LDs on two disk nodes) hold identical bytes.
     */
    private void assertBothSidesHoldEveryChunk(VolumeLayout layout, Placement placement, byte[] pattern) throws Exception {
        int chunk = VolumeLayout.STRIPE_CHUNK_SECTORS * 512;
        List<byte[]> sideZero = new ArrayList<>();
        for (int leg = 0; leg < SPEC.legCount(); leg++) {
            Placement.Group g = placement.legs().get(leg).groups().get(0);
            byte[] a = readLd(g.sides().get(0), layout, leg, 0);
            byte[] b = readLd(g.sides().get(1), layout, leg, 1);
            // Each side's raid1 metadata names its own member index; the data areas must match.
            int data = (int) (VolumeLayout.RAID_META_SECTORS * 512);
            assertTrue(Arrays.equals(a, data, a.length, b, data, b.length), "both raid1 sides of leg " + leg + " hold the same data");
            sideZero.add(a);
        }
        long thinDataStart = (VolumeLayout.RAID_META_SECTORS + layout.thinMetaSectors()) * 512;
        for (int c = 0; c < pattern.length / chunk; c++) {
            byte[] want = Arrays.copyOfRange(pattern, c * chunk, (c + 1) * chunk);
            boolean found = false;
            for (byte[] ld : sideZero) {
                for (long at = thinDataStart; at + chunk <= ld.length && !found; at += chunk) {
                    found = Arrays.equals(ld, (int) at, (int) at + chunk, want, 0, chunk);
                }
            }
            assertTrue(found, "chunk " + c + " of the pattern is on a raid1 side");
        }
    }

    private byte[] readLd(Placement.Extent e, VolumeLayout layout, int leg, int side) throws Exception {
        try (SimulatedKernel.Handle ld = kernels.get(e.nodeId()).open("/dev/mapper/" + Names.ld(e.nodeId(), "vol1", leg, 0, side))) {
            return read(ld, 0, (int) (layout.ldSectors() * 512));
        }
    }

    private static byte[] read(SimulatedKernel.Handle h, long offset, int length) throws Exception {
        byte[] buf = new byte[length];
        h.read(offset, buf);
        return buf;
    }

    private static void assertNothingWithThePrefix(String node, ObservedKernel k) {
        assertEquals(List.of(), k.dnvObjects(), node + " still holds objects of dnv");
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
