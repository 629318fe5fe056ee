package io.dnv.app;

import com.fasterxml.jackson.databind.JsonNode;
import io.dnv.core.kernel.AnaGroups;
import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.node.sim.SimulatedKernel;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static io.dnv.app.ApiClient.controller;
import static io.dnv.app.ApiClient.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Partitions on `./dnv dev` ({@code POST /v1/sim/nodes/{id}/faults}, docs/failover.md, "A
 * partition"). The node of a volume's active controller is cut off, fails over, and the partition
 * heals: the host never sees an I/O error, and the old node, which turned its volume port
 * inaccessible when it saw itself cut off, serves nothing to the host until it holds only what its
 * desired state says now (nothing of the volume).
 *
 * <ul>
 *   <li>the seed's consistency case: a host's write sits in the node when it is cut off (held on its
 *       imports from the disk nodes); the host notices by its own keep-alive, writes it again
 *       through the promoted standby, then writes newer data to the same blocks; the partition
 *       heals while the old node still holds its copy. The disk nodes refuse it, the newer data
 *       survives, and the same member, reachable again, is given its new desired state;</li>
 *   <li>a partition past the split-brain resolver's wait: the cluster downs the member, a new one
 *       starts in its place (as systemd starts the agent again) and changes nothing until the heal
 *       lets it join and the control plane gives it its desired state.</li>
 * </ul>
 */
class PartitionTest {

    static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b";
    static final int MIB = 1 << 20;

    private DevCommand.DevSystem dev;
    private ApiClient api;

    /** A system for each test: the tests run two at a time (they spend their time waiting for a partition's effects, not computing). */
    @BeforeEach
    void start() throws Exception {
        Path dataDir = Files.createTempDirectory("dnv-partition-test");
        dev = DevCommand.DevSystem.start(dataDir, 0, 6, 1L << 30);
        dev.awaitNodesUp(Duration.ofSeconds(60));
        api = new ApiClient(dev.httpPort(), dev.token());
    }

    @AfterEach
    void stop() {
        dev.close();
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void aWriteHeldInAPartitionedActiveIsRefusedAtTheHealAndTheNewerDataSurvives() throws Exception {
        int keepAlive = createAttached("pv");
        byte[] kept = random(12, MIB);
        assertEquals(204, api.put(data("pv", 0, MIB), random(11, MIB)).status());
        assertEquals(204, api.put(data("pv", 8 * MIB, MIB), kept).status());

        JsonNode volume = api.get("/v1/volumes/pv").json();
        String active = controller(volume, "ACTIVE");
        String standby = controller(volume, "STANDBY");
        int old = index(active);
        SimulatedKernel oldKernel = dev.kernels.get(old);
        ActorSystem<?> oldMember = dev.nodes.get(old);
        List<String> diskNodes = new ArrayList<>();
        for (JsonNode leg : volume.path("legs")) {
            for (JsonNode group : leg.path("groups")) {
                for (JsonNode side : group.path("sides")) {
                    if (!side.path("node").asText().equals(active)) {
                        diskNodes.add(side.path("node").asText());
                    }
                }
            }
        }
        assertFalse(diskNodes.isEmpty(), volume.toString());

        // The write reaches the active's node, whose links to the disk nodes go a moment before the
        // rest of its links: it waits there, on the node's imports (held, not failed).
        long cutAt = System.nanoTime();
        diskNodes.forEach(d -> dev.fabric.cut(oldKernel.name(), dev.kernels.get(index(d)).name()));
        byte[] stale = random(13, MIB);
        ExecutorService writer = Executors.newSingleThreadExecutor();
        java.util.concurrent.atomic.AtomicLong acknowledgedAt = new java.util.concurrent.atomic.AtomicLong();
        Future<ApiClient.Reply> held = writer.submit(() -> {
            ApiClient.Reply r = api.put(data("pv", 0, MIB), stale);
            acknowledgedAt.set(System.nanoTime());
            return r;
        });
        writer.shutdown();
        Thread.sleep(1000);
        assertFalse(held.isDone(), "the write did not wait in " + active);

        long partitionedAt = partition(active);
        diskNodes.forEach(d -> dev.fabric.heal(oldKernel.name(), dev.kernels.get(index(d)).name()));   // the partition holds them now
        timeEach("partition", partitionedAt, cutOff(active, "(its links to the disk nodes went 1 s earlier)"));

        // The host noticed by its own keep-alive, and wrote it again through the promoted standby;
        // then it writes newer data to the same blocks.
        ApiClient.Reply retried = held.get(90, TimeUnit.SECONDS);
        assertEquals(204, retried.status(), new String(retried.body()));
        double resumed = (acknowledgedAt.get() - partitionedAt) / 1e9;
        System.out.printf("TIME partition -> the host's held write acknowledged through the successor (published keep-alive %d s) %.1f s%n",
                keepAlive, resumed);
        assertTrue(resumed >= keepAlive, "the host moved its write before its keep-alive (" + keepAlive + " s) could notice");
        api.awaitActive("pv", standby, Duration.ofSeconds(60));
        byte[] newer = random(14, MIB);
        assertEquals(204, api.put(data("pv", 0, MIB), newer).status());

        // Fenced: no disk node lets the old node at the volume's LDs any more.
        String oldHost = Names.hostNqn(active);
        for (String d : diskNodes) {
            for (ObservedKernel.Subsystem s : dev.kernels.get(index(d)).observe().subsystems()) {
                if (s.nqn().startsWith(Names.NQN_PREFIX + "ld:pv:")) {
                    assertFalse(s.allowedHosts().contains(oldHost), d + " still allows " + active + " on " + s.nqn());
                }
            }
        }

        // Healed while the old node still holds its copy of the write, unless its imports' own hold
        // (keep-alive, then fast_io_fail) ended first: the write is released then, and refused.
        boolean heldAtHeal = oldKernel.hostLog().stream().noneMatch(l -> l.contains("no available path - failing I/O"));
        double sinceCut = (System.nanoTime() - cutAt) / 1e9;
        assertTrue(heldAtHeal || sinceCut >= ConnectTimeouts.DISK.holdSeconds(),
                "the old node's copy failed after " + sinceCut + " s, within its imports' hold: " + oldKernel.hostLog());
        long refusedBefore = refused(diskNodes, oldHost);
        long healedAt = heal(active, partitionedAt);
        Address oldAddress = Cluster.get(oldMember).selfMember().address();
        healed("pv", active, healedAt, newer, Map.of("the control member's cluster failure detector marks the member reachable",
                () -> Cluster.get(dev.control).state().getUnreachable().stream().noneMatch(m -> m.address().equals(oldAddress))));
        assertSame(oldMember, dev.nodes.get(old), "the member was replaced: the partition outlasted the split-brain resolver");

        assertArrayEquals(newer, api.get(data("pv", 0, MIB)).body());
        assertArrayEquals(kept, api.get(data("pv", 8 * MIB, MIB)).body());
        byte[] after = random(15, MIB);
        assertEquals(204, api.put(data("pv", 16 * MIB, MIB), after).status());
        assertArrayEquals(after, api.get(data("pv", 16 * MIB, MIB)).body());
        JsonNode health = api.get("/v1/nodes/" + active + "/health").json();
        assertTrue(health.path("failedOver").toString().contains("pv"), health.toString());
        System.out.printf("the old node's copy of the write: %s; the disk nodes refused its imports' reconnects %d times after "
                + "the heal%n", heldAtHeal ? String.format("held until the heal (%.1f s after its links to the disk nodes went)", sinceCut)
                : "failed inside it before the heal (its imports' hold ended)", refused(diskNodes, oldHost) - refusedBefore);
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void aPartitionPastTheSplitBrainResolversWaitDownsTheMemberAndANewOneServesAsItsDesiredStateSays() throws Exception {
        createAttached("pq");
        byte[] first = random(21, MIB);
        assertEquals(204, api.put(data("pq", 0, MIB), first).status());
        JsonNode volume = api.get("/v1/volumes/pq").json();
        String active = controller(volume, "ACTIVE");
        String standby = controller(volume, "STANDBY");
        int old = index(active);
        ActorSystem<?> oldMember = dev.nodes.get(old);

        long partitionedAt = partition(active);
        Map<String, BooleanSupplier> events = cutOff(active, "");
        events.put("failed over to the standby", () -> {
            JsonNode v = api.get("/v1/volumes/pq").json();
            return standby.equals(controller(v, "ACTIVE")) && (v.path("operation").isMissingNode() || v.path("operation").isNull());
        });
        timeEach("partition", partitionedAt, events);
        byte[] newer = random(22, MIB);
        assertEquals(204, api.put(data("pq", 0, MIB), newer).status());

        // Unreachable past the split-brain resolver's stable-after, the member is downed (on both
        // sides); a new one starts in its place, cut off as well, and joins only at the heal. Its
        // agent holds nothing until the control plane speaks: the kernel keeps its inaccessible port.
        await(active + "'s member downed and replaced", Duration.ofSeconds(90), () -> dev.nodes.get(old) != oldMember);
        time("partition -> the partitioned member downed by the cluster, a new one started", partitionedAt);
        assertTrue(oldMember.getWhenTerminated().toCompletableFuture().isDone());
        ActorSystem<?> newMember = dev.nodes.get(old);
        Thread.sleep(2000);
        assertEquals(Set.of(AnaState.INACCESSIBLE), volumePortStates(old), "the new agent changed the port before its desired state");

        long healedAt = heal(active, partitionedAt);
        Address newAddress = Cluster.get(newMember).selfMember().address();
        healed("pq", active, healedAt, newer, Map.of("the new member up in the cluster",
                () -> java.util.stream.StreamSupport.stream(Cluster.get(dev.control).state().getMembers().spliterator(), false)
                        .anyMatch(m -> m.address().equals(newAddress) && m.status().equals(MemberStatus.up()))));
        assertSame(newMember, dev.nodes.get(old));
        assertArrayEquals(newer, api.get(data("pq", 0, MIB)).body());
    }

    /** How often the disk nodes refused a connect of {@code host} (their kernel logs). */
    private long refused(List<String> diskNodes, String host) {
        return diskNodes.stream().distinct().flatMap(d -> dev.kernels.get(index(d)).targetLog().stream())
                .filter(l -> l.contains("connect by host " + host) && l.contains("not allowed")).count();
    }

    /** Creates a 32 MiB volume and attaches {@link #HOST}: the host keep-alive its connect information publishes. */
    private int createAttached(String name) {
        assertEquals(202, api.post("/v1/volumes", "{\"name\":\"" + name + "\",\"sizeBytes\":" + (32L << 20) + "}").status());
        api.awaitState(name, "READY", Duration.ofSeconds(60));
        ApiClient.Reply attached = api.post("/v1/volumes/" + name + "/attachments", "{\"hostNqn\":\"" + HOST + "\"}");
        assertEquals(200, attached.status());
        int keepAlive = attached.json().path("hostSettings").path("keepAliveTmo").asInt();
        assertTrue(keepAlive > 0, attached.json().toString());
        return keepAlive;
    }

    private long partition(String node) {
        long at = System.nanoTime();
        ApiClient.Reply partition = api.post("/v1/sim/nodes/" + node + "/faults", "{\"kind\":\"partition\"}");
        assertEquals(202, partition.status(), new String(partition.body()));
        assertTrue(partition.json().path("partitioned").asBoolean(), partition.json().toString());
        assertTrue(partition.json().path("kernelOn").asBoolean() && partition.json().path("agentRunning").asBoolean());
        return at;
    }

    private long heal(String node, long partitionedAt) {
        long at = System.nanoTime();
        System.out.printf("TIME partition lasted %.1f s%n", (at - partitionedAt) / 1e9);
        ApiClient.Reply heal = api.post("/v1/sim/nodes/" + node + "/faults", "{\"kind\":\"heal\"}");
        assertEquals(202, heal.status());
        assertFalse(heal.json().path("partitioned").asBoolean(), heal.json().toString());
        return at;
    }

    /**
     * What a partition of the node shows: the transport drops the member's frames (the control
     * member's failure detector sees it go); cut off from every node it imports from, the node
     * turns its volume port inaccessible itself; the control plane, hearing nothing, declares it failed.
     */
    private Map<String, BooleanSupplier> cutOff(String node, String note) {
        int index = index(node);
        Address address = Cluster.get(dev.nodes.get(index)).selfMember().address();
        Map<String, BooleanSupplier> events = new LinkedHashMap<>();
        events.put("the control member's cluster failure detector marks the member unreachable", () -> Cluster.get(dev.control)
                .state().getUnreachable().stream().anyMatch(m -> m.address().equals(address)));
        events.put(("the partitioned node's volume port inaccessible " + note).trim(),
                () -> volumePortStates(index).equals(Set.of(AnaState.INACCESSIBLE)));
        events.put("the partitioned node declared FAILED",
                () -> api.get("/v1/nodes/" + node + "/health").json().path("status").asText().equals("FAILED"));
        return events;
    }

    /**
     * After the heal, until the old node is heard from again and holds only what its desired state
     * says (nothing of the volume), and until {@code more} happened: the host's path to it is never
     * optimized, and the host reads {@code newer} back without an error.
     */
    private void healed(String volume, String node, long healedAt, byte[] newer, Map<String, BooleanSupplier> more)
            throws InterruptedException {
        SimulatedKernel host = dev.hosts.kernel(HOST).orElseThrow();
        SimulatedKernel oldKernel = dev.kernels.get(index(node));
        String address = dev.infos.get(index(node)).endpoints().address();
        Map<String, Double> seen = new LinkedHashMap<>();
        BooleanSupplier hostPathChecked = () -> {
            for (ObservedKernel.Controller c : host.observe().controllers()) {
                if (c.subsystemNqn().equals(Names.volumeNqn(volume)) && c.address().equals(address)) {
                    String ana = host.pathAnaState(c.name(), 1).orElse("none");
                    seen.putIfAbsent(c.state() + "/" + ana, (System.nanoTime() - healedAt) / 1e9);
                    assertNotEquals(AnaState.OPTIMIZED.configfs(), ana, "the host may send I/O to the old node: " + seen);
                }
            }
            ApiClient.Reply read = api.get(data(volume, 0, MIB));
            assertEquals(200, read.status(), new String(read.body()));
            assertArrayEquals(newer, read.body(), "an older write landed over the newer one");
            return true;
        };
        Map<String, BooleanSupplier> events = new LinkedHashMap<>();
        events.put("the old node heard from again (UP)", () -> hostPathChecked.getAsBoolean()
                && api.get("/v1/nodes/" + node + "/health").json().path("status").asText().equals("UP"));
        events.put("the old node holds nothing of the volume (its desired state now)", () -> hostPathChecked.getAsBoolean()
                && oldKernel.observe().subsystems().stream().noneMatch(s -> s.nqn().equals(Names.volumeNqn(volume))));
        more.forEach((what, happened) -> events.put(what, () -> hostPathChecked.getAsBoolean() && happened.getAsBoolean()));
        timeEach("heal", healedAt, events);
        System.out.println("the host's path to the old node after the heal, state/ANA as the host read it, first seen (s after the heal): "
                + seen);
    }

    private static String data(String volume, long offset, int length) {
        return "/v1/sim/hosts/" + HOST + "/volumes/" + volume + "/data?offset=" + offset + "&length=" + length;
    }

    private int index(String nodeId) {
        for (int i = 0; i < dev.infos.size(); i++) {
            if (dev.infos.get(i).nodeId().equals(nodeId)) {
                return i;
            }
        }
        throw new AssertionError("no node " + nodeId);
    }

    /** The states of the groups volumes are put in, on node {@code index}'s volume port, as its kernel has them. */
    private Set<AnaState> volumePortStates(int index) {
        int port = dev.infos.get(index).endpoints().volumePorts().get(0).id();
        Set<AnaState> states = new TreeSet<>();
        dev.kernels.get(index).observe().ports().stream().filter(p -> p.id() == port).findFirst().ifPresent(p ->
                p.anaGroups().forEach((group, state) -> {
                    if (group != AnaGroups.DEFAULT) {
                        states.add(state);
                    }
                }));
        return states;
    }

    /** Polls every event until each happened once (60 s at most), then prints when each first did. */
    private static void timeEach(String from, long since, Map<String, BooleanSupplier> events) throws InterruptedException {
        Map<String, Double> at = new LinkedHashMap<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (at.size() < events.size()) {
            events.forEach((what, happened) -> {
                if (!at.containsKey(what) && happened.getAsBoolean()) {
                    at.put(what, (System.nanoTime() - since) / 1e9);
                }
            });
            assertTrue(System.nanoTime() < deadline, "not within 60 s of the " + from + ": "
                    + events.keySet().stream().filter(e -> !at.containsKey(e)).toList());
            Thread.sleep(100);
        }
        at.forEach((what, s) -> System.out.printf("TIME %s -> %s %.1f s%n", from, what, s));
    }

    private static double time(String what, long since) {
        double s = (System.nanoTime() - since) / 1e9;
        System.out.printf("TIME %s %.1f s%n", what, s);
        return s;
    }

    private static void await(String what, Duration wait, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "not within " + wait.toSeconds() + " s: " + what);
            Thread.sleep(100);
        }
    }
}
