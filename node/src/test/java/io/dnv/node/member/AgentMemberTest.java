package io.dnv.node.member;

import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.DeviceRef;
import io.dnv.core.kernel.DmDevice;
import io.dnv.core.kernel.DmTable;
import io.dnv.core.kernel.DmTarget;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.node.NodeInfo;
import io.dnv.core.node.StorageNode;
import io.dnv.core.node.ToAgent;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.plan.Witnesses;
import io.dnv.core.kernel.NvmetSubsystem;
import io.dnv.node.agent.NodeAgent;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The member's side of a storage node: heartbeats to its entity, whatever its agent is doing. */
class AgentMemberTest {

    private static final String ADDRESS = "127.0.4.1";
    private static final long MIB = 1L << 20;
    private static final NodeEndpoints N1 = new NodeEndpoints("n1", ADDRESS, Optional.of("/dev/ram0"),
            Optional.of(NvmetPort.tcp(1, ADDRESS, 4420)), Optional.empty(), List.of());
    private static final NodeInfo INFO = new NodeInfo(N1, 8L << 20, Set.of("disk"), Map.of(), Set.of());

    @TempDir
    Path dir;

    private final ActorTestKit testKit = ActorTestKit.create("AgentMemberTest");
    private final List<CountDownLatch> held = new ArrayList<>();
    private SimulatedKernel simulated;

    @AfterEach
    void shutdown() {
        held.forEach(CountDownLatch::countDown);
        testKit.shutdownTestKit();
        if (simulated != null) {
            simulated.shutdown();
        }
    }

    /**
     * A pass can take a minute (zeroing a large LD): the member keeps saying the node is alive
     * at the usual pace all the while, or the control plane would take the node for dead.
     */
    @Test
    void heartbeatsKeepTheirPaceWhileAPassWaitsOnTheKernel() throws Exception {
        TroubledKernel kernel = new TroubledKernel(simulatedKernel());
        CountDownLatch release = kernel.hold("nvmetPortCreate");
        held.add(release);
        TestProbe<StorageNode.Command> entity = testKit.createTestProbe();
        testKit.spawn(AgentMember.create(INFO, kernel.kernel(), NodeAgent.Settings.DEFAULT, entity.ref()));

        ActorRef<ToAgent> inbox = heartbeat(entity, h -> true).agent();
        inbox.tell(new ToAgent.Sync(1, N1, Map.of()));
        assertTrue(kernel.entered("nvmetPortCreate").await(10, TimeUnit.SECONDS), "the pass reached the port");
        for (int i = 0; i < 4; i++) {
            entity.expectMessageClass(StorageNode.Heartbeat.class, AgentMember.HEARTBEAT.multipliedBy(2));
        }

        release.countDown();
        heartbeat(entity, h -> h.reached() == 1);
    }

    /**
     * A pass that throws (the parser met a line it does not know) restarts the agent after a
     * backoff; its member hands it the desired state again, and once the cause is gone a pass
     * converges. The member heartbeats all along.
     */
    @Test
    void anAgentWhosePassThrewStartsAgainAndConvergesOnceTheCauseIsGone() {
        TroubledKernel kernel = new TroubledKernel(simulatedKernel());
        kernel.fail("observe", new IllegalStateException("dm status line the parser does not know"));
        TestProbe<StorageNode.Command> entity = testKit.createTestProbe();
        testKit.spawn(AgentMember.create(INFO, kernel.kernel(), NodeAgent.Settings.DEFAULT, entity.ref()));

        heartbeat(entity, h -> true).agent().tell(new ToAgent.Sync(1, N1, Map.of()));
        entity.awaitAssert(Duration.ofSeconds(10), () -> {
            assertTrue(kernel.calls("observe") >= 3, "passes after the first one threw: " + kernel.calls("observe"));
            return null;
        });
        heartbeat(entity, h -> true);

        kernel.heal("observe");
        heartbeat(entity, h -> h.reached() == 1);
    }

    /**
     * A pass the kernel refused many times over (a burst of creates leaves hundreds of imports
     * not allowed yet) is named in the heartbeat by its first failures and how many more: every
     * heartbeat carries them, and one over Artery's frame is dropped whole.
     */
    @Test
    void aHeartbeatNamesTheFirstFailuresAndHowManyMore() {
        TroubledKernel kernel = new TroubledKernel(simulatedKernel());
        kernel.fail("dmCreate", new io.dnv.node.kernel.KernelException("dm", "create", "Device or resource busy"));
        TestProbe<StorageNode.Command> entity = testKit.createTestProbe();
        testKit.spawn(AgentMember.create(INFO, kernel.kernel(), NodeAgent.Settings.DEFAULT, entity.ref()));
        List<DmDevice> lds = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            lds.add(new DmDevice(Names.ld("n1", "v1", 0, i, 0), DmTable.of(8, new DmTarget.Linear(new DeviceRef.Disk("/dev/ram0"), 8L * i))));
        }
        ActorRef<ToAgent> inbox = heartbeat(entity, h -> true).agent();
        inbox.tell(new ToAgent.PutVolume("v1", new NodeObjects(lds, List.of(), List.of(), List.of()), 1));
        inbox.tell(new ToAgent.Sync(1, N1, Map.of("v1", 1L)));

        List<String> failures = heartbeat(entity, h -> h.passGeneration() == 1).failures();
        assertEquals(AgentMember.HEARTBEAT_FAILURES + 1, failures.size(), failures.toString());
        assertTrue(failures.get(0).contains("Device or resource busy"), failures.get(0));
        assertEquals("and " + (30 - AgentMember.HEARTBEAT_FAILURES) + " more", failures.get(failures.size() - 1));
    }

    /**
     * Desired state that does not assemble (an ANA group on a port the node does not have)
     * throws in the member: it starts again after a backoff, heartbeats, and converges to the
     * next push, which the control plane sends whole to a member that holds nothing.
     */
    @Test
    void aMemberWhosePushDidNotAssembleStartsAgainAndTakesTheNextPush() {
        TroubledKernel kernel = new TroubledKernel(simulatedKernel());
        TestProbe<StorageNode.Command> entity = testKit.createTestProbe();
        testKit.spawn(AgentMember.create(INFO, kernel.kernel(), NodeAgent.Settings.DEFAULT, entity.ref()));

        ActorRef<ToAgent> inbox = heartbeat(entity, h -> true).agent();
        NodeObjects onMissingPort = new NodeObjects(List.of(), List.of(), List.of(),
                List.of(new NodeObjects.AnaGroup(9, 2, AnaState.OPTIMIZED)));
        inbox.tell(new ToAgent.PutVolume("v1", onMissingPort, 1));
        inbox.tell(new ToAgent.Sync(1, N1, Map.of("v1", 1L)));
        entity.receiveSeveralMessages(3, Duration.ofSeconds(10));

        NodeObjects nothing = new NodeObjects(List.of(), List.of(), List.of(), List.of());
        ActorRef<ToAgent> restarted = heartbeat(entity, h -> true).agent();
        restarted.tell(new ToAgent.PutVolume("v1", nothing, 2));
        restarted.tell(new ToAgent.Sync(2, N1, Map.of("v1", 2L)));
        heartbeat(entity, h -> h.reached() == 2);
    }

    /**
     * A node's kernel power-cycled while its agent zeroes a released LD (1 GiB, 400 ms for each
     * 256 MiB): the LD's device is gone, but its volume stays among the heartbeat's leftovers, so
     * the control plane keeps the extent reserved, until every byte of the extent is zero.
     */
    @Test
    void aReleasedLdLostInAPowerCycleStaysALeftoverUntilItsExtentIsZero() throws Exception {
        long extentStart = 256 * MIB;
        long ldBytes = 1024 * MIB;
        TroubledKernel kernel = new TroubledKernel(simulatedKernel(2048 * MIB));
        TestProbe<StorageNode.Command> entity = testKit.createTestProbe();
        testKit.spawn(AgentMember.create(INFO, kernel.kernel(), NodeAgent.Settings.DEFAULT.withStateDirectory(dir.resolve("agent")),
                entity.ref()));
        DmDevice ld = new DmDevice(Names.ld("n1", "gone", 0, 0, 0),
                DmTable.of(ldBytes / 512, new DmTarget.Linear(new DeviceRef.Disk("/dev/ram0"), extentStart / 512)));
        ActorRef<ToAgent> inbox = heartbeat(entity, h -> true).agent();
        inbox.tell(new ToAgent.PutVolume("gone", new NodeObjects(List.of(ld), List.of(), List.of(), List.of()), 1));
        inbox.tell(new ToAgent.Sync(1, N1, Map.of("gone", 1L)));
        heartbeat(entity, h -> h.reached() == 1);
        long[] written = {0, 600 * MIB, ldBytes - MIB};
        byte[] tenant = new byte[(int) MIB];
        Arrays.fill(tenant, (byte) 0x3c);
        try (SimulatedKernel.Handle h = simulated.open("/dev/mapper/" + ld.name())) {
            for (long at : written) {
                h.write(at, tenant);
            }
        }

        kernel.slow("zeroOut", Duration.ofMillis(400));
        inbox.tell(new ToAgent.Sync(2, N1, Map.of()));
        heartbeat(entity, h -> h.zeroing().stream().anyMatch(z -> z.doneBytes() > 0 && !z.done()));
        simulated.powerCycle();

        StorageNode.Heartbeat released = heartbeat(entity, h -> {
            if (h.leftoverVolumes().contains("gone")) {
                return false;
            }
            assertEquals(List.of(), oldBytes(extentStart, written), "no leftover any more while the extent held old bytes");
            return true;
        });
        assertEquals(List.of(), released.zeroing());
    }

    /**
     * A peer's kernel powers off: the node's witness import of it (keep-alive 1 s) reads down in
     * the heartbeat a keep-alive or so later, while the agent's pass is stuck on the kernel (on a
     * node with thousands of objects a pass takes seconds): the witness watcher reads it apart.
     */
    @Test
    void aPeersCrashShowsInTheHeartbeatThroughItsWitnessWhileAPassIsStuck() throws Exception {
        String peerAddress = "127.0.4.2";
        NodeEndpoints n2 = new NodeEndpoints("n2", peerAddress, Optional.empty(), Optional.of(NvmetPort.tcp(1, peerAddress, 4420)),
                Optional.empty(), List.of());
        Map<String, NodeObjects> witnesses = Witnesses.plan(List.of(N1, n2));
        Fabric fabric = new Fabric();
        simulated = new SimulatedKernel(ADDRESS, fabric).addDisk("/dev/ram0", dir.resolve("d0"), 8 * MIB);
        SimulatedKernel peer = new SimulatedKernel(peerAddress, fabric);
        try {
            // The peer exports its witness as its agent would.
            NvmetSubsystem export = witnesses.get("n2").subsystems().get(0);
            peer.nvmetPortCreate(n2.witnessPort().orElseThrow());
            peer.nvmetSubsystemCreate(export.nqn(), export.cntlidMin(), export.cntlidMax(), export.serial());
            peer.nvmetHostCreate(Names.hostNqn("n1"));
            peer.nvmetAllowHost(export.nqn(), Names.hostNqn("n1"));
            peer.nvmetLink(1, export.nqn());

            TroubledKernel kernel = new TroubledKernel(simulated);
            TestProbe<StorageNode.Command> entity = testKit.createTestProbe();
            testKit.spawn(AgentMember.create(INFO, kernel.kernel(), NodeAgent.Settings.DEFAULT, entity.ref()));
            ActorRef<ToAgent> inbox = heartbeat(entity, h -> true).agent();
            inbox.tell(new ToAgent.Sync(1, N1, Map.of(), List.of(), witnesses.get("n1")));
            heartbeat(entity, h -> h.reached() == 1 && witness(h, peerAddress).witnessLive() == 1);

            // The pass for the new generation reads the kernel whole (the pass before owes its look)
            // or starts from the look the pass before ended with and reads the host side again: it
            // is held there.
            held.add(kernel.hold("observe"));
            held.add(kernel.hold("observeHost"));
            inbox.tell(new ToAgent.Sync(2, N1, Map.of(), List.of(), witnesses.get("n1")));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (kernel.entered("observe").getCount() > 0 && kernel.entered("observeHost").getCount() > 0) {
                assertTrue(System.nanoTime() < deadline, "a pass is stuck in its look at the kernel");
                Thread.sleep(10);
            }
            long off = System.nanoTime();
            peer.powerOff();
            StorageNode.Heartbeat down = heartbeat(entity, h -> witness(h, peerAddress).witnessDown() == 1);
            System.out.printf("TIME peer's kernel off -> its witness import down in the heartbeat %d ms%n",
                    (System.nanoTime() - off) / 1_000_000);
            assertEquals(1, down.passGeneration(), "no pass reported meanwhile: the watcher read it");
            assertEquals(new StorageNode.Imports(0, 1, 0, 1), witness(down, peerAddress));
        } finally {
            peer.shutdown();
        }
    }

    /**
     * A node whose witness imports all read down is likelier the one cut off than every peer it
     * witnesses gone: its heartbeat says nothing of them (after a partition heals, its word would
     * have a live peer failed over). One peer gone while another reads live is said as before.
     */
    @Test
    void aNodeCutOffFromEveryPeerItWitnessesSaysNothingOfThemAndOnePeerGoneIsSaid() throws Exception {
        List<NodeEndpoints> peers = new ArrayList<>();
        for (String id : List.of("n2", "n3")) {
            String address = "127.0.4." + id.substring(1);
            peers.add(new NodeEndpoints(id, address, Optional.empty(), Optional.of(NvmetPort.tcp(1, address, 4420)), Optional.empty(),
                    List.of()));
        }
        List<NodeEndpoints> all = new ArrayList<>(List.of(N1));
        all.addAll(peers);
        Map<String, NodeObjects> witnesses = Witnesses.plan(all);
        Fabric fabric = new Fabric();
        simulated = new SimulatedKernel(ADDRESS, fabric).addDisk("/dev/ram0", dir.resolve("d0"), 8 * MIB);
        List<SimulatedKernel> peerKernels = new ArrayList<>();
        try {
            for (NodeEndpoints p : peers) {
                peerKernels.add(exportWitness(new SimulatedKernel(p.address(), fabric), p, witnesses.get(p.nodeId())));
            }
            TestProbe<StorageNode.Command> entity = testKit.createTestProbe();
            testKit.spawn(AgentMember.create(INFO, simulated, NodeAgent.Settings.DEFAULT, entity.ref()));
            ActorRef<ToAgent> inbox = heartbeat(entity, h -> true).agent();
            inbox.tell(new ToAgent.Sync(1, N1, Map.of(), List.of(), witnesses.get("n1")));
            heartbeat(entity, h -> peers.stream().allMatch(p -> witness(h, p.address()).witnessLive() == 1));

            fabric.partition(ADDRESS);
            long cut = System.nanoTime();
            // Keep-alive 1 s: both imports read down within 1.5 s, each on its own timer, so for a
            // moment one may be down and the other still live (that one is said). Once both read
            // down, the heartbeats until three seconds after the cut say nothing of them.
            while (System.nanoTime() - cut < TimeUnit.SECONDS.toNanos(3)) {
                boolean bothDown = simulated.observeHost().controllers().stream().filter(c -> Names.isWitnessNqn(c.subsystemNqn()))
                        .noneMatch(c -> c.state().equals("live"));
                StorageNode.Heartbeat h = heartbeat(entity, x -> true);
                for (NodeEndpoints p : peers) {
                    if (!bothDown) {
                        continue;
                    }
                    assertEquals(0, witness(h, p.address()).witnessDown(), "n1, cut off, said " + p.nodeId() + " is down");
                }
            }
            assertTrue(simulated.observeHost().controllers().stream().filter(c -> Names.isWitnessNqn(c.subsystemNqn()))
                    .noneMatch(c -> c.state().equals("live")), "the witness imports did not go down");

            fabric.rejoin(ADDRESS);
            heartbeat(entity, h -> peers.stream().allMatch(p -> witness(h, p.address()).witnessLive() == 1));
            peerKernels.get(0).powerOff();
            StorageNode.Heartbeat down = heartbeat(entity, h -> witness(h, peers.get(0).address()).witnessDown() == 1);
            assertEquals(1, witness(down, peers.get(1).address()).witnessLive(), "the other peer's witness");
        } finally {
            peerKernels.forEach(SimulatedKernel::shutdown);
        }
    }

    /** The peer exports its witness as its agent would. */
    private static SimulatedKernel exportWitness(SimulatedKernel peer, NodeEndpoints endpoints, NodeObjects objects) {
        NvmetSubsystem export = objects.subsystems().get(0);
        peer.nvmetPortCreate(endpoints.witnessPort().orElseThrow());
        peer.nvmetSubsystemCreate(export.nqn(), export.cntlidMin(), export.cntlidMax(), export.serial());
        for (String host : export.allowedHosts()) {
            peer.nvmetHostCreate(host);
            peer.nvmetAllowHost(export.nqn(), host);
        }
        peer.nvmetLink(endpoints.witnessPort().orElseThrow().id(), export.nqn());
        return peer;
    }

    private static StorageNode.Imports witness(StorageNode.Heartbeat h, String address) {
        return h.imports().getOrDefault(address, new StorageNode.Imports(0, 0));
    }

    /** The MiB at each offset of the extent that still holds something other than zeroes, as "at N MiB". */
    private List<String> oldBytes(long extentStart, long[] offsets) {
        List<String> old = new ArrayList<>();
        byte[] buf = new byte[(int) MIB];
        try (SimulatedKernel.Handle disk = simulated.open("/dev/ram0")) {
            for (long at : offsets) {
                disk.read(extentStart + at, buf);
                if (!Arrays.equals(new byte[(int) MIB], buf)) {
                    old.add("at " + at / MIB + " MiB");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return old;
    }

    private SimulatedKernel simulatedKernel() {
        return simulatedKernel(8 * MIB);
    }

    private SimulatedKernel simulatedKernel(long diskBytes) {
        simulated = new SimulatedKernel(ADDRESS, new Fabric()).addDisk("/dev/ram0", dir.resolve("d0"), diskBytes);
        return simulated;
    }

    /** The first heartbeat (within 20 s) that {@code wanted} accepts. */
    private static StorageNode.Heartbeat heartbeat(TestProbe<StorageNode.Command> entity, Predicate<StorageNode.Heartbeat> wanted) {
        List<StorageNode.Command> fished = entity.fishForMessage(Duration.ofSeconds(20),
                m -> m instanceof StorageNode.Heartbeat h && wanted.test(h) ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());
        return (StorageNode.Heartbeat) fished.get(fished.size() - 1);
    }
}
