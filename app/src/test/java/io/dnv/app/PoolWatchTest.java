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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A leg pool's free space watched, through the API on `./dnv dev` with a simulated host: what
 * the owner's kernel reports of the pool (dm-thin's status) shows on the volume.
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
