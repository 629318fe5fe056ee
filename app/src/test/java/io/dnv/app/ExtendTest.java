package io.dnv.app;

import com.fasterxml.jackson.databind.JsonNode;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.node.sim.SimulatedKernel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PATCH /v1/volumes/{id} on `./dnv dev`: a volume with two active controllers, attached and
 * written to by a host that goes on writing through the extend, grows; what was written reads
 * back, the new range is writable through the host, nothing stays suspended and every reserved
 * extent belongs to the volume. A refused extend reserves nothing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ExtendTest {

    static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:5a1d3c7e-9b2f-4e6a-8c1d-0f2e3a4b5c6d";
    static final long FROM = 32L << 20;
    static final long TO = 96L << 20;

    private DevCommand.DevSystem dev;
    private ApiClient api;

    @BeforeAll
    void start() throws Exception {
        Path dataDir = Files.createTempDirectory("dnv-extend-test");
        dev = DevCommand.DevSystem.start(dataDir, 0, 6, 2L << 30);
        dev.awaitNodesUp(Duration.ofSeconds(60));
        api = new ApiClient(dev.httpPort(), dev.token());
    }

    @AfterAll
    void stop() {
        dev.close();
    }

    @Test
    void anAttachedVolumeGrowsKeepsItsBytesAndTheHostWritesTheNewRange() throws Exception {
        long others = settledReservedBytes();
        assertEquals(202, api.post("/v1/volumes", "{\"name\":\"grow\",\"sizeBytes\":" + FROM
                + ",\"activeControllers\":2,\"legsPerController\":2}").status());
        api.awaitState("grow", "READY", Duration.ofSeconds(60));
        assertEquals(200, api.post("/v1/volumes/grow/attachments", "{\"hostNqn\":\"" + HOST + "\"}").status());
        String data = "/v1/sim/hosts/" + HOST + "/volumes/grow/data";
        byte[] before = random(1, 4 << 20);
        assertEquals(204, api.put(data + "?offset=0&length=" + before.length, before).status());
        byte[] last = random(2, 1 << 20);
        assertEquals(204, api.put(data + "?offset=" + (FROM - last.length) + "&length=" + last.length, last).status());

        // Every refusal names the field and changes nothing.
        for (String body : List.of("{\"sizeBytes\":16777216}", "{\"sizeBytes\":1000}", "{}", "{\"sizeBytes\":100663296,\"x\":1}",
                "{\"sizeBytes\":\"big\"}")) {
            JsonNode p = api.patch("/v1/volumes/grow", body).json();
            assertEquals(400, p.path("status").asInt(), body);
            assertTrue(p.path("errors").toString().contains("sizeBytes") || p.path("errors").toString().contains("\"x\""), body + ": " + p);
        }
        assertTrue(api.patch("/v1/volumes/grow", "{\"sizeBytes\":16777216}").json().path("errors").toString().contains("only grows"));
        assertEquals(404, api.patch("/v1/volumes/nosuch", "{\"sizeBytes\":" + TO + "}").status());
        assertEquals(202, api.patch("/v1/volumes/grow", "{\"sizeBytes\":" + FROM + "}").status(), "the size it has: nothing to do");
        assertTrue(api.get("/v1/volumes/grow").json().path("operation").isMissingNode()
                || api.get("/v1/volumes/grow").json().path("operation").isNull());

        // A writer keeps writing (and reading back) the old range while the volume grows.
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicInteger written = new AtomicInteger();
        AtomicReference<String> writerError = new AtomicReference<>();
        Thread writer = new Thread(() -> {
            byte[] block = random(3, 64 << 10);
            long offset = 8L << 20;
            while (writing.get() && writerError.get() == null) {
                ApiClient.Reply w = api.put(data + "?offset=" + offset + "&length=" + block.length, block);
                ApiClient.Reply r = api.get(data + "?offset=" + offset + "&length=" + block.length);
                if (w.status() != 204 || r.status() != 200 || !Arrays.equals(block, r.body())) {
                    writerError.set("write " + w.status() + ", read " + r.status() + " at " + offset);
                }
                written.incrementAndGet();
                offset = (offset + block.length) % (16L << 20) + (8L << 20);
            }
        }, "extend-test-writer");
        writer.start();

        ApiClient.Reply accepted = api.patch("/v1/volumes/grow", "{\"sizeBytes\":" + TO + "}");
        assertEquals(202, accepted.status(), new String(accepted.body()));
        assertEquals("extend", accepted.json().path("operation").path("kind").asText());
        assertEquals(FROM, accepted.json().path("sizeBytes").asLong(), "the old size until it is done");
        assertEquals(202, api.patch("/v1/volumes/grow", "{\"sizeBytes\":" + TO + "}").status(), "asked again while it runs");
        assertEquals(409, api.patch("/v1/volumes/grow", "{\"sizeBytes\":" + (2 * TO) + "}").status(), "another size while it runs");
        JsonNode grown = awaitSize("grow", VolumeLayout.of(new VolumeSpec(TO, 2, 1, 2, 2)).usableBytes());
        writing.set(false);
        writer.join(30_000);
        assertEquals(null, writerError.get(), "host I/O went on through the extend");
        assertTrue(written.get() > 0);

        assertEquals(TO, grown.path("spec").path("sizeBytes").asLong());
        for (JsonNode leg : grown.path("legs")) {
            assertEquals(2, leg.path("groups").size(), "a new raid1 group per leg");
            assertTrue(!leg.path("groups").get(1).path("brandNew").asBoolean());
        }
        assertArrayEquals(before, api.get(data + "?offset=0&length=" + before.length).body(), "written before, read after");
        assertArrayEquals(last, api.get(data + "?offset=" + (FROM - last.length) + "&length=" + last.length).body());
        byte[] fresh = random(4, 2 << 20);
        long end = grown.path("sizeBytes").asLong();
        assertEquals(204, api.put(data + "?offset=" + (end - fresh.length) + "&length=" + fresh.length, fresh).status());
        assertArrayEquals(fresh, api.get(data + "?offset=" + (end - fresh.length) + "&length=" + fresh.length).body(),
                "the host writes and reads the new range");
        assertEquals(204, api.put(data + "?offset=" + FROM + "&length=" + fresh.length, fresh).status());
        assertArrayEquals(fresh, api.get(data + "?offset=" + FROM + "&length=" + fresh.length).body());

        List<String> events = new ArrayList<>();
        api.get("/v1/volumes/grow/events").json().forEach(e -> events.add(e.path("type").asText()));
        assertTrue(events.containsAll(List.of("ExtendRequested", "ExtendNodesChosen", "GroupsReserved", "GroupsBuilt", "LegsGrown",
                "Extended")), events.toString());
        assertNothingSuspended();
        assertEquals(others + sideBytes(grown), reservedBytes(), "every extent reserved since is one of the volume's sides");

        assertEquals(200, api.delete("/v1/volumes/grow/attachments/" + HOST).status());
        assertEquals(202, api.delete("/v1/volumes/grow").status());
        api.awaitGone("grow", Duration.ofSeconds(60));
    }

    /** No disk node has room for the new groups: the extend fails, gives back what it got, and the volume stays as it was. */
    @Test
    void anExtendWithoutRoomFailsAndReservesNothing() {
        assertEquals(202, api.post("/v1/volumes", "{\"name\":\"nope\",\"sizeBytes\":" + FROM + ",\"legsPerController\":2}").status());
        JsonNode ready = api.awaitState("nope", "READY", Duration.ofSeconds(60));
        long reserved = settledReservedBytes();
        assertEquals(202, api.patch("/v1/volumes/nope", "{\"sizeBytes\":" + (16L << 30) + "}").status());
        JsonNode after = awaitNoOperation("nope");
        assertEquals("READY", after.path("state").asText());
        assertTrue(after.path("error").asText().contains("extend"), after.toString());
        assertEquals(ready.path("spec"), after.path("spec"));
        assertEquals(reserved, reservedBytes(), "nothing reserved for nothing");
        assertEquals(202, api.delete("/v1/volumes/nope").status());
        api.awaitGone("nope", Duration.ofSeconds(60));
    }

    private JsonNode awaitSize(String id, long bytes) {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        JsonNode v = null;
        while (System.nanoTime() < deadline) {
            v = api.get("/v1/volumes/" + id).json();
            if (v.path("sizeBytes").asLong() == bytes && (v.path("operation").isMissingNode() || v.path("operation").isNull())) {
                return v;
            }
            ApiClient.sleep(100);
        }
        throw new AssertionError(id + " did not reach " + bytes + " bytes: " + v);
    }

    private JsonNode awaitNoOperation(String id) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        JsonNode v = null;
        while (System.nanoTime() < deadline) {
            v = api.get("/v1/volumes/" + id).json();
            if (v.path("operation").isMissingNode() || v.path("operation").isNull()) {
                return v;
            }
            ApiClient.sleep(100);
        }
        throw new AssertionError(id + " still runs an operation: " + v);
    }

    private void assertNothingSuspended() {
        for (SimulatedKernel k : dev.kernels) {
            for (ObservedKernel.Dm d : k.observe().dmDevices()) {
                assertTrue(!d.suspended(), k.name() + " left " + d.name() + " suspended");
            }
        }
    }

    private static long sideBytes(JsonNode v) {
        long sum = 0;
        for (JsonNode leg : v.path("legs")) {
            for (JsonNode g : leg.path("groups")) {
                for (JsonNode s : g.path("sides")) {
                    sum += s.path("lengthSectors").asLong() * 512;
                }
            }
        }
        return sum;
    }

    /** Reserved bytes once no node still waits for its agent to confirm an earlier delete (the other test's). */
    private long settledReservedBytes() {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            boolean removing = false;
            for (JsonNode n : api.get("/v1/nodes").json().path("items")) {
                removing |= n.path("removing").size() > 0;
            }
            if (!removing) {
                return reservedBytes();
            }
            assertTrue(System.nanoTime() < deadline, "nodes still removing a deleted volume");
            ApiClient.sleep(100);
        }
    }

    private long reservedBytes() {
        long sum = 0;
        for (JsonNode n : api.get("/v1/nodes").json().path("items")) {
            sum += n.path("capacity").path("reservedBytes").asLong();
        }
        return sum;
    }

    private static byte[] random(int seed, int length) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }
}
