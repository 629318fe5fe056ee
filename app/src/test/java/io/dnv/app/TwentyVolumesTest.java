package io.dnv.app;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The system as ./dnv dev runs it, through its HTTP API on a real port: 20 volumes created
 * concurrently, each attached and written with its own pattern through a simulated host and
 * read back; a full restart (every node power-cycled) and the bytes read back again; all
 * deleted, nothing with the prefix left on any node and every byte of capacity free.
 */
class TwentyVolumesTest {

    static final int VOLUMES = 20;
    static final int PATTERN = 1 << 20;
    static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:5b0c9a3e-7a11-4e1b-9f0e-2d6c8f1a4b77";

    @TempDir
    Path dataDir;

    @Test
    void createAttachWriteRestartReadDeleteTwentyVolumes() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(VOLUMES);
        List<byte[]> patterns = new ArrayList<>();
        for (int i = 0; i < VOLUMES; i++) {
            byte[] p = new byte[PATTERN];
            new Random(i).nextBytes(p);
            patterns.add(p);
        }
        ListAppender<ILoggingEvent> regionLog = new ListAppender<>();
        Logger regions = (Logger) LoggerFactory.getLogger("org.apache.pekko.cluster.sharding.ShardRegion");
        regions.addAppender(regionLog);
        regionLog.start();
        try (DevCommand.DevSystem dev = DevCommand.DevSystem.start(dataDir, 0, 6, 8L << 30)) {
            dev.awaitNodesUp(Duration.ofSeconds(60));
            ApiClient api = new ApiClient(dev.httpPort(), dev.token());
            forEach(pool, i -> {
                ApiClient.Reply r = api.post("/v1/volumes", "{\"name\":\"v" + i + "\",\"sizeBytes\":" + (32 << 20) + ",\"legsPerController\":2}");
                assertEquals(202, r.status(), new String(r.body()));
                api.awaitState("v" + i, "READY", Duration.ofSeconds(120));
                ApiClient.Reply a = api.post("/v1/volumes/v" + i + "/attachments", "{\"hostNqn\":\"" + HOST + "\"}");
                assertEquals(200, a.status(), new String(a.body()));
                ApiClient.Reply w = api.put(data(i), patterns.get(i));
                assertEquals(204, w.status(), new String(w.body()));
                assertArrayEquals(patterns.get(i), api.get(data(i)).body(), "v" + i + " reads back what was written");
            });
            assertNoExtentSharedByTwoVolumes(api);
            assertPagesWalkTheList(api);
        } finally {
            regions.detachAppender(regionLog);
        }
        // Stopping hands every shard off: a READY volume stops, it does not send itself anything
        // the shutting-down region would have to hold until its shutdown times out.
        List<String> buffered = regionLog.list.stream().map(ILoggingEvent::getFormattedMessage)
                .filter(m -> m.contains("Graceful shutdown of shard region timed out")).toList();
        assertEquals(List.of(), buffered, "the regions held messages while shutting down");
        try (DevCommand.DevSystem dev = DevCommand.DevSystem.start(dataDir, 0, 6, 8L << 30)) {
            dev.awaitNodesUp(Duration.ofSeconds(60));
            ApiClient api = new ApiClient(dev.httpPort(), dev.token());
            forEach(pool, i -> {
                api.awaitState("v" + i, "READY", Duration.ofSeconds(60));
                assertArrayEquals(patterns.get(i), readEventually(api, i), "v" + i + " after every node was power-cycled");
                assertEquals(200, api.delete("/v1/volumes/v" + i + "/attachments/" + HOST).status());
                assertEquals(202, api.delete("/v1/volumes/v" + i).status());
                api.awaitGone("v" + i, Duration.ofSeconds(120));
            });
            api.awaitList(items -> items.size() == 0, "no volume listed", Duration.ofSeconds(30));
            Kernels.awaitNoObjects(dev.kernels, Duration.ofSeconds(60));
            // A node frees a deleted volume's extents once its agent reported them gone: a pass after the objects went.
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            for (JsonNode n : api.get("/v1/nodes").json().path("items")) {
                String id = n.path("id").asText();
                while (api.get("/v1/nodes/" + id).json().path("capacity").path("reservedBytes").asLong() != 0) {
                    assertTrue(System.nanoTime() < deadline, id + " has capacity reserved: " + api.get("/v1/nodes/" + id).json());
                    ApiClient.sleep(200);
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static String data(int i) {
        return "/v1/sim/hosts/" + HOST + "/volumes/v" + i + "/data?offset=" + (3 << 20) + "&length=" + PATTERN;
    }

    /** Right after a restart the agents may still be re-assembling: a read may wait for its path. */
    private static byte[] readEventually(ApiClient api, int i) {
        ApiClient.Reply r = null;
        for (int attempt = 0; attempt < 100; attempt++) {
            r = api.get(data(i));
            if (r.status() == 200) {
                return r.body();
            }
            ApiClient.sleep(200);
        }
        throw new AssertionError("v" + i + " not readable after restart: " + r.status() + " " + new String(r.body()));
    }

    private static void assertNoExtentSharedByTwoVolumes(ApiClient api) {
        JsonNode listed = api.awaitList(items -> items.size() == VOLUMES && allReady(items), "every volume READY", Duration.ofSeconds(30));
        List<String> extents = new ArrayList<>();
        for (JsonNode v : listed) {
            for (JsonNode leg : v.path("legs")) {
                for (JsonNode g : leg.path("groups")) {
                    for (JsonNode s : g.path("sides")) {
                        extents.add(s.path("node").asText() + ":" + s.path("startSector").asLong());
                    }
                }
            }
        }
        assertEquals(VOLUMES * 2 * 2, extents.size(), "every leg side of every volume is listed");
        assertEquals(extents.size(), extents.stream().distinct().count(), "no extent is reserved twice");
    }

    private static boolean allReady(JsonNode items) {
        for (JsonNode v : items) {
            if (!v.path("state").asText().equals("READY")) {
                return false;
            }
        }
        return true;
    }

    /** Pages of 7 walk the list in id order, each volume once, the last page without a token. */
    private static void assertPagesWalkTheList(ApiClient api) {
        List<String> ids = new ArrayList<>();
        String token = null;
        int pages = 0;
        do {
            JsonNode page = api.get("/v1/volumes?limit=7" + (token == null ? "" : "&pageToken=" + token)).json();
            page.path("items").forEach(v -> ids.add(v.path("id").asText()));
            token = page.path("nextPageToken").isNull() ? null : page.path("nextPageToken").asText();
            pages++;
        } while (token != null);
        assertEquals(3, pages);
        assertEquals(ids.stream().sorted().toList(), ids, "id order");
        assertEquals(VOLUMES, ids.stream().distinct().count(), "every volume exactly once: " + ids);
    }

    private interface PerVolume {
        void run(int i) throws Exception;
    }

    private static void forEach(ExecutorService pool, PerVolume body) throws Exception {
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (int i = 0; i < VOLUMES; i++) {
            int v = i;
            all.add(CompletableFuture.runAsync(() -> {
                try {
                    body.run(v);
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            }, pool));
        }
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get();
        assertTrue(all.stream().noneMatch(CompletableFuture::isCompletedExceptionally));
    }
}
