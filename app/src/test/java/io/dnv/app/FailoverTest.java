package io.dnv.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.dnv.node.sim.KernelLatencies;
import io.dnv.persistence.Database;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.dnv.app.ApiClient.controller;
import static io.dnv.app.ApiClient.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The node of a volume's active controller crashes (its kernel powered off, its agent gone) on
 * `./dnv dev`: its witnesses see it go (docs/failover.md, "Detection"), the control plane declares
 * it failed on their word, the volume fences it, promotes its standby and places a new standby,
 * and the host's next write, held meanwhile, lands through the successor once the host's
 * keep-alive (3 s) noticed the dead path; what was acknowledged before reads back, and every
 * stage shows in the volume's view with its timing, and in its event log. And the node of a
 * volume's active loses only its agent, its kernel serving on: its witnesses still see it, so
 * nothing fails over and the host's writes go on without an error until the agent is back and
 * re-adopts its kernel.
 */
class FailoverTest {

    static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:7c2e4a1b-3d5f-4e6a-9b8c-1d2e3f4a5b6c";
    /**
     * A crashed node's member is removed by the split-brain resolver only after {@code stable-after}
     * (20 s in the product), and until then its next member cannot join: a heal waited out most of
     * it. These tests are about the failover, which needs no resolver; down-all-when-unstable
     * would follow a shorter wait down (3/4 of it), and a loaded machine's flapping reachability
     * must not stop every member.
     */
    static final Config SOONER_DOWNED = ConfigFactory.parseString("""
            pekko.cluster.split-brain-resolver.stable-after = 5s
            pekko.cluster.split-brain-resolver.down-all-when-unstable = off
            """);

    private DevCommand.DevSystem dev;
    private ApiClient api;

    /** A system for each test: the tests run two at a time (they spend their time waiting for a failover, not computing). */
    @BeforeEach
    void start() throws Exception {
        Path dataDir = Files.createTempDirectory("dnv-failover-test");
        dev = DevCommand.DevSystem.start(dataDir, 0, 6, 1L << 30, Database.h2File(dataDir.resolve("db")), KernelLatencies.NONE,
                SOONER_DOWNED);
        dev.awaitNodesUp(Duration.ofSeconds(60));
        api = new ApiClient(dev.httpPort(), dev.token());
    }

    @AfterEach
    void stop() {
        dev.close();
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void theActivesNodeCrashesAndTheStandbyServesEveryAcknowledgedWrite() throws Exception {
        assertEquals(202, api.post("/v1/volumes", "{\"name\":\"fo\",\"sizeBytes\":" + (32L << 20) + "}").status());
        api.awaitState("fo", "READY", Duration.ofSeconds(60));
        ApiClient.Reply attached = api.post("/v1/volumes/fo/attachments", "{\"hostNqn\":\"" + HOST + "\"}");
        assertEquals(200, attached.status());
        int keepAlive = attached.json().path("hostSettings").path("keepAliveTmo").asInt();
        String data = "/v1/sim/hosts/" + HOST + "/volumes/fo/data";
        byte[] before = random(1, 2 << 20);
        assertEquals(204, api.put(data + "?offset=0&length=" + before.length, before).status());

        JsonNode volume = api.get("/v1/volumes/fo").json();
        String active = controller(volume, "ACTIVE");
        String standby = controller(volume, "STANDBY");
        assertEquals(404, api.post("/v1/sim/nodes/nosuch/faults", "{\"kind\":\"crash\"}").status());
        assertEquals(400, api.post("/v1/sim/nodes/" + active + "/faults", "{\"kind\":\"meteor\"}").status());
        awaitWitnessed(active);
        long crashedAt = System.nanoTime();
        java.time.Instant crashedWall = java.time.Instant.now();
        ApiClient.Reply crash = api.post("/v1/sim/nodes/" + active + "/faults", "{\"kind\":\"crash\"}");
        assertEquals(202, crash.status(), new String(crash.body()));
        assertEquals(false, crash.json().path("kernelOn").asBoolean());

        // Held by the host (no usable path) until the standby is promoted, then written through it.
        byte[] after = random(2, 1 << 20);
        ApiClient.Reply written = api.put(data + "?offset=" + (4 << 20) + "&length=" + after.length, after);
        assertEquals(204, written.status(), new String(written.body()));
        double resumed = (System.nanoTime() - crashedAt) / 1e9;
        System.out.printf("TIME crash of the active's node -> the host's write acknowledged through the successor %.1f s%n", resumed);

        JsonNode failedOver = api.awaitActive("fo", standby, Duration.ofSeconds(60));
        assertNotEquals(active, controller(failedOver, "ACTIVE"));
        // A new standby took the promoted one's place, and every stage is in the view with its timing.
        String fresh = controller(failedOver, "STANDBY");
        assertFalse(fresh.isEmpty() || fresh.equals(active) || fresh.equals(standby), failedOver.toString());
        JsonNode f = failedOver.path("lastFailover");
        assertEquals(active, f.path("failedNode").asText(), failedOver.toString());
        assertEquals(standby, f.path("successor").asText());
        assertEquals(fresh, f.path("standby").asText());
        List<String> stages = new ArrayList<>();
        StringBuilder timing = new StringBuilder();
        f.path("stages").forEach(st -> {
            stages.add(st.path("stage").asText());
            timing.append(' ').append(st.path("stage").asText()).append('=').append(st.path("millis").asLong()).append("ms");
        });
        assertEquals(List.of("fence", "fence_wait", "promote", "promote_apply", "promote_wait", "standby_choose", "standby_reserve",
                "standby_apply", "standby_wait"), stages);
        System.out.println("TIME failover stages (" + f.path("millis").asLong() + " ms):" + timing);
        List<String> events = new ArrayList<>();
        api.get("/v1/volumes/fo/events").json().forEach(e -> events.add(e.path("type").asText()));
        assertEquals(List.of("FailoverRequested", "ObjectsApplied", "Fenced", "SuccessorPlaced", "ObjectsApplied", "Promoted",
                "StandbyChosen", "StandbyPlaced", "ObjectsApplied", "FailedOver"), events.subList(events.indexOf("FailoverRequested"),
                events.indexOf("FailedOver") + 1));
        ApiClient.Reply read = api.get(data + "?offset=0&length=" + before.length);
        assertEquals(200, read.status(), new String(read.body()) + " " + failedOver);
        assertArrayEquals(before, read.body());
        assertArrayEquals(after, api.get(data + "?offset=" + (4 << 20) + "&length=" + after.length).body());
        JsonNode health = api.get("/v1/nodes/" + active + "/health").json();
        assertEquals("FAILED", health.path("status").asText(), health.toString());
        assertTrue(health.path("failedOver").toString().contains("fo"), health.toString());
        assertTrue(health.path("evidence").toString().contains("silent"), health.toString());
        // Decided on its witnesses' word, not on the longer silence alone.
        assertTrue(health.path("evidence").toString().contains("witness import(s) of"), health.toString());
        assertTrue(!health.path("evidence").toString().contains("silence past"), health.toString());
        long declared = java.time.Duration.between(crashedWall, java.time.Instant.parse(health.path("since").asText())).toMillis();
        long fenced = java.time.Duration.between(crashedWall, eventTime("Fenced")).toMillis();
        System.out.printf("TIME crash of the active's node -> declared FAILED %d ms, -> fenced %d ms (host keep-alive %d s)%n",
                declared, fenced, keepAlive);

        // Back: it is heard from again and gets only what it holds now (no old role).
        assertEquals(202, api.post("/v1/sim/nodes/" + active + "/faults", "{\"kind\":\"heal\"}").status());
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!api.get("/v1/nodes/" + active + "/health").json().path("status").asText().equals("UP")) {
            assertTrue(System.nanoTime() < deadline, "not heard from again: " + api.get("/v1/nodes/" + active + "/health").json());
            Thread.sleep(200);
        }
        assertEquals(standby, controller(api.get("/v1/volumes/fo").json(), "ACTIVE"));
        assertArrayEquals(after, api.get(data + "?offset=" + (4 << 20) + "&length=" + after.length).body());
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void anAgentGoneWhileItsKernelServesIsNoFailedNodeAndTheHostWritesOn() throws Exception {
        assertEquals(202, api.post("/v1/volumes", "{\"name\":\"alive\",\"sizeBytes\":" + (32L << 20) + "}").status());
        api.awaitState("alive", "READY", Duration.ofSeconds(60));
        assertEquals(200, api.post("/v1/volumes/alive/attachments", "{\"hostNqn\":\"" + HOST + "\"}").status());
        String active = controller(api.get("/v1/volumes/alive").json(), "ACTIVE");
        awaitWitnessed(active);
        Writer writer = new Writer("/v1/sim/hosts/" + HOST + "/volumes/alive/data");
        Thread writing = new Thread(writer, "host-writer");
        writing.start();
        try {
            // An agent restart: the member goes (leaving the cluster takes a while) and a new one starts over the same kernel.
            assertEquals(202, api.post("/v1/sim/nodes/" + active + "/faults", "{\"kind\":\"restart-agent\"}").status());
            int member = Integer.parseInt(active.substring(1)) - 1;
            awaitNewMember(member);
            awaitHealth(active, "UP", Duration.ofSeconds(60));

            // The member stopped and not started again, for longer than silence alone used to be given (4 s).
            ActorSystem<?> gone = dev.nodes.get(member);
            gone.terminate();
            gone.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
            long stopped = System.nanoTime();
            int before = writer.acknowledged();
            JsonNode silent = awaitHealth(active, "AGENT_SILENT", Duration.ofSeconds(10));
            Thread.sleep(Math.max(0, 6000 - (System.nanoTime() - stopped) / 1_000_000));
            JsonNode still = api.get("/v1/nodes/" + active + "/health").json();
            assertEquals("AGENT_SILENT", still.path("status").asText(), still.toString());
            assertTrue(silent.path("evidence").toString().contains("live witness import(s) of"), silent.toString());
            assertEquals(0, still.path("failedOver").size(), still.toString());
            JsonNode volume = api.get("/v1/volumes/alive").json();
            assertEquals(active, controller(volume, "ACTIVE"), volume.toString());
            assertTrue(volume.path("operation").isMissingNode() || volume.path("operation").isNull(), volume.toString());
            assertTrue(writer.acknowledged() > before, "no write acknowledged while the agent was gone");
            assertEquals(List.of(), writer.errors());
            System.out.printf("TIME agent gone %d ms, kernel serving: %d writes acknowledged meanwhile, no failover%n",
                    (System.nanoTime() - stopped) / 1_000_000, writer.acknowledged() - before);

            // Back: heard from again, it re-adopts what its kernel holds.
            dev.nodes.set(member, dev.startMember(member));
            awaitHealth(active, "UP", Duration.ofSeconds(60));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            JsonNode node = api.get("/v1/nodes/" + active).json();
            while (node.path("reachedGeneration").asLong() != node.path("desiredGeneration").asLong()) {
                assertTrue(System.nanoTime() < deadline, "not converged again: " + node);
                Thread.sleep(200);
                node = api.get("/v1/nodes/" + active).json();
            }
        } finally {
            writer.stop();
            writing.join(30_000);
        }
        assertEquals(List.of(), writer.errors());
        assertEquals(active, controller(api.get("/v1/volumes/alive").json(), "ACTIVE"));
        writer.readBack();
    }

    /** Until node {@code index}'s member is a new one that is up (its old one gone). */
    private void awaitNewMember(int index) throws Exception {
        ActorSystem<?> old = dev.nodes.get(index);
        old.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (dev.nodes.get(index) == old) {
            assertTrue(System.nanoTime() < deadline, "no new member for node " + (index + 1));
            Thread.sleep(100);
        }
    }

    private JsonNode awaitHealth(String node, String status, Duration wait) throws Exception {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            JsonNode h = api.get("/v1/nodes/" + node + "/health").json();
            assertTrue(!h.path("status").asText().equals("FAILED"), "failed over: " + h);
            if (h.path("status").asText().equals(status)) {
                return h;
            }
            assertTrue(System.nanoTime() < deadline, "not " + status + ": " + h);
            Thread.sleep(100);
        }
    }

    /**
     * A host writing 64 KiB blocks, one after the other, round the volume's first 8 MiB, each
     * block new bytes; every write acknowledged is read back at the end.
     */
    private final class Writer implements Runnable {
        private static final int BLOCK = 64 << 10;
        private static final int BLOCKS = 128;
        private final String data;
        private final byte[][] written = new byte[BLOCKS][];
        private final List<String> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final java.util.concurrent.atomic.AtomicInteger acknowledged = new java.util.concurrent.atomic.AtomicInteger();
        private volatile boolean stop;

        Writer(String data) {
            this.data = data;
        }

        @Override
        public void run() {
            for (int i = 0; !stop; i++) {
                int block = i % BLOCKS;
                byte[] bytes = random(1000 + i, BLOCK);
                ApiClient.Reply r = api.put(data + "?offset=" + (long) block * BLOCK + "&length=" + BLOCK, bytes);
                if (r.status() != 204) {
                    errors.add(r.status() + " " + new String(r.body()));
                    return;
                }
                synchronized (written) {
                    written[block] = bytes;
                }
                acknowledged.incrementAndGet();
            }
        }

        int acknowledged() {
            return acknowledged.get();
        }

        List<String> errors() {
            return List.copyOf(errors);
        }

        void stop() {
            stop = true;
        }

        void readBack() {
            synchronized (written) {
                for (int b = 0; b < BLOCKS; b++) {
                    if (written[b] != null) {
                        assertArrayEquals(written[b], api.get(data + "?offset=" + (long) b * BLOCK + "&length=" + BLOCK).body(), "block " + b);
                    }
                }
            }
        }
    }

    /** Until both of the node's witnesses hold a live witness import of it (the cluster's first seconds set them up). */
    private void awaitWitnessed(String node) throws Exception {
        String address = api.get("/v1/nodes/" + node).json().path("info").path("endpoints").path("address").asText();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            int witnesses = 0;
            for (JsonNode n : api.get("/v1/nodes").json().path("items")) {
                witnesses += n.path("imports").path(address).path("witnessLive").asInt();
            }
            if (witnesses >= 2) {
                return;
            }
            assertTrue(System.nanoTime() < deadline, "no two live witnesses of " + node + ": " + api.get("/v1/nodes").json());
            Thread.sleep(200);
        }
    }

    /** When the volume's journal has its first event of this type. */
    private java.time.Instant eventTime(String type) {
        for (JsonNode e : api.get("/v1/volumes/fo/events").json()) {
            if (e.path("type").asText().equals(type)) {
                return java.time.Instant.parse(e.path("time").asText());
            }
        }
        throw new AssertionError("no " + type + " event: " + api.get("/v1/volumes/fo/events").json());
    }
}
