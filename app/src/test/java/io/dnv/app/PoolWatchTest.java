package io.dnv.app;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A leg pool's free space watched, through the API on `./dnv dev` with a simulated host: what
 * the owner's kernel reports of the pool (dm-thin's status) shows on the volume, and a pool past
 * the low-water mark makes the volume FULL.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PoolWatchTest {

    static final String HOST = SnapshotTest.HOST;
    static final long MIB = 1L << 20;

    private DevCommand.DevSystem dev;
    private ApiClient api;

    @BeforeAll
    void start() throws Exception {
        Path dataDir = Files.createTempDirectory("dnv-pool-watch-test");
        dev = DevCommand.DevSystem.start(dataDir, 0, 6, 2L << 30);
        dev.awaitNodesUp(Duration.ofSeconds(60));
        api = new ApiClient(dev.httpPort(), dev.token());
    }

    @AfterAll
    void stop() {
        dev.close();
    }

    /**
     * One leg of 64 MiB: its pool has 77 blocks of 1 MiB (the leg and the 20 % reserve). Empty it
     * is not reported; 48 MiB written through the host map 48 blocks, 62 %, and the volume shows
     * them on the leg's owner.
     */
    @Test
    void aLegsPoolUsageShowsOnTheVolume() throws Exception {
        createAttached("usage", 64 * MIB);
        assertEquals(0, api.get("/v1/volumes/usage").json().path("kernel").path("pools").size(), "an empty pool is not reported");
        write("usage", 0, random(1, (int) (48 * MIB)));
        JsonNode pool = awaitPool("usage", p -> p.path("usedDataBlocks").asLong() >= 48);
        assertEquals(0, pool.path("leg").asInt());
        assertEquals(api.get("/v1/volumes/usage").json().path("legs").get(0).path("owner").asText(), pool.path("node").asText());
        assertEquals(77, pool.path("totalDataBlocks").asLong());
        assertEquals(48 * 100 / 77, pool.path("usedPercent").asInt());
        assertEquals("rw", pool.path("mode").asText());
    }

    /**
     * A pool past the low-water mark (80 %) makes the volume FULL with the reason: a snapshot and
     * a snapshot group naming it are refused 409 and leave nothing behind, while the host's
     * writes go on and read back. Deleting the snapshot that held the overwritten blocks gives
     * them back to the pool, and FULL clears: a snapshot is taken again.
     */
    @Test
    void aPoolPastTheMarkMakesTheVolumeFullAndASnapshotDeleteClearsIt() throws Exception {
        createAttached("full", 64 * MIB);
        byte[] first = random(2, (int) (56 * MIB));
        write("full", 0, first);
        ApiClient.Reply s1 = api.post("/v1/volumes/full/snapshots", "{\"name\":\"s1\"}");
        assertEquals(202, s1.status(), new String(s1.body()));
        awaitSnapshot("full.1", "READY");
        // 56 blocks shared with s1; 8 MiB overwritten take 8 more: 64 of 77, 83 %.
        byte[] over = random(3, (int) (8 * MIB));
        write("full", 0, over);
        JsonNode v = awaitVolume("full", x -> x.path("full").isTextual());
        String why = v.path("full").asText();
        assertTrue(why.contains("leg 0's pool on " + v.path("legs").get(0).path("owner").asText()) && why.contains("83 %")
                && why.contains("low-water mark of 80 %"), why);

        ApiClient.Reply refused = api.post("/v1/volumes/full/snapshots", "{\"name\":\"s2\"}");
        assertEquals(409, refused.status(), new String(refused.body()));
        assertEquals("application/problem+json", refused.contentType());
        assertTrue(refused.json().path("detail").asText().contains("FULL"), refused.json().toString());
        ApiClient.Reply group = api.post("/v1/snapshot-groups", "{\"name\":\"gfull\",\"volumeIds\":[\"full\"]}");
        assertEquals(409, group.status(), new String(group.body()));
        assertTrue(group.json().path("detail").asText().contains("FULL"), group.json().toString());
        assertEquals(List.of("full.1"), ids(api.get("/v1/volumes/full/snapshots").json()), "nothing of the refused ones");

        // The origin's writes go on: blocks it has since the snapshot take no new ones.
        byte[] again = random(4, (int) (8 * MIB));
        write("full", 0, again);
        assertArrayEquals(again, read("full", 0, again.length));
        assertArrayEquals(java.util.Arrays.copyOfRange(first, again.length, 16 << 20),
                read("full", again.length, (16 << 20) - again.length));

        assertEquals(202, api.delete("/v1/snapshots/full.1").status());
        awaitVolume("full", x -> x.path("full").isMissingNode() || x.path("full").isNull());
        ApiClient.Reply s3 = api.post("/v1/volumes/full/snapshots", "{\"name\":\"s3\"}");
        assertEquals(202, s3.status(), new String(s3.body()));
        awaitSnapshot(s3.json().path("id").asText(), "READY");
    }

    private JsonNode awaitVolume(String volume, java.util.function.Predicate<JsonNode> test) {
        long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        JsonNode v = null;
        while (System.nanoTime() < deadline) {
            v = api.get("/v1/volumes/" + volume).json();
            if (test.test(v)) {
                return v;
            }
            ApiClient.sleep(100);
        }
        throw new AssertionError("volume " + volume + " not as wanted: " + v);
    }

    private void awaitSnapshot(String id, String state) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        JsonNode s = null;
        while (System.nanoTime() < deadline) {
            s = api.get("/v1/snapshots/" + id).json();
            if (s.path("state").asText().equals(state)) {
                return;
            }
            ApiClient.sleep(50);
        }
        throw new AssertionError("snapshot " + id + " not " + state + ": " + s);
    }

    private static List<String> ids(JsonNode page) {
        List<String> out = new java.util.ArrayList<>();
        page.path("items").forEach(s -> out.add(s.path("id").asText()));
        return out;
    }

    private byte[] read(String volume, long offset, int length) {
        ApiClient.Reply r = api.get("/v1/sim/hosts/" + HOST + "/volumes/" + volume + "/data?offset=" + offset + "&length=" + length);
        assertEquals(200, r.status());
        return r.body();
    }

    private void createAttached(String name, long size) {
        assertEquals(202, api.post("/v1/volumes", "{\"name\":\"" + name + "\",\"sizeBytes\":" + size
                + ",\"activeControllers\":1,\"legsPerController\":1}").status());
        api.awaitState(name, "READY", Duration.ofSeconds(60));
        assertEquals(200, api.post("/v1/volumes/" + name + "/attachments", "{\"hostNqn\":\"" + HOST + "\"}").status());
    }

    private void write(String volume, long offset, byte[] data) {
        String path = "/v1/sim/hosts/" + HOST + "/volumes/" + volume + "/data";
        for (int at = 0; at < data.length; at += 16 << 20) {
            int len = Math.min(16 << 20, data.length - at);
            byte[] part = java.util.Arrays.copyOfRange(data, at, at + len);
            ApiClient.Reply r = api.put(path + "?offset=" + (offset + at) + "&length=" + len, part);
            assertEquals(204, r.status(), new String(r.body()));
        }
    }

    /** The volume's first reported pool once it satisfies {@code test}: the agents report at their passes. */
    private JsonNode awaitPool(String volume, java.util.function.Predicate<JsonNode> test) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        JsonNode v = null;
        while (System.nanoTime() < deadline) {
            v = api.get("/v1/volumes/" + volume).json();
            JsonNode pools = v.path("kernel").path("pools");
            if (pools.size() > 0 && test.test(pools.get(0))) {
                return pools.get(0);
            }
            ApiClient.sleep(100);
        }
        throw new AssertionError("volume " + volume + ": no pool as wanted: " + v.path("kernel"));
    }

    private static byte[] random(int seed, int length) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }
}
