package io.dnv.app;

import com.fasterxml.jackson.databind.JsonNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.ObservedKernel;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Clones through the API on `./dnv dev` (six simulated servers with dm-clone), bytes through the
 * simulated host: a clone of a volume under a sequential writer equals the source at one moment
 * between the request and its snapshot; a clone of a snapshot the origin overwrote reads the old
 * bytes at once, takes writes while it hydrates, and after its swap holds both; the source is let
 * go (its export and the clone's own snapshot); refusals as problem+json change nothing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CloneTest {

    static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:2d9c4e1a-7b3f-4c6d-8e5a-0f1b2c3d4e5f";
    static final long SIZE = 64L << 20;
    private static final int BLOCK = 4096;
    /** The writer's blocks: 8 MiB, every one on the next stripe chunk's leg in turn. */
    private static final int BLOCKS = 2048;

    private DevCommand.DevSystem dev;
    private ApiClient api;
    private final Map<String, SimulatedKernel> kernels = new LinkedHashMap<>();

    @BeforeAll
    void start() throws Exception {
        Path dataDir = Files.createTempDirectory("dnv-clone-test");
        dev = DevCommand.DevSystem.start(dataDir, 0, 6, 2L << 30);
        dev.awaitNodesUp(Duration.ofSeconds(60));
        api = new ApiClient(dev.httpPort(), dev.token());
        for (int i = 0; i < dev.kernels.size(); i++) {
            kernels.put(dev.infos.get(i).nodeId(), dev.kernels.get(i));
        }
    }

    @AfterAll
    void stop() {
        dev.close();
    }

    /**
     * A writer writes blocks 0, 1, 2, ... each once the one before was acknowledged, while a clone
     * of the volume is asked for: the clone holds blocks 0..k-1 as written and the rest as before,
     * with k at least what was acknowledged before the request (its snapshot came after) and at
     * most what was acknowledged once the clone knew its snapshot. Hydrated, it is finished: the
     * snapshot taken for it is gone from the source, which can be deleted again.
     */
    @Test
    void aCloneOfAVolumeUnderWriteLoadEqualsTheSourceAtTheClonePoint() throws Exception {
        assertEquals(202, api.post("/v1/volumes", "{\"name\":\"wsrc\",\"sizeBytes\":" + SIZE
                + ",\"activeControllers\":2,\"legsPerController\":2}").status());
        api.awaitState("wsrc", "READY", Duration.ofSeconds(60));
        assertEquals(200, api.post("/v1/volumes/wsrc/attachments", "{\"hostNqn\":\"" + HOST + "\"}").status());
        String data = "/v1/sim/hosts/" + HOST + "/volumes/wsrc/data";
        byte[] before = ApiClient.random(10, BLOCKS * BLOCK);
        assertEquals(204, api.put(data + "?offset=0&length=" + before.length, before).status());

        AtomicInteger acknowledged = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            for (int i = 0; i < BLOCKS && !stop.get(); i++) {
                assertEquals(204, api.put(data + "?offset=" + (long) i * BLOCK + "&length=" + BLOCK, block(i)).status());
                acknowledged.set(i + 1);
            }
        });
        while (acknowledged.get() < 20) {
            ApiClient.sleep(10);
        }
        int atRequest = acknowledged.get();
        ApiClient.Reply asked = api.post("/v1/volumes", "{\"name\":\"wcl\",\"source\":{\"volumeId\":\"wsrc\"}}");
        assertEquals(202, asked.status(), new String(asked.body()));
        JsonNode clone = asked.json();
        assertEquals(SIZE, clone.path("spec").path("sizeBytes").asLong(), "the source's size when none is asked");
        int atSnapshot = Integer.MAX_VALUE;
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            int now = acknowledged.get();
            clone = api.get("/v1/volumes/wcl").json();
            if (clone.path("cloneOf").path("snapshotId").isTextual()) {
                atSnapshot = now + 1;   // a write acknowledged meanwhile may be in it
                break;
            }
            ApiClient.sleep(10);
        }
        stop.set(true);
        writer.get(60, TimeUnit.SECONDS);
        assertTrue(atSnapshot < Integer.MAX_VALUE, "the clone never knew its snapshot: " + clone);
        assertEquals("wsrc." + 1, clone.path("cloneOf").path("snapshotId").asText());

        JsonNode done = awaitClone("wcl", "DONE");
        assertEquals(100, done.path("cloneOf").path("percent").asInt());
        long gone = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!api.get("/v1/volumes/wsrc/snapshots").json().path("items").isEmpty()) {
            assertTrue(System.nanoTime() < gone, "the snapshot taken for the clone is deleted once let go");
            ApiClient.sleep(50);
        }
        assertEquals(200, api.post("/v1/volumes/wcl/attachments", "{\"hostNqn\":\"" + HOST + "\"}").status());
        byte[] cloned = api.get("/v1/sim/hosts/" + HOST + "/volumes/wcl/data?offset=0&length=" + before.length).body();
        int k = 0;
        while (k < BLOCKS && Arrays.equals(block(k), Arrays.copyOfRange(cloned, k * BLOCK, (k + 1) * BLOCK))) {
            k++;
        }
        for (int i = k; i < BLOCKS; i++) {
            assertArrayEquals(Arrays.copyOfRange(before, i * BLOCK, (i + 1) * BLOCK), Arrays.copyOfRange(cloned, i * BLOCK, (i + 1) * BLOCK),
                    "block " + i + " (after the clone point, block " + k + ") is as before it");
        }
        assertTrue(k >= atRequest && k <= atSnapshot, "the clone point, block " + k + ", is between the request (" + atRequest
                + ") and the snapshot (" + atSnapshot + ")");
        List<String> events = events("wcl");
        assertTrue(events.containsAll(List.of("CloneSourceSnapshotted", "CloneSourceImported", "BecameReady", "CloneHydrated",
                "CloneMetadataDropped", "CloneSourceReleased")), events.toString());
        assertNothingOfTheSourceOnTheClonesNodes("wsrc");

        for (String v : List.of("wcl", "wsrc")) {
            assertEquals(200, api.delete("/v1/volumes/" + v + "/attachments/" + HOST).status());
            assertEquals(202, api.delete("/v1/volumes/" + v).status(), v + " is deleted: nothing holds it");
            api.awaitGone(v, Duration.ofSeconds(60));
        }
    }

    /**
     * A snapshot, then the origin overwritten: a clone of the snapshot reads the old bytes as soon
     * as it is READY, is written at once, and after hydration and the swap holds the snapshot's
     * bytes with its own write over them; while it still holds the export, the snapshot cannot be
     * deleted. Refusals (no source, a bad one, a size below the source's) change nothing.
     */
    @Test
    void aCloneOfAnOverwrittenSnapshotReadsTheOldBytesAndIsWrittenAtOnce() throws Exception {
        assertEquals(202, api.post("/v1/volumes", "{\"name\":\"ssrc\",\"sizeBytes\":" + SIZE + "}").status());
        api.awaitState("ssrc", "READY", Duration.ofSeconds(60));
        assertEquals(200, api.post("/v1/volumes/ssrc/attachments", "{\"hostNqn\":\"" + HOST + "\"}").status());
        String data = "/v1/sim/hosts/" + HOST + "/volumes/ssrc/data";
        byte[] old = ApiClient.random(20, 4 << 20);
        assertEquals(204, api.put(data + "?offset=0&length=" + old.length, old).status());
        String snap = api.post("/v1/volumes/ssrc/snapshots", "{\"name\":\"s\"}").json().path("id").asText();
        awaitSnapshotReady(snap);
        byte[] overwritten = ApiClient.random(21, old.length);
        assertEquals(204, api.put(data + "?offset=0&length=" + overwritten.length, overwritten).status());

        int volumes = api.get("/v1/volumes").json().path("items").size();
        for (String body : List.of("{\"name\":\"c\",\"source\":{}}", "{\"name\":\"c\",\"source\":{\"snapshotId\":\"x\"}}",
                "{\"name\":\"c\",\"source\":{\"snapshotId\":\"" + snap + "\",\"volumeId\":\"ssrc\"}}",
                "{\"name\":\"c\",\"source\":{\"snapshotId\":\"ssrc.9\"}}", "{\"name\":\"c\",\"source\":{\"volumeId\":\"nosuch\"}}",
                "{\"name\":\"c\",\"sizeBytes\":" + (SIZE / 2) + ",\"source\":{\"snapshotId\":\"" + snap + "\"}}")) {
            ApiClient.Reply r = api.post("/v1/volumes", body);
            assertEquals(400, r.status(), body + ": " + new String(r.body()));
            assertEquals("application/problem+json", r.raw().headers().firstValue("Content-Type").orElseThrow(), body);
        }
        assertTrue(api.post("/v1/volumes", "{\"name\":\"c\",\"sizeBytes\":" + (SIZE / 2) + ",\"source\":{\"snapshotId\":\"" + snap
                + "\"}}").json().toString().contains("at least the source's size"));
        assertEquals(volumes, api.get("/v1/volumes").json().path("items").size(), "nothing created");

        assertEquals(202, api.post("/v1/volumes", "{\"name\":\"scl\",\"sizeBytes\":" + (2 * SIZE) + ",\"source\":{\"snapshotId\":\""
                + snap + "\"}}").status());
        api.awaitState("scl", "READY", Duration.ofSeconds(60));
        assertEquals(200, api.post("/v1/volumes/scl/attachments", "{\"hostNqn\":\"" + HOST + "\"}").status());
        String cloneData = "/v1/sim/hosts/" + HOST + "/volumes/scl/data";
        assertArrayEquals(old, api.get(cloneData + "?offset=0&length=" + old.length).body(), "the snapshot's bytes");
        byte[] mine = ApiClient.random(22, 64 << 10);
        assertEquals(204, api.put(cloneData + "?offset=" + (1 << 20) + "&length=" + mine.length, mine).status());
        assertArrayEquals(mine, api.get(cloneData + "?offset=" + (1 << 20) + "&length=" + mine.length).body());
        assertArrayEquals(new byte[1 << 20], api.get(cloneData + "?offset=" + SIZE + "&length=" + (1 << 20)).body(),
                "past the source: zeroes");

        JsonNode done = awaitClone("scl", "DONE");
        assertEquals(SIZE, done.path("cloneOf").path("totalBytes").asLong());
        byte[] expected = old.clone();
        System.arraycopy(mine, 0, expected, 1 << 20, mine.length);
        assertArrayEquals(expected, api.get(cloneData + "?offset=0&length=" + expected.length).body(), "after the swap");
        assertArrayEquals(overwritten, api.get(data + "?offset=0&length=" + overwritten.length).body(), "the source untouched");
        assertEquals(List.of(snap), ids(api.get("/v1/volumes/ssrc/snapshots").json()), "the snapshot the clone was asked of stays");
        assertEquals(202, api.delete("/v1/snapshots/" + snap).status(), "and, let go, can be deleted");
        assertNothingOfTheSourceOnTheClonesNodes("ssrc");
        for (String v : List.of("scl", "ssrc")) {
            assertEquals(200, api.delete("/v1/volumes/" + v + "/attachments/" + HOST).status());
            assertEquals(202, api.delete("/v1/volumes/" + v).status());
            api.awaitGone(v, Duration.ofSeconds(60));
        }
    }

    private static byte[] block(int i) {
        return ApiClient.random(1000 + i, BLOCK);
    }

    private JsonNode awaitClone(String id, String status) {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        JsonNode v = null;
        while (System.nanoTime() < deadline) {
            v = api.get("/v1/volumes/" + id).json();
            if (v.path("cloneOf").path("status").asText().equals(status) && v.path("operation").isMissingNode()
                    || v.path("cloneOf").path("status").asText().equals(status) && v.path("operation").isNull()) {
                return v;
            }
            ApiClient.sleep(50);
        }
        throw new AssertionError(id + " not " + status + ": " + v);
    }

    private void awaitSnapshotReady(String id) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!api.get("/v1/snapshots/" + id).json().path("state").asText().equals("READY")) {
            assertTrue(System.nanoTime() < deadline, id + " not READY");
            ApiClient.sleep(50);
        }
    }

    private List<String> events(String id) {
        List<String> out = new ArrayList<>();
        api.get("/v1/volumes/" + id + "/events").json().forEach(e -> out.add(e.path("type").asText()));
        return out;
    }

    private static List<String> ids(JsonNode page) {
        List<String> out = new ArrayList<>();
        page.path("items").forEach(s -> out.add(s.path("id").asText()));
        return out;
    }

    /** No node imports or exports a snapshot of the source, and no clone device is left; nothing suspended. */
    private void assertNothingOfTheSourceOnTheClonesNodes(String source) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            List<String> left = new ArrayList<>();
            kernels.forEach((node, k) -> {
                ObservedKernel o = k.observe();
                o.dmDevices().stream().filter(d -> d.name().contains("-snapx-" + source + "-") || d.name().contains("-clsrc-")
                        || d.name().contains("-clmeta-") || d.name().contains("-cldst-")).forEach(d -> left.add(node + " " + d.name()));
                o.dmDevices().stream().filter(ObservedKernel.Dm::suspended).forEach(d -> left.add(node + " suspended " + d.name()));
                o.subsystems().stream().filter(s -> s.nqn().startsWith(Names.NQN_PREFIX + "snap:" + source + ":"))
                        .forEach(s -> left.add(node + " exports " + s.nqn()));
            });
            if (left.isEmpty()) {
                return;
            }
            assertTrue(System.nanoTime() < deadline, "left: " + left);
            ApiClient.sleep(100);
        }
    }
}
