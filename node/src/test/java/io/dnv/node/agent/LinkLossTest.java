package io.dnv.node.agent;

import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.plan.Fixtures;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A volume on controller node n1 whose one raid1 group has its sides on disk nodes n2 and n3,
 * and links that go: n1's own (both sides at once) must fail nothing, and leaves n1 serving
 * nothing until it is given its desired state again (it may have been failed over meanwhile); a
 * disk node's must degrade the group within seconds, and the side must come back whole when the
 * link does.
 */
class LinkLossTest {

    private static final String HOST_NQN = "nqn.2014-08.org.nvmexpress:uuid:5a0e2c1d-7b3f-4e8a-9c6d-2f1e0d3c4b5a";
    private static final String VOLUME = "links";
    private static final int MIB = 1 << 20;
    private static final VolumeSpec SPEC = new VolumeSpec(16L * MIB, 1, 0, 1, 2);

    @TempDir
    Path dataDir;

    private final ActorTestKit testKit = ActorTestKit.create("LinkLossTest");
    private final Fabric fabric = new Fabric();
    private final Map<String, NodeEndpoints> nodes = new LinkedHashMap<>();
    private final Map<String, SimulatedKernel> kernels = new LinkedHashMap<>();
    private final Agents agents = new Agents(testKit);
    private SimulatedKernel host;
    /** n1's kernel as its agent and side watcher see it. */
    private CountingKernel n1;
    private SimulatedKernel.Handle volume;
    private Map<String, DesiredNode> desired;

    /** Each test on kernels and agents of its own: the tests run two at a time (they mostly wait out an outage). */
    @BeforeEach
    void volumeOnN1WithSidesOnN2AndN3() throws Exception {
        Fixtures.sixNodes().values().stream().limit(3).forEach(n -> nodes.put(n.nodeId(), n));
        for (NodeEndpoints n : nodes.values()) {
            kernels.put(n.nodeId(), new SimulatedKernel(n.address(), fabric)
                    .addDisk(n.diskPath().orElseThrow(), dataDir.resolve(n.nodeId() + ".disk"), 64L * MIB));
        }
        host = new SimulatedKernel("127.0.2.1", fabric);
        VolumeLayout layout = VolumeLayout.of(SPEC);
        Placement placement = new Placement(List.of(new Placement.Controller("n1", Placement.Role.ACTIVE, Fixtures.VOLUME_PORT, 2)),
                List.of(new Placement.Leg(List.of(Placement.Group.placed(List.of(
                        new Placement.Extent("n2", 0, layout.ldSectors()), new Placement.Extent("n3", 0, layout.ldSectors())))))));
        Map<String, io.dnv.node.kernel.Kernel> driven = new LinkedHashMap<>(kernels);
        n1 = new CountingKernel(kernels.get("n1"));
        driven.put("n1", n1);
        agents.start(driven, disks());
        desired = Fixtures.desired(nodes, VOLUME, SPEC, placement, List.of(HOST_NQN), 1);
        agents.converge(desired);
        NodeEndpoints n1 = nodes.get("n1");
        host.nvmeConnect(new NvmeConnection("tcp", n1.address(), n1.port(Fixtures.VOLUME_PORT).serviceId(),
                Names.volumeNqn(VOLUME), HOST_NQN, Names.hostId(HOST_NQN), new ConnectTimeouts(5, 600, 1, -1)));
        UUID uuid = Names.namespaceUuid(Names.volumeNqn(VOLUME));
        volume = host.open(host.observe().namespace(uuid).orElseThrow().path());
        assertEquals("AA", health(), raidStatus());
    }

    @AfterEach
    void shutdown() {
        if (volume != null) {
            volume.close();
        }
        testKit.shutdownTestKit();
        kernels.values().forEach(SimulatedKernel::shutdown);
        host.shutdown();
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void anOutageOfTheControllerNodesOwnLinkFailsNoSideAndNoWrite() throws Exception {
        // Writers keep going through the outage, each to its own MiB, to blocks the pool has not
        // provisioned yet: each write also changes the pool's metadata on the raid1.
        // All four under way at once (a thread each): the ones a writer sends once n1 is cut off and
        // has its volume port inaccessible wait at the host for n1's desired state, given below.
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        ExecutorService writers = Executors.newFixedThreadPool(4);
        fabric.cut("127.0.1.1", "127.0.1.2");
        fabric.cut("127.0.1.1", "127.0.1.3");
        long cutAt = System.nanoTime();
        for (int i = 0; i < 4; i++) {
            int n = i;
            writes.add(CompletableFuture.runAsync(() -> write(n * MIB, pattern(MIB, n + 1)), writers));
        }
        writers.shutdown();
        // Longer than the old internal fast_io_fail (2 s), and than the agent's grace for failing a side.
        Thread.sleep(5000);
        assertTrue(writes.stream().noneMatch(CompletableFuture::isDone), "a write finished while no side was reachable");
        assertEquals("AA", health(), "a side was failed while no other side was reachable: " + raidStatus());
        // The sides come back one by one: the one still down is not a dead disk node for that.
        fabric.heal("127.0.1.1", "127.0.1.3");
        Thread.sleep(1000);
        fabric.heal("127.0.1.1", "127.0.1.2");
        CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
        System.out.printf("TIME writes held through a %.1f s outage of the controller node's link completed%n", seconds(cutAt));

        // Cut off from every node it imports from, n1 turned its volume port inaccessible, and its
        // links returning change nothing of that: only desired state given anew does (the control plane's).
        assertTrue(agents.status("n1").isolated(), "n1 did not see it was cut off");
        assertEquals(Set.of(AnaState.INACCESSIBLE), volumePortStates(), "n1's volume port while it waits for its desired state");
        agents.converge(desired);
        assertEquals(Set.of(AnaState.OPTIMIZED), volumePortStates(), "n1's volume port once given its desired state again");

        assertEquals("AA", health(), raidStatus());
        String pool = status(Names.pool("n1", VOLUME, 0));
        assertTrue(pool.contains(" rw ") && !pool.contains("needs_check"), pool);
        for (int i = 0; i < 4; i++) {
            assertArrayEquals(pattern(MIB, i + 1), read(i * MIB, MIB), "MiB " + i);
        }
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void aDiskNodeThatWentAwayIsFailedWithinSecondsAndTakenBackWhole() throws Exception {
        write(0, pattern(MIB, 1));
        fabric.cut("127.0.1.1", "127.0.1.3");
        long cutAt = System.nanoTime();
        write(2 * MIB, pattern(MIB, 2));
        double held = seconds(cutAt);
        System.out.printf("TIME a write held by a dead disk node's side completed after %.1f s%n", held);
        // Keep-alive detection, then the agent's grace (4 s) and watch (1 s): before the imports'
        // own hold (keep-alive + fast_io_fail) would have ended.
        assertTrue(held < ConnectTimeouts.DISK.holdSeconds(), "the dead side held writes for " + held + " s");
        eventually("side 1 failed", () -> health().equals("AD"));
        assertTrue(agentDegraded("n1").stream().anyMatch(l -> l.startsWith(Names.raid1("n1", VOLUME, 0, 0))),
                "the agent does not report the group degraded: " + agentDegraded("n1"));
        write(4 * MIB, pattern(MIB, 3));   // written while n3 is away: it must reach n3 when it returns

        // Degraded until n3 returns: looked at again ever less often (1, 2, 4 s ...), not every second.
        long looks = wholeLooks("n1");
        Thread.sleep(6000);
        long looked = wholeLooks("n1") - looks;
        System.out.printf("TIME whole looks at n1 in 6 s while degraded: %d%n", looked);
        assertTrue(looked <= 4, "n1 looked at its kernel whole " + looked + " times in 6 s while nothing changed");

        fabric.heal("127.0.1.1", "127.0.1.3");
        long healedAt = System.nanoTime();
        eventually("side 1 re-added and in sync", () -> health().equals("AA"));
        System.out.printf("TIME side back in sync %.1f s after its link returned%n", seconds(healedAt));
        eventually("nothing reported degraded", () -> agentDegraded("n1").isEmpty());

        // n3 alone must now hold every byte: take n2 away, so side 1 serves the reads.
        fabric.cut("127.0.1.1", "127.0.1.2");
        // md learns of a side's loss from I/O: the reads below meet it, once the agent let go of n2's import.
        eventually("n2's import deleted", () -> kernels.get("n1").observeHost().controllers().stream()
                .noneMatch(c -> c.address().equals("127.0.1.2")));
        assertArrayEquals(pattern(MIB, 1), read(0, MIB));
        assertArrayEquals(pattern(MIB, 2), read(2 * MIB, MIB));
        assertArrayEquals(pattern(MIB, 3), read(4 * MIB, MIB));
        assertEquals("DA", health(), raidStatus());
    }

    /**
     * A desired state that drops the volume takes every import away on purpose: its side watcher,
     * which looked at the kernel with the old desired state in hand while the pass disconnected,
     * must not call that a cut (it did, and the node then served nothing until given desired state again).
     */
    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void importsTakenAwayByANewDesiredStateAreNoCut() throws Exception {
        volume.close();
        volume = null;
        host.observeHost().controllers().forEach(c -> host.nvmeDisconnect(c.name()));
        Thread.sleep(2 * SideWatcher.LOOK.toMillis());   // the watcher has seen the imports live
        n1.holdNextHostLook();
        assertTrue(n1.hostLookHeld(Duration.ofSeconds(10)), "the side watcher did not look");
        Map<String, DesiredNode> empty = Fixtures.empty(nodes, 2);
        agents.converge(empty);
        assertTrue(kernels.get("n1").observeHost().controllers().isEmpty(), "n1 still imports");
        n1.releaseHostLook();
        Thread.sleep(2 * SideWatcher.LOOK.toMillis());
        NodeAgent.Status status = agents.status("n1");
        assertFalse(status.isolated(), "n1 took the imports its new desired state dropped for a cut");
        assertEquals(2, status.reachedGeneration());
    }

    private void write(long offset, byte[] bytes) {
        try {
            volume.write(offset, bytes);
        } catch (IOException e) {
            throw new AssertionError("host write at " + offset + " failed: " + e.getMessage() + "; " + raidStatus()
                    + "\n" + String.join("\n", kernels.get("n1").hostLog()), e);
        }
    }

    private byte[] read(long offset, int length) throws IOException {
        byte[] buf = new byte[length];
        volume.read(offset, buf);
        return buf;
    }

    private static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) (seed * 37 + 11));
        for (int i = 0; i < length; i += 4096) {
            b[i] = (byte) (i >> 12);
        }
        return b;
    }

    private String health() {
        return raidStatus().split(" ")[5];
    }

    private String raidStatus() {
        return status(Names.raid1("n1", VOLUME, 0, 0));
    }

    /** One device's status: `dmsetup status` of all of them waits while the pool's metadata write is held. */
    private String status(String dm) {
        return kernels.get("n1").dmStatus(dm).orElseThrow();
    }

    /** The states of the ANA groups n1's desired state has on its volume port, as its kernel has them. */
    private Set<AnaState> volumePortStates() {
        int port = Fixtures.VOLUME_PORT;
        Map<Integer, AnaState> live = kernels.get("n1").observe().ports().stream().filter(p -> p.id() == port).findFirst()
                .orElseThrow().anaGroups();
        Set<AnaState> states = new java.util.HashSet<>();
        desired.get("n1").ports().stream().filter(p -> p.id() == port).findFirst().orElseThrow().anaGroups().keySet()
                .forEach(g -> states.add(live.get(g)));
        return states;
    }

    private List<String> agentDegraded(String node) {
        return agents.status(node).lastPass().map(PassResult::degraded).orElse(List.of());
    }

    private Map<String, Optional<String>> disks() {
        Map<String, Optional<String>> disks = new LinkedHashMap<>();
        nodes.forEach((id, n) -> disks.put(id, n.diskPath()));
        return disks;
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }

    private long wholeLooks(String node) {
        return kernels.get(node).spent().snapshot().get(io.dnv.node.sim.KernelLatencies.Op.OBSERVE).count();
    }

    private static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("not within 60 s: " + what);
            }
            Thread.sleep(100);
        }
    }
}
