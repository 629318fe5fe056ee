package io.dnv.node.agent;

import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.plan.CntlidRanges;
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

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A volume with two actives (n1, n2) and a standby (n3) on six simulated servers; a host writes
 * through all three paths. n2 crashes (kernel off, agent gone), and the agents are handed the
 * failover's plans in its order, built by the same placement steps the control plane's
 * {@code FailOver} takes: fenced, promoting (n3 in n2's slot, n1 keeping its path to n2's leg
 * exports), promoted, a new standby on n4.
 *
 * <p>n1 serves throughout: its stripe is never suspended, reloaded or recreated; the host's
 * writes to the legs n1 owns are acknowledged while n2's legs wait for their new owner; n1's
 * imports of n2's legs are the same namespace heads, with a new path to n3. Every acknowledged
 * write reads back, through the host and from n1's stripe.
 */
class TwoActivesLoseOneTest {

    private static final String HOST_NQN = "nqn.2014-08.org.nvmexpress:uuid:2b1f8c3d-6a4e-4f5b-9c7d-8e9f0a1b2c3d";
    private static final String VOLUME = "two";
    private static final long DISK_BYTES = 256L << 20;
    /** Two actives of two legs each: legs 0 and 1 are n1's, 2 and 3 n2's. */
    private static final VolumeSpec SPEC = new VolumeSpec(64L << 20, 2, 1, 2, 2);
    private static final int CHUNK = VolumeLayout.STRIPE_CHUNK_SECTORS * 512;
    /** The host notices a dead path within seconds, as the host contract asks. */
    private static final ConnectTimeouts HOST = new ConnectTimeouts(2, 30, 1, 2);

    @TempDir
    Path dataDir;

    private final ActorTestKit testKit = ActorTestKit.create("TwoActivesLoseOneTest");
    private final Fabric fabric = new Fabric();
    private final Map<String, NodeEndpoints> nodes = Fixtures.sixNodes();
    private final Map<String, SimulatedKernel> kernels = new LinkedHashMap<>();
    private final Agents agents = new Agents(testKit);
    private long generation;

    @AfterEach
    void shutdown() {
        testKit.shutdownTestKit();
        kernels.values().forEach(SimulatedKernel::shutdown);
    }

    @Test
    void theOtherActiveServesThroughoutAndTheFailedOnesLegsComeBackAsNewPathsOfTheSameNamespaces() throws Exception {
        for (NodeEndpoints n : nodes.values()) {
            kernels.put(n.nodeId(), new SimulatedKernel(n.address(), fabric)
                    .addDisk(n.diskPath().orElseThrow(), dataDir.resolve(n.nodeId() + ".disk"), DISK_BYTES));
        }
        SimulatedKernel host = new SimulatedKernel("127.0.2.1", fabric);
        Map<String, CountingKernel> counted = startAgents();
        VolumeLayout layout = VolumeLayout.of(SPEC);
        converge(Fixtures.placement(SPEC, layout, true), nodes.keySet());
        Placement placed = Fixtures.placement(SPEC, layout, false);
        converge(placed, nodes.keySet());

        for (String node : List.of("n1", "n2", "n3")) {
            NodeEndpoints n = nodes.get(node);
            host.nvmeConnect(new NvmeConnection("tcp", n.address(), n.port(Fixtures.VOLUME_PORT).serviceId(), Names.volumeNqn(VOLUME),
                    HOST_NQN, Names.hostId(HOST_NQN), HOST));
        }
        String stripe = Names.volume("n1", VOLUME);
        Map<Integer, String> legHeads = new LinkedHashMap<>();
        for (int leg = 2; leg < 4; leg++) {
            legHeads.put(leg, head(kernels.get("n1"), Names.legNqn(VOLUME, leg)));
        }
        try (SimulatedKernel.Handle volume = host.open(head(host, Names.volumeNqn(VOLUME)))) {
            // Stripe chunk c is on leg c % 4: chunks 1, 5, 9... of the first half are leg 1 (n1's, its
            // sides on n3 and n4); whole stripes of the second half are on every leg.
            long half = volume.sizeBytes() / 2;
            Writer own = new Writer(volume, "n1's own leg 1", CHUNK, half, CHUNK, 4L * CHUNK);
            Writer all = new Writer(volume, "every leg", half, volume.sizeBytes(), 4 * CHUNK, 4L * CHUNK);
            own.start();
            all.start();
            awaitWrites(own, 20);

            // n2's machine dies: no FIN, no RST; its agent is gone with it.
            int n1Changes = counted.get("n1").dmChangesOf(stripe).size();
            long crashed = System.nanoTime();
            agents.stop("n2");
            kernels.get("n2").powerOff();
            List<String> survivors = nodes.keySet().stream().filter(n -> !n.equals("n2")).toList();

            Placement fenced = placed.fencing("n2");
            converge(fenced, survivors);
            // The host stops using the dead path; writes to the legs n1 owns go on through n1 while
            // n2's legs wait (n1 holds them on its path to n2, the host on n1's path).
            int allBefore = all.count.get();
            awaitWrites(own, own.count.get() + 20);
            long ownServedAt = System.nanoTime();
            assertEquals(allBefore, all.count.get(), "a write over n2's legs landed with nobody serving them");

            Placement promoting = fenced.promoting(1, 3);
            converge(promoting, survivors);
            for (int leg = 2; leg < 4; leg++) {
                List<String> paths = legPaths(kernels.get("n1"), leg);
                assertTrue(paths.contains(nodes.get("n3").address()), "n1 imports leg " + leg + " from its new owner: " + paths);
            }
            awaitWrites(all, allBefore + 5);
            Placement promoted = promoting.promoted();
            converge(promoted, survivors);
            int slot = promoted.nextIdSlot(CntlidRanges.SLOTS).orElseThrow();
            Placement withStandby = promoted.withStandby(new Placement.Controller("n4", Placement.Role.STANDBY, Fixtures.VOLUME_PORT, 2,
                    slot)).withoutFenced(SPEC.activeControllers());
            converge(withStandby, survivors);
            System.out.printf("TIME n2 crashed -> a write to n1's own leg acknowledged through n1 %.1f s; "
                    + "-> n2's legs served by n3 %.1f s%n", (ownServedAt - crashed) / 1e9, (System.nanoTime() - crashed) / 1e9);
            own.stop();
            all.stop();

            assertEquals(List.of(), own.failures, "no write to n1's legs failed");
            assertEquals(List.of(), all.failures, "no write failed");
            assertEquals(n1Changes, counted.get("n1").dmChangesOf(stripe).size(),
                    "n1's stripe was touched: " + counted.get("n1").dmChangesOf(stripe));
            ObservedKernel n1 = kernels.get("n1").observe();
            assertTrue(!n1.dm(stripe).orElseThrow().suspended());
            for (int leg = 2; leg < 4; leg++) {
                assertEquals(legHeads.get(leg), head(kernels.get("n1"), Names.legNqn(VOLUME, leg)),
                        "leg " + leg + " is the same namespace head on n1");
                assertEquals(List.of(nodes.get("n3").address()), legPaths(kernels.get("n1"), leg), "only the new owner's path is left");
            }
            ObservedKernel n4 = kernels.get("n4").observe();
            assertTrue(n4.dm(Names.volume("n4", VOLUME)).orElseThrow().table().contains("error"), "the new standby serves nothing");
            // First in line, the new standby imports the LDs ahead of a promotion, never a leg.
            for (int leg = 0; leg < 4; leg++) {
                String legNqn = Names.legNqn(VOLUME, leg);
                assertTrue(n4.controllers().stream().noneMatch(c -> c.subsystemNqn().equals(legNqn)), "the new standby imports leg " + leg);
            }

            for (Writer w : List.of(own, all)) {
                for (Map.Entry<Long, byte[]> e : w.acknowledged.entrySet()) {
                    assertArrayEquals(e.getValue(), read(volume, e.getKey(), e.getValue().length), w.name + " at " + e.getKey());
                }
            }
            try (SimulatedKernel.Handle n1Stripe = kernels.get("n1").open("/dev/mapper/" + stripe)) {
                for (Map.Entry<Long, byte[]> e : own.acknowledged.entrySet()) {
                    assertArrayEquals(e.getValue(), read(n1Stripe, e.getKey(), e.getValue().length), "n1's stripe at " + e.getKey());
                }
            }
        }
    }

    /**
     * Writes {@code length} bytes at a time from {@code from}, {@code step} bytes apart, up to
     * {@code to}, then over again, each with new random bytes; keeps what was acknowledged last at
     * each offset and every failure.
     */
    private static final class Writer implements Runnable {
        final String name;
        final SimulatedKernel.Handle volume;
        final long from;
        final long to;
        final int length;
        final long step;
        final Map<Long, byte[]> acknowledged = new ConcurrentHashMap<>();
        /** Writes acknowledged, counted: the map holds one per offset, and the writer goes round its range. */
        final java.util.concurrent.atomic.AtomicInteger count = new java.util.concurrent.atomic.AtomicInteger();
        final List<String> failures = new CopyOnWriteArrayList<>();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread;

        Writer(SimulatedKernel.Handle volume, String name, long from, long to, int length, long step) {
            this.volume = volume;
            this.name = name;
            this.from = from;
            this.to = to;
            this.length = length;
            this.step = step;
            this.thread = new Thread(this, "writer-" + name);
        }

        void start() {
            thread.start();
        }

        void stop() throws InterruptedException {
            running.set(false);
            thread.join(60_000);
        }

        @Override
        public void run() {
            Random random = new Random(name.hashCode());
            for (long offset = from; running.get(); offset = offset + step + length > to ? from : offset + step) {
                byte[] data = new byte[length];
                random.nextBytes(data);
                try {
                    volume.write(offset, data);
                    acknowledged.put(offset, data);
                    count.incrementAndGet();
                } catch (IOException e) {
                    failures.add(offset + ": " + e.getMessage());
                }
            }
        }
    }

    private static void awaitWrites(Writer w, int count) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (w.count.get() < count) {
            assertTrue(System.nanoTime() < deadline, w.name + ": " + w.count.get() + " writes acknowledged, wanted " + count
                    + "; failures " + w.failures);
            Thread.sleep(10);
        }
    }

    private Map<String, CountingKernel> startAgents() {
        Map<String, CountingKernel> counted = new LinkedHashMap<>();
        Map<String, Optional<String>> disks = new LinkedHashMap<>();
        for (String node : nodes.keySet()) {
            counted.put(node, new CountingKernel(kernels.get(node)));
            disks.put(node, nodes.get(node).diskPath());
        }
        agents.start(counted, disks);
        return counted;
    }

    /** The next generation of the plan for {@code placement}, handed to the agents of {@code on} and waited for. */
    private void converge(Placement placement, java.util.Collection<String> on) {
        generation++;
        Map<String, DesiredNode> desired = new LinkedHashMap<>(Fixtures.desired(nodes, VOLUME, SPEC, placement, List.of(HOST_NQN),
                generation));
        desired.keySet().retainAll(on);
        agents.converge(desired);
    }

    private static String head(SimulatedKernel kernel, String nqn) {
        UUID uuid = Names.namespaceUuid(nqn);
        return kernel.observe().namespace(uuid).orElseThrow(() -> new AssertionError("no head for " + nqn)).path();
    }

    /** The addresses n1 imports a leg from, dead paths included, in no particular order. */
    private static List<String> legPaths(SimulatedKernel kernel, int leg) {
        List<String> paths = new ArrayList<>();
        kernel.observe().controllers().stream().filter(c -> c.subsystemNqn().equals(Names.legNqn(VOLUME, leg))
                && !c.state().equals("deleting")).forEach(c -> paths.add(c.address()));
        return paths;
    }

    private static byte[] read(SimulatedKernel.Handle h, long offset, int length) throws IOException {
        byte[] buf = new byte[length];
        h.read(offset, buf);
        return buf;
    }
}
