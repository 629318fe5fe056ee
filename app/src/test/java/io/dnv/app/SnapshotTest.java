package io.dnv.app;

import com.fasterxml.jackson.databind.JsonNode;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Snapshots through the API on `./dnv dev`: a volume with two active controllers, attached and
 * written, is snapshotted; the host overwrites what it wrote and the snapshot still holds the
 * old bytes (read from the legs' pools on the simulated kernels), nothing is left suspended.
 * Refusals change nothing; a volume with snapshots is deleted only with them; a deleted
 * snapshot is gone from every pool.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SnapshotTest {

    static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:6b2e9d1f-3c4a-4e5b-9f6a-1d2c3b4a5e6f";
    static final long SIZE = 64L << 20;

    private DevCommand.DevSystem dev;
    private ApiClient api;
    private final Map<String, SimulatedKernel> kernels = new LinkedHashMap<>();

    @BeforeAll
    void start() throws Exception {
        Path dataDir = Files.createTempDirectory("dnv-snapshot-test");
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
     * A snapshot group through the API: refusals name the field or the member and change
     * nothing; a group is taken (each member's snapshot READY, named as the group), shows its
     * events, and is deleted with its members' snapshots.
     */
    @Test
    void aSnapshotGroupIsTakenShownAndDeletedThroughTheApi() throws Exception {
        for (String v : List.of("grp-a", "grp-b")) {
            assertEquals(202, api.post("/v1/volumes", "{\"name\":\"" + v + "\",\"sizeBytes\":" + SIZE + "}").status());
        }
        api.awaitState("grp-a", "READY", Duration.ofSeconds(60));
        api.awaitState("grp-b", "READY", Duration.ofSeconds(60));
        for (String body : List.of("{}", "{\"name\":\"g\"}", "{\"name\":\"g\",\"volumeIds\":[]}",
                "{\"name\":\"g\",\"volumeIds\":[\"grp-a\",\"grp-a\"]}", "{\"name\":\"G\",\"volumeIds\":[\"grp-a\"]}",
                "{\"name\":\"g\",\"volumeIds\":[\"grp-a\"],\"x\":1}")) {
            ApiClient.Reply r = api.post("/v1/snapshot-groups", body);
            assertEquals(400, r.status(), body);
            assertEquals("application/problem+json", r.raw().headers().firstValue("Content-Type").orElseThrow(), body);
        }
        ApiClient.Reply missing = api.post("/v1/snapshot-groups", "{\"name\":\"gm\",\"volumeIds\":[\"grp-a\",\"nosuch\"]}");
        assertEquals(400, missing.status());
        assertTrue(missing.json().toString().contains("no volume nosuch"), missing.json().toString());
        assertEquals(404, api.get("/v1/snapshot-groups/gm").status(), "a refused group is not there");
        assertEquals(0, api.get("/v1/volumes/grp-a/snapshots").json().path("items").size(), "nor anything of it in a member");

        ApiClient.Reply taken = api.post("/v1/snapshot-groups", "{\"name\":\"g\",\"volumeIds\":[\"grp-a\",\"grp-b\"]}");
        assertEquals(202, taken.status(), new String(taken.body()));
        assertEquals("/v1/snapshot-groups/g", taken.raw().headers().firstValue("Location").orElseThrow());
        JsonNode g = taken.json();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!g.path("state").asText().equals("READY") && System.nanoTime() < deadline) {
            Thread.sleep(50);
            g = api.get("/v1/snapshot-groups/g").json();
        }
        assertEquals("READY", g.path("state").asText(), g.toString());
        assertEquals(2, g.path("snapshotIds").size());
        for (JsonNode id : g.path("snapshotIds")) {
            JsonNode s = api.get("/v1/snapshots/" + id.asText()).json();
            assertEquals("READY", s.path("state").asText());
            assertEquals("g", s.path("name").asText());
        }
        List<String> events = new ArrayList<>();
        api.get("/v1/snapshot-groups/g/events").json().forEach(e -> events.add(e.path("type").asText()));
        assertEquals(List.of("Requested", "MembersJoined", "StripesHeld", "ThinsSnapped", "Taken", "MembersTold"), events);
        assertEquals(404, api.get("/v1/snapshot-groups/nosuch/events").status());

        assertEquals(202, api.delete("/v1/snapshot-groups/g").status());
        deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (api.get("/v1/snapshot-groups/g").status() != 404 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(404, api.get("/v1/snapshot-groups/g").status());
        assertEquals(0, api.get("/v1/volumes/grp-a/snapshots").json().path("items").size());
        assertEquals(0, api.get("/v1/volumes/grp-b/snapshots").json().path("items").size());
    }

    @Test
    void aSnapshotKeepsItsMomentThroughAnOverwriteAndIsDeletedFromEveryPool() throws Exception {
        assertEquals(202, api.post("/v1/volumes", "{\"name\":\"snap\",\"sizeBytes\":" + SIZE
                + ",\"activeControllers\":2,\"legsPerController\":2}").status());
        api.awaitState("snap", "READY", Duration.ofSeconds(60));
        assertEquals(200, api.post("/v1/volumes/snap/attachments", "{\"hostNqn\":\"" + HOST + "\"}").status());
        String data = "/v1/sim/hosts/" + HOST + "/volumes/snap/data";
        byte[] before = random(1, 4 << 20);
        assertEquals(204, api.put(data + "?offset=0&length=" + before.length, before).status());

        // Refusals name the field, and change nothing.
        for (String body : List.of("{}", "{\"name\":\"Upper\"}", "{\"name\":\"a\",\"x\":1}", "{\"name\":7}")) {
            ApiClient.Reply r = api.post("/v1/volumes/snap/snapshots", body);
            assertEquals(400, r.status(), body);
            assertTrue(r.json().path("errors").toString().contains("name") || r.json().path("errors").toString().contains("\"x\""), body);
        }
        assertEquals(404, api.post("/v1/volumes/nosuch/snapshots", "{\"name\":\"a\"}").status());
        assertEquals(0, api.get("/v1/volumes/snap/snapshots").json().path("items").size());

        ApiClient.Reply taken = api.post("/v1/volumes/snap/snapshots", "{\"name\":\"first\"}");
        assertEquals(202, taken.status(), new String(taken.body()));
        String id = taken.json().path("id").asText();
        assertEquals("snap.1", id);
        assertEquals("/v1/snapshots/snap.1", taken.raw().headers().firstValue("Location").orElseThrow());
        JsonNode ready = awaitSnapshot(id, "READY");
        assertEquals("snap", ready.path("volumeId").asText());
        assertEquals("first", ready.path("name").asText());
        assertEquals(SIZE, ready.path("sizeBytes").asLong());
        assertEquals(id, api.post("/v1/volumes/snap/snapshots", "{\"name\":\"first\"}").json().path("id").asText(),
                "the same name again is the same snapshot");
        assertNothingSuspended();

        byte[] after = random(2, before.length);
        assertEquals(204, api.put(data + "?offset=0&length=" + after.length, after).status());
        assertArrayEquals(after, api.get(data + "?offset=0&length=" + after.length).body(), "the volume has the new bytes");
        JsonNode volume = api.get("/v1/volumes/snap").json();
        assertArrayEquals(before, SnapshotImage.read(kernels, volume, 1).volume(0, before.length), "the snapshot the old ones");

        List<String> events = new ArrayList<>();
        api.get("/v1/volumes/snap/events").json().forEach(e -> events.add(e.path("type").asText()));
        assertTrue(events.containsAll(List.of("SnapshotRequested", "StripesHeld", "ThinsSnapped", "SnapshotTaken")), events.toString());
        assertEquals(List.of(id), ids(api.get("/v1/volumes/snap/snapshots").json()));

        assertEquals(404, api.get("/v1/snapshots/snap.9").status());
        assertEquals(404, api.get("/v1/snapshots/not-a-snapshot-id").status());
        assertEquals(404, api.delete("/v1/snapshots/nosuch.1").status());
        assertEquals(200, api.delete("/v1/volumes/snap/attachments/" + HOST).status());
        ApiClient.Reply refused = api.delete("/v1/volumes/snap");
        assertEquals(409, refused.status());
        assertTrue(refused.json().path("detail").asText().contains("deleteSnapshots=true"), refused.json().toString());
        assertEquals(400, api.delete("/v1/volumes/snap?deleteSnapshots=maybe").status());
        assertEquals("READY", api.get("/v1/volumes/snap").json().path("state").asText());

        ApiClient.Reply deleting = api.delete("/v1/snapshots/" + id);
        assertEquals(202, deleting.status(), new String(deleting.body()));
        awaitGone(id);
        for (JsonNode leg : volume.path("legs")) {
            String owner = leg.path("owner").asText();
            assertTrue(!SnapshotImage.exists(kernels.get(owner), io.dnv.core.kernel.Names.pool(owner, "snap", leg.path("index").asInt()), 1),
                    "thin 1 is gone from the pool of leg " + leg.path("index").asInt());
        }
        assertEquals(0, api.get("/v1/volumes/snap/snapshots").json().path("items").size());

        String second = api.post("/v1/volumes/snap/snapshots", "{\"name\":\"second\"}").json().path("id").asText();
        assertEquals("snap.2", second, "a deleted snapshot's thin id is not handed out again");
        awaitSnapshot(second, "READY");
        assertEquals(202, api.delete("/v1/volumes/snap?deleteSnapshots=true").status());
        api.awaitGone("snap", Duration.ofSeconds(60));
        assertEquals(404, api.get("/v1/snapshots/" + second).status());
        assertNothingSuspended();
    }

    private JsonNode awaitSnapshot(String id, String state) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        JsonNode s = null;
        while (System.nanoTime() < deadline) {
            s = api.get("/v1/snapshots/" + id).json();
            if (s.path("state").asText().equals(state)) {
                return s;
            }
            ApiClient.sleep(50);
        }
        throw new AssertionError("snapshot " + id + " not " + state + ": " + s);
    }

    private void awaitGone(String id) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (api.get("/v1/snapshots/" + id).status() != 404) {
            assertTrue(System.nanoTime() < deadline, "snapshot " + id + " still there");
            ApiClient.sleep(50);
        }
    }

    private static List<String> ids(JsonNode page) {
        List<String> out = new ArrayList<>();
        page.path("items").forEach(s -> out.add(s.path("id").asText()));
        return out;
    }

    private void assertNothingSuspended() {
        for (SimulatedKernel k : dev.kernels) {
            for (ObservedKernel.Dm d : k.observe().dmDevices()) {
                assertTrue(!d.suspended(), k.name() + " left " + d.name() + " suspended");
            }
        }
    }

    private static byte[] random(int seed, int length) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }
}
