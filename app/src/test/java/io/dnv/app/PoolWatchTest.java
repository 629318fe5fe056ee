package io.dnv.app;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

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
        if (dev != null) {
            dev.close();
        }
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
     * A snapshot and 8 MiB overwritten take the pool to 64 of 77 blocks, 83 %, past the low-water
     * mark (80 %): the volume grows its pools (grow-pools: a second raid1 group per leg, 13 blocks
     * more) while the host writes and reads on, and the pool reads 64 of 90. The bytes the host
     * wrote read back, before and after the growth, a snapshot is taken again, and an extend
     * adds a third group over the grown pool.
     */
    @Test
    void aPoolPastTheMarkGrowsWhileTheHostWritesOn() throws Exception {
        createAttached("grow", 64 * MIB);
        byte[] image = random(2, (int) (56 * MIB));
        write("grow", 0, image);
        ApiClient.Reply s1 = api.post("/v1/volumes/grow/snapshots", "{\"name\":\"s1\"}");
        assertEquals(202, s1.status(), new String(s1.body()));
        awaitSnapshot("grow.1", "READY");
        byte[] over = random(3, (int) (8 * MIB));
        System.arraycopy(over, 0, image, 0, over.length);
        write("grow", 0, over);

        // The host writes its first 8 MiB again (blocks the origin owns since the snapshot: no new
        // ones) and reads the next 8 MiB back, 1 MiB at a time, throughout.
        java.util.concurrent.atomic.AtomicReference<Throwable> hostFailed = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicInteger rounds = new java.util.concurrent.atomic.AtomicInteger();
        Thread host = new Thread(() -> {
            try {
                for (int i = 0; !stop.get(); i = (i + 1) % 8) {
                    int at = i * (int) MIB;
                    write("grow", at, java.util.Arrays.copyOfRange(image, at, at + (int) MIB));
                    int back = at + 8 * (int) MIB;
                    assertArrayEquals(java.util.Arrays.copyOfRange(image, back, back + (int) MIB), read("grow", back, (int) MIB));
                    rounds.incrementAndGet();
                }
            } catch (Throwable t) {
                hostFailed.set(t);
            }
        }, "host-io");
        host.start();
        try {
            awaitVolume("grow", x -> x.path("operation").path("kind").asText().equals("grow-pools"));
            JsonNode grown = awaitVolume("grow", x -> x.path("operation").isMissingNode() || x.path("operation").isNull());
            assertEquals(2, grown.path("legs").get(0).path("groups").size(), grown.toString());
            assertTrue(grown.path("error").isMissingNode() || grown.path("error").isNull(), grown.toString());
            JsonNode pool = awaitPool("grow", p -> p.path("totalDataBlocks").asLong() == 90);
            assertEquals(64 * 100 / 90, pool.path("usedPercent").asInt());
        } finally {
            stop.set(true);
            host.join(60_000);
        }
        assertEquals(null, hostFailed.get(), "the host's I/O went on");
        assertTrue(rounds.get() > 0);
        for (int at = 0; at < image.length; at += 8 << 20) {
            assertArrayEquals(java.util.Arrays.copyOfRange(image, at, at + (8 << 20)), read("grow", at, 8 << 20), "at " + at);
        }
        assertEquals(null, api.get("/v1/volumes/grow").json().path("full").textValue(), "not FULL");
        ApiClient.Reply s2 = api.post("/v1/volumes/grow/snapshots", "{\"name\":\"s2\"}");
        assertEquals(202, s2.status(), new String(s2.body()));
        awaitSnapshot(s2.json().path("id").asText(), "READY");

        // An extend afterwards adds the next group to the leg, over the grown pool.
        assertEquals(202, api.patch("/v1/volumes/grow", "{\"sizeBytes\":" + 96 * MIB + "}").status());
        JsonNode extended = awaitVolume("grow", x -> x.path("sizeBytes").asLong() == 96 * MIB && x.path("operation").isNull());
        assertEquals(3, extended.path("legs").get(0).path("groups").size(), extended.toString());
        for (int at = 0; at < image.length; at += 8 << 20) {
            assertArrayEquals(java.util.Arrays.copyOfRange(image, at, at + (8 << 20)), read("grow", at, 8 << 20), "at " + at);
        }
    }

    /**
     * Three nodes of 100 MiB and a volume of 72 MiB mirrored on all three (87 blocks a pool, 90 MiB
     * an LD): no node has room for another group. A snapshot and 12 MiB overwritten take the pool
     * to 72 of 87 blocks, 82 %: the growth is refused and the volume is FULL with the reason; a
     * snapshot and a snapshot group naming it are refused 409 and leave nothing, the host writes
     * and reads on. Deleting the snapshot gives its blocks back and FULL clears.
     */
    @Test
    @Execution(ExecutionMode.CONCURRENT) // on a system of its own: runs beside the other two
    void withNoRoomToGrowTheVolumeIsFullUntilASnapshotIsDeleted() throws Exception {
        DevCommand.DevSystem small = DevCommand.DevSystem.start(Files.createTempDirectory("dnv-pool-full-test"), 0, 3, 100 * MIB);
        try {
            small.awaitNodesUp(Duration.ofSeconds(60));
            ApiClient api = new ApiClient(small.httpPort(), small.token());
            PoolWatchTest on = new PoolWatchTest();
            on.api = api;
            assertEquals(202, api.post("/v1/volumes", "{\"name\":\"full\",\"sizeBytes\":" + 72 * MIB
                    + ",\"activeControllers\":1,\"standbyControllers\":0,\"legsPerController\":1,\"replicas\":3}").status());
            api.awaitState("full", "READY", Duration.ofSeconds(60));
            assertEquals(200, api.post("/v1/volumes/full/attachments", "{\"hostNqn\":\"" + HOST + "\"}").status());
            byte[] first = random(4, (int) (60 * MIB));
            on.write("full", 0, first);
            ApiClient.Reply s1 = api.post("/v1/volumes/full/snapshots", "{\"name\":\"s1\"}");
            assertEquals(202, s1.status(), new String(s1.body()));
            on.awaitSnapshot("full.1", "READY");
            byte[] over = random(5, (int) (12 * MIB));
            on.write("full", 0, over);
            JsonNode v = on.awaitVolume("full", x -> x.path("full").isTextual());
            String why = v.path("full").asText();
            assertTrue(why.contains("leg 0's pool on " + v.path("legs").get(0).path("owner").asText()) && why.contains("82 %")
                    && why.contains("low-water mark of 80 %") && why.contains("pools not grown"), why);
            assertEquals(1, v.path("legs").get(0).path("groups").size(), "the refused group was given back");

            ApiClient.Reply refused = api.post("/v1/volumes/full/snapshots", "{\"name\":\"s2\"}");
            assertEquals(409, refused.status(), new String(refused.body()));
            assertEquals("application/problem+json", refused.contentType());
            assertTrue(refused.json().path("detail").asText().contains("FULL"), refused.json().toString());
            ApiClient.Reply group = api.post("/v1/snapshot-groups", "{\"name\":\"gfull\",\"volumeIds\":[\"full\"]}");
            assertEquals(409, group.status(), new String(group.body()));
            assertTrue(group.json().path("detail").asText().contains("FULL"), group.json().toString());
            assertEquals(List.of("full.1"), ids(api.get("/v1/volumes/full/snapshots").json()), "nothing of the refused ones");

            // The origin's writes go on: blocks it has since the snapshot take no new ones.
            byte[] again = random(6, (int) (12 * MIB));
            on.write("full", 0, again);
            assertArrayEquals(again, on.read("full", 0, again.length));
            assertArrayEquals(java.util.Arrays.copyOfRange(first, again.length, 16 << 20),
                    on.read("full", again.length, (16 << 20) - again.length));

            assertEquals(202, api.delete("/v1/snapshots/full.1").status());
            on.awaitVolume("full", x -> x.path("full").isMissingNode() || x.path("full").isNull());
            ApiClient.Reply s3 = api.post("/v1/volumes/full/snapshots", "{\"name\":\"s3\"}");
            assertEquals(202, s3.status(), new String(s3.body()));
            on.awaitSnapshot(s3.json().path("id").asText(), "READY");
        } finally {
            small.close();
        }
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
