package io.dnv.node.agent;

import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.node.ToAgent;
import io.dnv.core.plan.Fixtures;
import io.dnv.core.plan.CloneSource;
import io.dnv.core.plan.DesiredNodes;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.plan.Planner;
import io.dnv.core.plan.SnapshotExport;
import io.dnv.core.kernel.DmTableParser;
import io.dnv.core.kernel.DmTarget;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The orders a snapshot gives the agents ({@link OrderWorker}), on six simulated storage
 * servers holding a volume with two actives as the planner builds it and a host attached to
 * it: a hold stops the host's writes until released (a pass meanwhile leaves the held stripe
 * suspended), the legs' thins are snapshotted under it, and the snapshot holds the bytes of
 * its moment. A kernel refusal at any step, a hold past its bound and a worker that stops
 * leave nothing suspended.
 */
class SnapshotOrdersTest {

    private static final String HOST_NQN = "nqn.2014-08.org.nvmexpress:uuid:4f1e2d3c-5b6a-4798-8a9b-0c1d2e3f4a5b";
    private static final VolumeSpec SPEC = new VolumeSpec(64L << 20, 2, 1, 2, 2);
    private static final String VOL = "vol1";
    private static final String TOKEN = "vol1.1";
    private static final String CLONE = "cl1";
    /** Larger than the source, so its volume device maps the clone, then the rest of its stripe. */
    private static final VolumeSpec CLONE_SPEC = new VolumeSpec(80L << 20, 1, 1, 2, 2);
    private static final Duration ANSWER = Duration.ofSeconds(10);

    @TempDir
    Path dataDir;

    private final ActorTestKit testKit = ActorTestKit.create("SnapshotOrdersTest");
    private final Fabric fabric = new Fabric();
    private final Map<String, NodeEndpoints> nodes = Fixtures.sixNodes();
    private final Map<String, SimulatedKernel> kernels = new LinkedHashMap<>();
    private final Map<String, CountingKernel> counted = new LinkedHashMap<>();
    private final Map<String, ActorRef<OrderWorker.Command>> workers = new LinkedHashMap<>();
    private final Agents agents = new Agents(testKit);
    private final Placement placement = Fixtures.placement(SPEC, VolumeLayout.of(SPEC), false);
    private SimulatedKernel host;
    private long generation;

    @BeforeEach
    void volumeWithAHost() {
        for (NodeEndpoints n : nodes.values()) {
            kernels.put(n.nodeId(), new SimulatedKernel(n.address(), fabric)
                    .addDisk(n.diskPath().orElseThrow(), dataDir.resolve(n.nodeId() + ".disk"), 256L << 20));
            counted.put(n.nodeId(), new CountingKernel(kernels.get(n.nodeId())));
        }
        agents.start(counted, disks());
        converge(Fixtures.placement(SPEC, VolumeLayout.of(SPEC), true));
        converge(placement);
        for (String node : counted.keySet()) {
            workers.put(node, testKit.spawn(OrderWorker.create(counted.get(node), agents.held.get(node)), "orders-" + node,
                    DispatcherSelector.blocking()));
        }
        host = new SimulatedKernel("127.0.2.1", fabric);
        for (String node : List.of("n1", "n2", "n3")) {
            NodeEndpoints n = nodes.get(node);
            host.nvmeConnect(new NvmeConnection("tcp", n.address(), n.port(Fixtures.VOLUME_PORT).serviceId(),
                    Names.volumeNqn(VOL), HOST_NQN, Names.hostId(HOST_NQN), new ConnectTimeouts(5, 10, 1, 2)));
        }
    }

    @AfterEach
    void shutdown() {
        testKit.shutdownTestKit();
        kernels.values().forEach(SimulatedKernel::shutdown);
        if (host != null) {
            host.shutdown();
        }
    }

    @Test
    void aHoldStopsTheHostsWritesAndTheSnapshotUnderItKeepsTheBytesOfItsMoment() throws Exception {
        byte[] before = random(1, 2 << 20);
        byte[] after = random(2, 2 << 20);
        try (SimulatedKernel.Handle volume = host.open(head())) {
            volume.write(0, before);
            Map<String, String> holds = holdStripes(5_000);
            assertSuspended(true, "n1", Names.volume("n1", VOL));
            assertSuspended(true, "n2", Names.volume("n2", VOL));
            CompletableFuture<Void> write = CompletableFuture.runAsync(() -> {
                try {
                    volume.write(0, after);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            sleep(300);
            assertFalse(write.isDone(), "the host's write waits while every stripe is held");
            // An agent started again looks at everything: a device left suspended is resumed, a held one is not.
            agents.start(counted, disks());
            converge(placement);
            assertSuspended(true, "n1", Names.volume("n1", VOL));
            assertSuspended(true, "n2", Names.volume("n2", VOL));
            assertTrue(agents.held.get("n1").contains(Names.volume("n1", VOL)));

            for (String owner : List.of("n1", "n2")) {
                assertEquals(Optional.empty(), order(owner, r -> new ToAgent.SnapThins(TOKEN, holds.get(owner), snaps(owner), r)).refusal());
                assertEquals(Optional.empty(), order(owner, r -> new ToAgent.SnapThins(TOKEN, holds.get(owner), snaps(owner), r)).refusal(),
                        "a snapshot that exists is done");
            }
            for (String n : List.of("n1", "n2")) {
                ToAgent.OrderDone released = order(n, r -> new ToAgent.ReleaseIo(TOKEN, holds.get(n), r));
                assertTrue(released.intact(), n + " held without a break");
                assertTrue(released.heldMicros() >= 300_000, "held at least as long as the host waited: " + released.heldMicros());
                assertTrue(order(n, r -> new ToAgent.ReleaseIo(TOKEN, holds.get(n), r)).intact(), "asked again, the same answer");
            }
            write.get(10, TimeUnit.SECONDS);
            assertNothingSuspended();
            assertArrayEquals(after, read(volume, 0, after.length));
        }
        assertArrayEquals(before, snapshotBytes(1, 0, before.length), "the snapshot holds the bytes of its moment");
    }

    /**
     * A snapshot exported to another node (a clone's active): it imports every leg's snapshot
     * over NVMe-oF and reads the volume as it was, while the host overwrites the origin; once the
     * export is no longer wanted, the snapshot thins and the imports go and the snapshot stays.
     */
    @Test
    void aSnapshotExportedToAnotherNodeReadsTheBytesOfItsMomentWhileTheOriginChanges() throws Exception {
        byte[] before = random(3, 2 << 20);
        byte[] after = random(4, 2 << 20);
        try (SimulatedKernel.Handle volume = host.open(head())) {
            volume.write(0, before);
            Map<String, String> holds = holdStripes(5_000);
            for (String owner : List.of("n1", "n2")) {
                assertEquals(Optional.empty(), order(owner, r -> new ToAgent.SnapThins(TOKEN, holds.get(owner), snaps(owner), r)).refusal());
            }
            for (String n : List.of("n1", "n2")) {
                assertTrue(order(n, r -> new ToAgent.ReleaseIo(TOKEN, holds.get(n), r)).intact());
            }
            volume.write(0, after);

            converge(placement, List.of(new SnapshotExport(1, VolumeLayout.of(SPEC).legSectors(), List.of("n5"))));
            assertArrayEquals(before, importedSnapshotBytes("n5", 1, before.length), "the import reads the snapshot's moment");
            volume.write(0, random(5, 2 << 20));
            assertArrayEquals(before, importedSnapshotBytes("n5", 1, before.length), "whatever the origin gets meanwhile");
            assertTrue(kernels.get("n4").observe().namespace(Names.namespaceUuid(Names.snapshotLegNqn(VOL, 1, 0))).isEmpty(),
                    "exported to the importer only");

            converge(placement);
            for (String n : nodes.keySet()) {
                assertTrue(kernels.get(n).observe().dmDevices().stream().noneMatch(d -> d.name().contains("-snapx-")), n);
                assertTrue(kernels.get(n).observe().namespace(Names.namespaceUuid(Names.snapshotLegNqn(VOL, 1, 0))).isEmpty(), n);
            }
        }
        assertArrayEquals(before, snapshotBytes(1, 0, before.length), "the snapshot stays in the pools");
    }

    /**
     * A clone of a snapshot (picture 150) on the same six servers: its first active imports the
     * snapshot's legs, stripes them as the source does and builds its volume over a dm-clone of
     * them onto its own stripe. A host reads the source's moment through it at once and writes to
     * it while it hydrates and the source's host overwrites the origin; hydrated, the clone is
     * swapped for the plain stripe while the host writes on, and the imports and the export go.
     * The clone then holds the snapshot's bytes with the host's writes over them.
     */
    @Test
    void aCloneOfTheSnapshotReadsItsMomentAtOnceHydratesAndIsSwappedForItsStripeUnderHostIo() throws Exception {
        byte[] before = random(6, 2 << 20);
        byte[] mine = random(7, 64 << 10);
        try (SimulatedKernel.Handle volume = host.open(head())) {
            volume.write(0, before);
            Map<String, String> holds = holdStripes(5_000);
            for (String owner : List.of("n1", "n2")) {
                assertEquals(Optional.empty(), order(owner, r -> new ToAgent.SnapThins(TOKEN, holds.get(owner), snaps(owner), r)).refusal());
            }
            for (String n : List.of("n1", "n2")) {
                assertTrue(order(n, r -> new ToAgent.ReleaseIo(TOKEN, holds.get(n), r)).intact());
            }
            List<SnapshotExport> export = List.of(new SnapshotExport(1, VolumeLayout.of(SPEC).legSectors(), List.of("n5")));
            Optional<CloneSource> source = Optional.of(new CloneSource(VOL, 1, SPEC.legCount(), VolumeLayout.of(SPEC).legSectors()));
            convergeWithClone(clonePlacement(true), export, source);
            convergeWithClone(clonePlacement(false), export, source);
            NodeEndpoints n5 = nodes.get("n5");
            host.nvmeConnect(new NvmeConnection("tcp", n5.address(), n5.port(Fixtures.VOLUME_PORT).serviceId(),
                    Names.volumeNqn(CLONE), HOST_NQN, Names.hostId(HOST_NQN), new ConnectTimeouts(5, 10, 1, 2)));
            try (SimulatedKernel.Handle clone = host.open(head(CLONE))) {
                assertEquals(VolumeLayout.of(CLONE_SPEC).usableBytes(), clone.sizeBytes());
                volume.write(0, random(8, 2 << 20));
                assertArrayEquals(before, read(clone, 0, before.length), "the clone reads the snapshot's moment");
                clone.write(1 << 20, mine);
                assertArrayEquals(mine, read(clone, 1 << 20, mine.length), "and is written at once");
                assertArrayEquals(new byte[1 << 20], read(clone, (64L << 20), 1 << 20), "past the source: the clone's own zeroes");
                awaitHydrated("n5", Names.volume("n5", CLONE));

                byte[] expected = before.clone();
                System.arraycopy(mine, 0, expected, 1 << 20, mine.length);
                CompletableFuture<Void> writes = CompletableFuture.runAsync(() -> {
                    try {
                        for (int i = 0; i < 64; i++) {
                            clone.write((4L << 20) + i * 4096L, random(100 + i, 4096));
                        }
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                convergeWithClone(clonePlacement(false), List.of(), Optional.empty());
                writes.get(30, TimeUnit.SECONDS);
                String live = kernels.get("n5").observe().dmDevices().stream().filter(d -> d.name().equals(Names.volume("n5", CLONE)))
                        .findFirst().orElseThrow().table();
                DmTarget swapped = DmTableParser.parse(live).lines().get(0).target();
                assertTrue(swapped instanceof DmTarget.Raid0 r && r.devices().size() == CLONE_SPEC.legCount()
                        && DmTableParser.parse(live).lines().size() == 1, "swapped for the plain stripe: " + live);
                List<String> hydrating = List.of(Names.cloneSource("n5", CLONE), Names.cloneDestination("n5", CLONE),
                        Names.cloneMetadata("n5", CLONE));
                assertTrue(kernels.get("n5").observe().dmDevices().stream().noneMatch(d -> hydrating.contains(d.name())),
                        "no clone device left: " + kernels.get("n5").observe().dmDevices());
                assertTrue(kernels.get("n5").observe().namespace(Names.namespaceUuid(Names.snapshotLegNqn(VOL, 1, 0))).isEmpty(),
                        "the snapshot's import went");
                assertEquals(Optional.empty(), order("n5", r -> new ToAgent.DeleteThins(List.of(new ToAgent.PoolThin(
                        Names.pool("n5", CLONE, 0), io.dnv.core.volume.Snapshot.CLONE_METADATA_THIN_ID)), r)).refusal(),
                        "the clone's metadata thin goes from the pool");
                assertArrayEquals(expected, read(clone, 0, expected.length), "the snapshot's bytes with the host's write over them");
                for (int i = 0; i < 64; i++) {
                    assertArrayEquals(random(100 + i, 4096), read(clone, (4L << 20) + i * 4096L, 4096), "write " + i + " across the swap");
                }
            }
        }
        assertArrayEquals(before, snapshotBytes(1, 0, before.length), "the source's snapshot is untouched");
    }

    @Test
    void aRefusalAtEveryStepLeavesNothingSuspended() {
        // hold: the second active's suspend refused; the first's hold is released by the undo
        counted.get("n2").refuseOnce("dm suspend", Names.volume("n2", VOL));
        String n1Hold = order("n1", r -> new ToAgent.HoldIo(TOKEN, List.of(Names.volume("n1", VOL)), 5_000, r)).holdId();
        assertTrue(order("n2", r -> new ToAgent.HoldIo(TOKEN, List.of(Names.volume("n2", VOL)), 5_000, r)).refusal().isPresent());
        assertSuspended(false, "n2", Names.volume("n2", VOL));
        assertTrue(order("n1", r -> new ToAgent.ReleaseIo(TOKEN, "", r)).refusal().isEmpty());
        assertEquals(n1Hold.isEmpty(), false);
        assertNothingSuspended();

        // snap: create_snap refused in the pool of leg 1; leg 0's thin was taken and is deleted by the undo
        Map<String, String> holds = holdStripes(5_000);
        counted.get("n1").refuseOnce("dm message", Names.pool("n1", VOL, 1) + " create_snap");
        ToAgent.OrderDone refused = order("n1", r -> new ToAgent.SnapThins(TOKEN, holds.get("n1"), snaps("n1"), r));
        assertTrue(refused.refusal().orElseThrow().contains("injected"), refused.toString());
        assertSuspended(false, "n1", Names.thin("n1", VOL, 0));
        assertSuspended(false, "n1", Names.thin("n1", VOL, 1));
        assertSuspended(true, "n1", Names.volume("n1", VOL));
        assertTrue(order("n1", r -> new ToAgent.SnapThins(TOKEN, "not-the-hold", snaps("n1"), r)).refusal().orElseThrow()
                .contains("not in force"), "only under its own hold");
        for (String n : List.of("n1", "n2")) {
            order(n, r -> new ToAgent.ReleaseIo(TOKEN, "", r));
        }
        assertEquals(Optional.empty(), order("n1", r -> new ToAgent.DeleteThins(List.of(new ToAgent.PoolThin(Names.pool("n1", VOL, 0), 1),
                new ToAgent.PoolThin(Names.pool("n1", VOL, 1), 1)), r)).refusal(), "one there and one never made: both done");
        assertNothingSuspended();

        // release: the kernel refuses a stripe's resume once; the worker resumes it shortly after
        Map<String, String> again = holdStripes(5_000);
        counted.get("n1").refuseOnce("dm resume", Names.volume("n1", VOL));
        assertTrue(order("n1", r -> new ToAgent.ReleaseIo(TOKEN, again.get("n1"), r)).intact());
        order("n2", r -> new ToAgent.ReleaseIo(TOKEN, again.get("n2"), r));
        awaitNothingSuspended();
        assertEquals(0, counted.get("n1").refusalsLeft());
    }

    @Test
    void aHoldEndsAtItsBoundAndAWorkerThatStopsResumesWhatItHeld() {
        String stripe = Names.volume("n1", VOL);
        String lapsing = order("n1", r -> new ToAgent.HoldIo(TOKEN, List.of(stripe), 300, r)).holdId();
        assertSuspended(true, "n1", stripe);
        awaitNothingSuspended();
        assertFalse(order("n1", r -> new ToAgent.ReleaseIo(TOKEN, lapsing, r)).intact(), "a lapsed hold is not intact");
        assertTrue(order("n1", r -> new ToAgent.SnapThins(TOKEN, lapsing, snaps("n1"), r)).refusal().isPresent(),
                "nothing is snapshotted under a lapsed hold");

        order("n1", r -> new ToAgent.HoldIo("vol1.2", List.of(stripe), 60_000, r));
        assertSuspended(true, "n1", stripe);
        testKit.stop(workers.get("n1"));
        assertSuspended(false, "n1", stripe);
        assertFalse(agents.held.get("n1").contains(stripe));
    }

    private Map<String, Optional<String>> disks() {
        Map<String, Optional<String>> disks = new LinkedHashMap<>();
        nodes.values().forEach(n -> disks.put(n.nodeId(), n.diskPath()));
        return disks;
    }

    private Map<String, String> holdStripes(long boundMillis) {
        Map<String, String> holds = new LinkedHashMap<>();
        for (String n : List.of("n1", "n2")) {
            ToAgent.OrderDone done = order(n, r -> new ToAgent.HoldIo(TOKEN, List.of(Names.volume(n, VOL)), boundMillis, r));
            assertEquals(Optional.empty(), done.refusal());
            holds.put(n, done.holdId());
        }
        return holds;
    }

    /** The snapshot of every leg {@code owner} owns, thin 1 of thin 0. */
    private List<ToAgent.ThinSnap> snaps(String owner) {
        List<ToAgent.ThinSnap> out = new ArrayList<>();
        for (int leg = 0; leg < SPEC.legCount(); leg++) {
            if (placement.owner(leg, SPEC).nodeId().equals(owner)) {
                out.add(new ToAgent.ThinSnap(Names.pool(owner, VOL, leg), Names.thin(owner, VOL, leg), 0, 1));
            }
        }
        return out;
    }

    private ToAgent.OrderDone order(String node, java.util.function.Function<ActorRef<ToAgent.OrderDone>, ToAgent.Order> order) {
        TestProbe<ToAgent.OrderDone> probe = testKit.createTestProbe();
        workers.get(node).tell(new OrderWorker.Carry(order.apply(probe.ref())));
        return probe.receiveMessage(ANSWER);
    }

    /** The volume's bytes in snapshot {@code thinId}: each leg's snapshot thin activated on its owner, chunks in stripe order. */
    private byte[] snapshotBytes(int thinId, long offset, int length) throws Exception {
        long legSectors = VolumeLayout.of(SPEC).legSectors();
        List<byte[]> legs = new ArrayList<>();
        for (int leg = 0; leg < SPEC.legCount(); leg++) {
            String owner = placement.owner(leg, SPEC).nodeId();
            SimulatedKernel k = kernels.get(owner);
            k.dmCreate("snapread-" + leg, "0 " + legSectors + " thin /dev/mapper/" + Names.pool(owner, VOL, leg) + " " + thinId);
            try (SimulatedKernel.Handle h = k.open("/dev/mapper/snapread-" + leg)) {
                legs.add(read(h, 0, (int) (legSectors * 512)));
            } finally {
                k.dmRemove("snapread-" + leg);
            }
        }
        return striped(legs, offset, length);
    }

    /** The volume's bytes from its legs' bytes: 16 KiB chunks in leg order. */
    private static byte[] striped(List<byte[]> legs, long offset, int length) {
        long chunk = VolumeLayout.STRIPE_CHUNK_SECTORS * 512L;
        byte[] out = new byte[length];
        for (int done = 0; done < length; done += (int) chunk) {
            long c = (offset + done) / chunk;
            System.arraycopy(legs.get((int) (c % legs.size())), (int) ((c / legs.size()) * chunk), out, done, (int) chunk);
        }
        return out;
    }

    /** The volume's bytes in snapshot {@code thinId} as {@code importer} reads its imports of the snapshot's legs. */
    private byte[] importedSnapshotBytes(String importer, int thinId, int length) throws Exception {
        SimulatedKernel k = kernels.get(importer);
        List<byte[]> legs = new ArrayList<>();
        for (int leg = 0; leg < SPEC.legCount(); leg++) {
            UUID uuid = Names.namespaceUuid(Names.snapshotLegNqn(VOL, thinId, leg));
            String path = k.observe().namespace(uuid).orElseThrow(() -> new AssertionError(importer + " has no import of the snapshot"))
                    .path();
            try (SimulatedKernel.Handle h = k.open(path)) {
                legs.add(read(h, 0, (int) (VolumeLayout.of(SPEC).legSectors() * 512)));
            }
        }
        return striped(legs, 0, length);
    }

    private void converge(Placement p) {
        converge(p, List.of());
    }

    private void converge(Placement p, List<SnapshotExport> exports) {
        Map<String, DesiredNode> desired = Fixtures.desired(nodes, VOL, SPEC, VolumeLayout.of(SPEC), p, List.of(HOST_NQN), exports,
                ++generation);
        agents.converge(desired);
    }

    private String head() {
        return head(VOL);
    }

    private String head(String volumeId) {
        UUID uuid = Names.namespaceUuid(Names.volumeNqn(volumeId));
        return host.observe().namespace(uuid).orElseThrow(() -> new AssertionError("no head of " + volumeId)).path();
    }

    /** The clone: its active on n5 (beside no controller of the source), its standby on n6, its LDs past the source's on the disks. */
    private static Placement clonePlacement(boolean brandNew) {
        long ld = VolumeLayout.of(CLONE_SPEC).ldSectors();
        long start = (128L << 20) / 512;
        List<Placement.Leg> legs = List.of(
                new Placement.Leg(List.of(new Placement.Group(brandNew, List.of(new Placement.Extent("n3", start, ld),
                        new Placement.Extent("n4", start, ld)), 0, 0))),
                new Placement.Leg(List.of(new Placement.Group(brandNew, List.of(new Placement.Extent("n5", start, ld),
                        new Placement.Extent("n6", start, ld)), 0, 0))));
        return new Placement(List.of(new Placement.Controller("n5", Placement.Role.ACTIVE, Fixtures.VOLUME_PORT, 2),
                new Placement.Controller("n6", Placement.Role.STANDBY, Fixtures.VOLUME_PORT, 2)), legs);
    }

    /** The source volume with {@code exports} and the clone (hydrating from {@code source}, if given) on every node at once. */
    private void convergeWithClone(Placement clone, List<SnapshotExport> exports, Optional<CloneSource> source) {
        Map<String, NodeObjects> origin = Planner.plan(VOL, SPEC, VolumeLayout.of(SPEC), placement, List.of(HOST_NQN), nodes, exports);
        Map<String, NodeObjects> cloned = Planner.plan(CLONE, CLONE_SPEC, VolumeLayout.of(CLONE_SPEC), clone, List.of(HOST_NQN), nodes,
                List.of(), source);
        generation++;
        Map<String, DesiredNode> desired = new LinkedHashMap<>();
        for (NodeEndpoints n : nodes.values()) {
            List<NodeObjects> both = new ArrayList<>();
            java.util.stream.Stream.of(origin, cloned).filter(m -> m.containsKey(n.nodeId())).forEach(m -> both.add(m.get(n.nodeId())));
            desired.put(n.nodeId(), DesiredNodes.assemble(n, generation, both));
        }
        agents.converge(desired);
    }

    /** Waits until dm-clone's status says every region of {@code device} is hydrated. */
    private void awaitHydrated(String node, String device) {
        java.util.regex.Pattern regions = java.util.regex.Pattern.compile(" " + CloneSource.REGION_SECTORS + " (\\d+)/(\\d+) ");
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        String status = "";
        while (System.nanoTime() < deadline) {
            status = kernels.get(node).dmStatus(device).orElseThrow();
            java.util.regex.Matcher m = regions.matcher(status);
            if (m.find() && m.group(1).equals(m.group(2))) {
                return;
            }
            sleep(50);
        }
        fail(device + " not hydrated within 30 s: " + status);
    }

    private void assertSuspended(boolean suspended, String node, String dm) {
        ObservedKernel.Dm d = kernels.get(node).observe().dmDevices().stream().filter(x -> x.name().equals(dm)).findFirst().orElseThrow();
        assertEquals(suspended, d.suspended(), node + " " + dm + (suspended ? " held" : " not held"));
    }

    private void assertNothingSuspended() {
        kernels.forEach((node, k) -> k.observe().dmDevices().stream().filter(ObservedKernel.Dm::suspended)
                .forEach(d -> fail(node + " left " + d.name() + " suspended")));
    }

    private void awaitNothingSuspended() {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (kernels.values().stream().anyMatch(k -> k.observe().dmDevices().stream().anyMatch(ObservedKernel.Dm::suspended))) {
            if (System.nanoTime() > deadline) {
                assertNothingSuspended();
            }
            sleep(20);
        }
    }

    private static byte[] read(SimulatedKernel.Handle h, long offset, int length) throws Exception {
        byte[] buf = new byte[length];
        h.read(offset, buf);
        return buf;
    }

    private static byte[] random(int seed, int length) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
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
