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
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * An extend's three growing stages (docs/flows.md, Extend) on six simulated storage servers, as
 * the ExtendVolume operation hands them to the agents, with a host attached to every controller
 * of a volume with two actives (so leg exports grow and revalidate too). A kernel refusal is
 * injected into each stage: the pass fails, the next one finishes, and after every stage no
 * device is left suspended. The host reads what it wrote before, sees the new size, and writes
 * and reads the new range.
 */
class ExtendOnSixNodesTest {

    private static final String HOST_NQN = "nqn.2014-08.org.nvmexpress:uuid:0b6c2d43-7e1f-4a58-9c3d-2e4f5a6b7c8d";
    private static final long DISK_BYTES = 256L << 20;
    private static final VolumeSpec FROM = new VolumeSpec(64L << 20, 2, 1, 2, 2);
    private static final VolumeSpec TO = new VolumeSpec(160L << 20, 2, 1, 2, 2);
    private static final long NEW_GROUPS_START = (128L << 20) / 512;

    @TempDir
    Path dataDir;

    private final ActorTestKit testKit = ActorTestKit.create("ExtendOnSixNodesTest");
    private final Fabric fabric = new Fabric();
    private final Map<String, NodeEndpoints> nodes = Fixtures.sixNodes();
    private final Map<String, SimulatedKernel> kernels = new LinkedHashMap<>();
    private final Agents agents = new Agents(testKit);
    private Map<String, CountingKernel> counted;

    @AfterEach
    void shutdown() {
        testKit.shutdownTestKit();
        kernels.values().forEach(SimulatedKernel::shutdown);
    }

    @Test
    void everyStageSurvivesAnInjectedRefusalAndTheHostSeesTheNewSizeWithItsBytes() throws Exception {
        for (NodeEndpoints n : nodes.values()) {
            kernels.put(n.nodeId(), new SimulatedKernel(n.address(), fabric)
                    .addDisk(n.diskPath().orElseThrow(), dataDir.resolve(n.nodeId() + ".disk"), DISK_BYTES));
        }
        SimulatedKernel host = new SimulatedKernel("127.0.2.1", fabric);
        VolumeLayout from = VolumeLayout.of(FROM);
        VolumeLayout to = VolumeLayout.of(TO);
        startAgents();
        converge(desired(from, Fixtures.placement(FROM, from, true), 1));
        Placement created = Fixtures.placement(FROM, from, false);
        converge(desired(from, created, 2));

        connectHost(host);
        byte[] before = new byte[6 << 20];
        new Random(130).nextBytes(before);
        long lastOldMiB = from.usableBytes() - (1 << 20);
        try (SimulatedKernel.Handle volume = host.open(head(host))) {
            assertEquals(from.usableBytes(), volume.sizeBytes());
            volume.write(1 << 20, before);
            volume.write(lastOldMiB, slice(before, 0, 1 << 20));
        }

        // build: the new groups beside the pools; the first raid1 create is refused once
        Placement built = withNewGroups(created, from, to, true);
        counted.get("n1").refuseOnce("dm create", Names.raid1("n1", "vol1", 0, 1));
        converge(desired(from, built, 3));
        assertNothingSuspended("build");
        assertEquals(from.usableBytes(), headSize(host), "the host's size does not move while the groups are built");

        // legs: a pool's resume and a leg export's revalidation refused once
        Placement grown = withNewGroups(created, from, to, false);
        counted.get("n1").refuseOnce("dm resume", Names.pool("n1", "vol1", 0));
        counted.get("n1").refuseOnce("revalidate", Names.legNqn("vol1", 1));
        converge(desired(to.withStripeOf(from), grown, 4));
        assertNothingSuspended("legs");

        // stripes: the second active's stripe resume and the first's revalidation refused once
        counted.get("n2").refuseOnce("dm resume", Names.volume("n2", "vol1"));
        counted.get("n1").refuseOnce("revalidate", Names.volumeNqn("vol1"));
        converge(desired(to, grown, 5));
        assertNothingSuspended("stripes");

        awaitHeadSize(host, to.usableBytes());
        try (SimulatedKernel.Handle volume = host.open(head(host))) {
            assertArrayEquals(before, read(volume, 1 << 20, before.length), "what was written before reads back unchanged");
            assertArrayEquals(slice(before, 0, 1 << 20), read(volume, lastOldMiB, 1 << 20));
            byte[] after = new byte[4 << 20];
            new Random(131).nextBytes(after);
            long newRange = to.usableBytes() - after.length;
            volume.write(newRange, after);
            volume.write(from.usableBytes(), slice(after, 0, 1 << 20));
            assertArrayEquals(after, read(volume, newRange, after.length), "the new range is writable");
            assertArrayEquals(slice(after, 0, 1 << 20), read(volume, from.usableBytes(), 1 << 20));
        }
        // A second active serves the same bytes: its stripe grew over the leg exports.
        try (SimulatedKernel.Handle stripe = kernels.get("n2").open("/dev/mapper/" + Names.volume("n2", "vol1"))) {
            assertEquals(to.usableBytes(), stripe.sizeBytes());
            assertArrayEquals(before, read(stripe, 1 << 20, before.length));
        }
        assertEquals(to.stripeSectors(), tableLength("n3", Names.volume("n3", "vol1")), "the standby's error device grew too");

        // Restarted agents find the grown volume in place and change nothing.
        startAgents();
        converge(desired(to, grown, 5));
        counted.forEach((node, k) -> assertEquals(0, k.mutations(), node + " re-adopted the grown volume without touching it"));
    }

    /** Every leg with one more group on extents of its own, sized for the growth from {@code from} to {@code to}. */
    private static Placement withNewGroups(Placement p, VolumeLayout from, VolumeLayout to, boolean brandNew) {
        VolumeLayout.GroupSize size = VolumeLayout.growth(from, to);
        long[] nextFree = new long[7];
        List<Placement.Leg> legs = new ArrayList<>();
        for (int leg = 0; leg < p.legs().size(); leg++) {
            List<Placement.Extent> sides = new ArrayList<>();
            for (int s = 0; s < 2; s++) {
                int node = (leg * 2 + s + 1) % 6 + 1;
                sides.add(new Placement.Extent("n" + node, NEW_GROUPS_START + nextFree[node], size.ldSectors()));
                nextFree[node] += size.ldSectors();
            }
            Placement.Group first = p.legs().get(leg).groups().get(0);
            legs.add(new Placement.Leg(List.of(first.sized(first.size(from)),
                    new Placement.Group(brandNew, sides, size.thinMetaSectors(), size.thinDataSectors()))));
        }
        return new Placement(p.controllers(), legs);
    }

    private void startAgents() {
        counted = new LinkedHashMap<>();
        Map<String, java.util.Optional<String>> disks = new LinkedHashMap<>();
        for (String node : nodes.keySet()) {
            counted.put(node, new CountingKernel(kernels.get(node)));
            disks.put(node, nodes.get(node).diskPath());
        }
        agents.start(counted, disks);
    }

    private void converge(Map<String, DesiredNode> desired) {
        agents.converge(desired);
    }

    private Map<String, DesiredNode> desired(VolumeLayout layout, Placement placement, long generation) {
        return Fixtures.desired(nodes, "vol1", FROM, layout, placement, List.of(HOST_NQN), generation);
    }

    /** The length of a device's (single-line) live table, in sectors. */
    private long tableLength(String node, String dm) {
        String table = kernels.get(node).observe().dmDevices().stream().filter(d -> d.name().equals(dm)).findFirst().orElseThrow().table();
        return Long.parseLong(table.split(" ")[1]);
    }

    private void assertNothingSuspended(String stage) {
        counted.forEach((node, k) -> assertEquals(0, k.refusalsLeft(), "every refusal injected into " + stage + " on " + node + " was met"));
        kernels.forEach((node, k) -> k.observe().dmDevices().stream().filter(ObservedKernel.Dm::suspended)
                .forEach(d -> fail("after the " + stage + " stage " + node + " left " + d.name() + " suspended")));
    }

    private void connectHost(SimulatedKernel host) {
        for (String node : List.of("n1", "n2", "n3")) {
            NodeEndpoints n = nodes.get(node);
            host.nvmeConnect(new NvmeConnection("tcp", n.address(), n.port(Fixtures.VOLUME_PORT).serviceId(),
                    Names.volumeNqn("vol1"), HOST_NQN, Names.hostId(HOST_NQN), new ConnectTimeouts(5, 10, 1, 2)));
        }
    }

    private static String head(SimulatedKernel host) {
        UUID uuid = Names.namespaceUuid(Names.volumeNqn("vol1"));
        return host.observe().namespace(uuid).orElseThrow(() -> new AssertionError("no head")).path();
    }

    private static long headSize(SimulatedKernel host) throws Exception {
        try (SimulatedKernel.Handle h = host.open(head(host))) {
            return h.sizeBytes();
        }
    }

    private static void awaitHeadSize(SimulatedKernel host, long bytes) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (headSize(host) != bytes) {
            if (System.nanoTime() > deadline) {
                fail("the host still sees " + headSize(host) + " bytes, not " + bytes);
            }
            sleep(20);
        }
    }

    private static byte[] slice(byte[] b, int from, int length) {
        return java.util.Arrays.copyOfRange(b, from, from + length);
    }

    private static byte[] read(SimulatedKernel.Handle h, long offset, int length) throws Exception {
        byte[] buf = new byte[length];
        h.read(offset, buf);
        return buf;
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
