package io.dnv.app;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The node of a volume's active controller crashes (its kernel powered off, its agent gone) on
 * `./dnv dev`: the control plane declares it failed, the volume fences it and promotes its
 * standby, and the host's next write, held meanwhile, lands through the successor; what was
 * acknowledged before reads back.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FailoverTest {

    static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:7c2e4a1b-3d5f-4e6a-9b8c-1d2e3f4a5b6c";

    private DevCommand.DevSystem dev;
    private ApiClient api;

    @BeforeAll
    void start() throws Exception {
        Path dataDir = Files.createTempDirectory("dnv-failover-test");
        dev = DevCommand.DevSystem.start(dataDir, 0, 6, 1L << 30);
        dev.awaitNodesUp(Duration.ofSeconds(60));
        api = new ApiClient(dev.httpPort(), dev.token());
    }

    @AfterAll
    void stop() {
        dev.close();
    }

    @Test
    void theActivesNodeCrashesAndTheStandbyServesEveryAcknowledgedWrite() throws Exception {
        assertEquals(202, api.post("/v1/volumes", "{\"name\":\"fo\",\"sizeBytes\":" + (32L << 20) + "}").status());
        api.awaitState("fo", "READY", Duration.ofSeconds(60));
        assertEquals(200, api.post("/v1/volumes/fo/attachments", "{\"hostNqn\":\"" + HOST + "\"}").status());
        String data = "/v1/sim/hosts/" + HOST + "/volumes/fo/data";
        byte[] before = random(1, 2 << 20);
        assertEquals(204, api.put(data + "?offset=0&length=" + before.length, before).status());

        JsonNode volume = api.get("/v1/volumes/fo").json();
        String active = controller(volume, "ACTIVE");
        String standby = controller(volume, "STANDBY");
        assertEquals(404, api.post("/v1/sim/nodes/nosuch/faults", "{\"kind\":\"crash\"}").status());
        assertEquals(400, api.post("/v1/sim/nodes/" + active + "/faults", "{\"kind\":\"meteor\"}").status());
        long crashedAt = System.nanoTime();
        ApiClient.Reply crash = api.post("/v1/sim/nodes/" + active + "/faults", "{\"kind\":\"crash\"}");
        assertEquals(202, crash.status(), new String(crash.body()));
        assertEquals(false, crash.json().path("kernelOn").asBoolean());

        // Held by the host (no usable path) until the standby is promoted, then written through it.
        byte[] after = random(2, 1 << 20);
        ApiClient.Reply written = api.put(data + "?offset=" + (4 << 20) + "&length=" + after.length, after);
        assertEquals(204, written.status(), new String(written.body()));
        double resumed = (System.nanoTime() - crashedAt) / 1e9;
        System.out.printf("TIME crash of the active's node -> the host's write acknowledged through the successor %.1f s%n", resumed);

        JsonNode failedOver = awaitActive(standby);
        assertNotEquals(active, controller(failedOver, "ACTIVE"));
        ApiClient.Reply read = api.get(data + "?offset=0&length=" + before.length);
        assertEquals(200, read.status(), new String(read.body()) + " " + failedOver);
        assertArrayEquals(before, read.body());
        assertArrayEquals(after, api.get(data + "?offset=" + (4 << 20) + "&length=" + after.length).body());
        JsonNode health = api.get("/v1/nodes/" + active + "/health").json();
        assertEquals("FAILED", health.path("status").asText(), health.toString());
        assertTrue(health.path("failedOver").toString().contains("fo"), health.toString());
        assertTrue(health.path("evidence").toString().contains("silent"), health.toString());

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

    private JsonNode awaitActive(String node) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            JsonNode v = api.get("/v1/volumes/fo").json();
            if (node.equals(controller(v, "ACTIVE")) && (v.path("operation").isMissingNode() || v.path("operation").isNull())) {
                return v;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not failed over to " + node + ": " + v);
            }
            Thread.sleep(200);
        }
    }

    private static String controller(JsonNode volume, String role) {
        for (JsonNode c : volume.path("controllers")) {
            if (c.path("role").asText().equals(role)) {
                return c.path("node").asText();
            }
        }
        return "";
    }

    private static byte[] random(int seed, int length) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }
}
