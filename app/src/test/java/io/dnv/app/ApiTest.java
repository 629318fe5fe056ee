package io.dnv.app;

import com.fasterxml.jackson.databind.JsonNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.testing.RunningEntities;
import io.dnv.core.DomainError;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeSpec;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionStage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every route of the API over a real port, every refusal, and that a refusal changes nothing. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ApiTest {

    static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:1f7e0c55-3b7d-4d5e-8f22-9a0b1c2d3e4f";

    private Path dataDir;
    private DevCommand.DevSystem dev;
    private ApiClient api;

    @BeforeAll
    void start() throws Exception {
        dataDir = Files.createTempDirectory("dnv-api-test");
        dev = DevCommand.DevSystem.start(dataDir, 0, 6, 4L << 30);
        dev.awaitNodesUp(Duration.ofSeconds(60));
        api = new ApiClient(dev.httpPort(), dev.token());
    }

    @AfterAll
    void stop() {
        dev.close();
    }

    @Test
    void theOpenApiDocumentNeedsNoToken() {
        ApiClient.Reply r = api.getWithout("/v1/openapi.json", null);
        assertEquals(200, r.status());
        assertEquals("3.0.3", r.json().path("openapi").asText());
        assertTrue(r.json().path("paths").has("/v1/volumes/{id}/attachments"));
    }

    @Test
    void everyOtherRouteNeedsTheToken() {
        for (String auth : new String[]{null, "Bearer nope", "Basic abc", "Bearer "}) {
            for (String path : List.of("/v1/volumes", "/v1/nodes", "/v1/nodes/n1", "/v1/volumes/x/events")) {
                ApiClient.Reply r = api.getWithout(path, auth);
                assertEquals(401, r.status(), path + " with " + auth);
                assertEquals("application/problem+json", r.contentType());
                assertEquals(401, r.json().path("status").asInt());
            }
        }
        assertTrue(Files.exists(dataDir.resolve("api-token")));
    }

    @Test
    void nodesAreListedPagedAndShownWithTheirKernel() {
        JsonNode page1 = api.get("/v1/nodes?limit=4").json();
        assertEquals(4, page1.path("items").size());
        String token = page1.path("nextPageToken").asText();
        JsonNode page2 = api.get("/v1/nodes?limit=4&pageToken=" + token).json();
        assertEquals(2, page2.path("items").size());
        assertTrue(page2.path("nextPageToken").isNull());
        JsonNode n1 = api.get("/v1/nodes/n1").json();
        assertEquals("UP", n1.path("state").asText());
        assertEquals(4L << 30, n1.path("capacity").path("totalBytes").asLong());
        assertTrue(n1.path("info").path("capabilities").toString().contains("transport:tcp"));
        assertTrue(n1.path("info").path("roles").toString().contains("disk"));
        assertFalse(n1.path("lastHeartbeat").isNull());
        JsonNode kernel = api.get("/v1/nodes/n1/kernel").json();
        assertEquals(3, kernel.path("ports").size(), kernel.toString());
        assertEquals(404, api.get("/v1/nodes/nosuch").status());
        assertEquals(400, api.get("/v1/nodes?limit=0").status());
        assertEquals(400, api.get("/v1/nodes?pageToken=!!!").status());
    }

    @Test
    void everyInvalidCreateIsRefusedNamingTheFieldAndCreatesNothing() {
        String[][] cases = {
            {"{}", "name"},
            {"{\"sizeBytes\":1048576}", "name"},
            {"{\"name\":\"Bad_Name\",\"sizeBytes\":1048576}", "name"},
            {"{\"name\":\"" + "a".repeat(Names.VOLUME_ID_MAX + 1) + "\",\"sizeBytes\":1048576}", "name"},
            {"{\"name\":\"ok\"}", "sizeBytes"},
            {"{\"name\":\"ok\",\"sizeBytes\":1000}", "sizeBytes"},
            {"{\"name\":\"ok\",\"sizeBytes\":0}", "sizeBytes"},
            {"{\"name\":\"ok\",\"sizeBytes\":-1048576}", "sizeBytes"},
            {"{\"name\":\"ok\",\"sizeBytes\":\"big\"}", "sizeBytes"},
            {"{\"name\":\"ok\",\"sizeBytes\":1048576,\"activeControllers\":0}", "activeControllers"},
            {"{\"name\":\"ok\",\"sizeBytes\":1048576,\"activeControllers\":9}", "activeControllers"},
            {"{\"name\":\"ok\",\"sizeBytes\":1048576,\"standbyControllers\":5}", "standbyControllers"},
            {"{\"name\":\"ok\",\"sizeBytes\":1048576,\"legsPerController\":17}", "legsPerController"},
            {"{\"name\":\"ok\",\"sizeBytes\":1048576,\"replicas\":4}", "replicas"},
            {"{\"name\":\"ok\",\"sizeBytes\":1048576,\"replicas\":1.5}", "replicas"},
            {"{\"name\":\"ok\",\"sizeBytes\":1048576,\"colour\":\"red\"}", "colour"},
            {"[1,2]", "(body)"},
            {"{not json", "(body)"},
        };
        for (String[] c : cases) {
            ApiClient.Reply r = api.post("/v1/volumes", c[0]);
            assertEquals(400, r.status(), c[0]);
            assertEquals("application/problem+json", r.contentType());
            List<String> fields = new ArrayList<>();
            r.json().path("errors").forEach(e -> fields.add(e.path("field").asText()));
            assertTrue(fields.contains(c[1]), c[0] + " names " + c[1] + ": " + fields);
        }
        ApiClient.Reply big = api.post("/v1/volumes", "{\"name\":\"x\",\"pad\":\"" + "x".repeat(70_000) + "\"}");
        assertEquals(413, big.status());
        // the list lags the entities, so an empty list would prove nothing: ask the entities
        for (String name : List.of("ok", "x")) {
            assertEquals(404, api.get("/v1/volumes/" + name).status(), name + " was not created");
        }
    }

    @Test
    void aVolumeIsCreatedIdempotentlyAttachedUsedDetachedAndDeleted() {
        ApiClient.Reply created = api.post("/v1/volumes", "{\"name\":\"life\",\"sizeBytes\":33554432,\"legsPerController\":2}");
        assertEquals(202, created.status(), new String(created.body()));
        assertEquals("/v1/volumes/life", created.raw().headers().firstValue("Location").orElse(""));
        assertEquals(202, api.post("/v1/volumes", "{\"name\":\"life\",\"sizeBytes\":33554432,\"legsPerController\":2}").status());
        ApiClient.Reply other = api.post("/v1/volumes", "{\"name\":\"life\",\"sizeBytes\":67108864}");
        assertEquals(409, other.status());
        JsonNode ready = api.awaitState("life", "READY", Duration.ofSeconds(60));
        assertEquals(33554432, ready.path("sizeBytes").asLong());
        assertEquals(2, ready.path("controllers").size());
        assertEquals(2, ready.path("legs").size());
        assertEquals("ready", ready.path("step").asText());
        api.awaitList(items -> ApiClient.lists(items, "life", "READY"), "life READY", Duration.ofSeconds(30));

        assertEquals(400, api.post("/v1/volumes/life/attachments", "{\"hostNqn\":\"not-an-nqn\"}").status());
        assertEquals(400, api.post("/v1/volumes/life/attachments", "{\"hostNqn\":\"" + HOST + "\",\"x\":1}").status());
        assertEquals(404, api.post("/v1/volumes/nosuch/attachments", "{\"hostNqn\":\"" + HOST + "\"}").status());
        assertEquals(403, api.get("/v1/sim/hosts/" + HOST + "/volumes/life/data?offset=0&length=4096").status(),
                "a host that is not attached cannot connect");
        JsonNode connect = api.post("/v1/volumes/life/attachments", "{\"hostNqn\":\"" + HOST + "\"}").json();
        assertEquals("nqn.2024-01.io.dnv:vol:life", connect.path("subsystemNqn").asText());
        assertEquals(2, connect.path("paths").size());
        assertTrue(connect.path("paths").get(0).path("nvmeConnect").asText().startsWith("nvme connect -t tcp"));
        JsonNode h = connect.path("hostSettings");
        assertTrue(h.path("detectionAndFencingMillis").asInt() > 0, h.toString());
        assertTrue(Math.min(h.path("keepAliveTmo").asInt(), h.path("ioTimeout").asInt()) * 1000 >= 2 * h.path("detectionAndFencingMillis").asInt());
        assertEquals("numa", h.path("iopolicy").asText(), "one active controller: the host keeps to its nearest path");

        byte[] block = new byte[8192];
        new java.util.Random(7).nextBytes(block);
        String data = "/v1/sim/hosts/" + HOST + "/volumes/life/data";
        assertEquals(204, api.put(data + "?offset=4096&length=8192", block).status());
        assertTrue(java.util.Arrays.equals(block, api.get(data + "?offset=4096&length=8192").body()));
        assertEquals(400, api.get(data + "?offset=100&length=512").status());
        assertEquals(400, api.get(data + "?offset=0&length=0").status());
        assertEquals(400, api.get(data + "?offset=0").status());
        assertEquals(400, api.get(data + "?offset=33554432&length=512").status(), "past the end");
        assertEquals(400, api.get(data + "?offset=9223372036854775296&length=512").status(), "offset + length beyond a long");
        assertEquals(400, api.put(data + "?offset=0&length=512", block).status(), "length differs from the body");
        assertEquals(413, api.statusOfPutAskingFirst(data + "?offset=0&length=" + ((16 << 20) + 512), (16 << 20) + 512));

        assertEquals(409, api.delete("/v1/volumes/life").status(), "attached volumes are not deleted");
        assertEquals(200, api.delete("/v1/volumes/life/attachments/" + HOST).status());
        JsonNode events = api.get("/v1/volumes/life/events").json();
        assertEquals("CreateRequested", events.get(0).path("type").asText());
        assertTrue(events.toString().contains("AttachmentsChanged"));
        assertEquals(202, api.delete("/v1/volumes/life").status());
        api.awaitGone("life", Duration.ofSeconds(60));
        api.awaitList(items -> !ApiClient.lists(items, "life"), "life gone", Duration.ofSeconds(30));
        assertEquals(404, api.get("/v1/volumes/life/events").status());
        assertEquals(404, api.delete("/v1/volumes/life").status());
        awaitNoEntity("life");
    }

    /**
     * Volume entities are remembered, so a started entity is restarted with its shard and stays
     * in memory: one for a volume that does not exist (deleted, or a name merely looked up) goes
     * again at once.
     */
    @Test
    void aNameThatIsOnlyLookedUpLeavesNoEntityBehind() {
        assertEquals(404, api.get("/v1/volumes/looked-up").status());
        assertEquals(404, api.delete("/v1/volumes/looked-up").status());
        awaitNoEntity("looked-up");
        assertEquals(202, api.post("/v1/volumes", "{\"name\":\"looked-up\",\"sizeBytes\":33554432,\"legsPerController\":2}").status());
        api.awaitState("looked-up", "READY", Duration.ofSeconds(60));
        assertTrue(volumeEntities().contains("looked-up"), "a volume that exists is remembered");
        assertEquals(202, api.delete("/v1/volumes/looked-up").status());
        api.awaitGone("looked-up", Duration.ofSeconds(60));
        awaitNoEntity("looked-up");
    }

    /**
     * A lookup makes the entity ask to be passivated. A Create sent right behind it reaches the
     * entity before the shard's stop (both wait together while the shard remembers the new
     * entity): the entity stops anyway, wakes itself through the shard, and the create completes.
     */
    @Test
    void aCreateRightBehindALookupCompletes() {
        List<String> names = List.of("behind-0", "behind-1", "behind-2");
        for (String name : names) {
            EntityRef<Volume.Command> volume = ClusterSharding.get(dev.control).entityRefFor(Volume.ENTITY_TYPE_KEY, name);
            CompletionStage<Volume.Result> lookup = volume.ask(Volume.Get::new, Duration.ofSeconds(10));
            CompletionStage<Volume.Result> create = volume.ask(r -> new Volume.Create(name, new VolumeSpec(32L << 20, 1, 1, 2, 2), r),
                    Duration.ofSeconds(10));
            assertTrue(lookup.toCompletableFuture().join().error().orElseThrow() instanceof DomainError.NotFound);
            assertTrue(create.toCompletableFuture().join().volume().isPresent());
        }
        for (String name : names) {
            api.awaitState(name, "READY", Duration.ofSeconds(90));
            assertTrue(volumeEntities().contains(name), name + " is remembered");
            assertEquals(202, api.delete("/v1/volumes/" + name).status());
        }
        for (String name : names) {
            api.awaitGone(name, Duration.ofSeconds(60));
            awaitNoEntity(name);
        }
    }

    private void awaitNoEntity(String id) {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (volumeEntities().contains(id)) {
            assertTrue(System.nanoTime() < deadline, "the entity of " + id + " is still running");
            ApiClient.sleep(100);
        }
    }

    /** The ids of the Volume entities running on the control member. */
    private Set<String> volumeEntities() {
        return RunningEntities.ids(dev.control, Volume.ENTITY_TYPE_KEY);
    }

    @Test
    void aVolumeThatCannotBePlacedFailsNamingWhatIsMissingAndReservesNothing() {
        long reservedBefore = settledReservedBytes();
        ApiClient.Reply r = api.post("/v1/volumes", "{\"name\":\"huge\",\"sizeBytes\":" + (64L << 30) + ",\"legsPerController\":1}");
        assertEquals(202, r.status());
        JsonNode failed = api.awaitState("huge", "FAILED", Duration.ofSeconds(30));
        assertTrue(failed.path("error").asText().contains("disk nodes"), failed.toString());
        assertTrue(failed.path("error").asText().contains("MiB free"), failed.toString());
        assertEquals(reservedBefore, reservedBytes(), "a refused placement reserves nothing");
        assertEquals(202, api.delete("/v1/volumes/huge").status());
        api.awaitGone("huge", Duration.ofSeconds(30));
    }

    /** Reserved bytes once no node still waits for its agent to confirm an earlier delete (the others' tests). */
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
            assertTrue(System.nanoTime() < deadline, "nodes still removing: " + api.get("/v1/nodes").body().length);
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

    @Test
    void unknownRoutesAndMethodsAreProblems() {
        ApiClient.Reply r = api.get("/v1/nothing");
        assertEquals(404, r.status());
        assertEquals("application/problem+json", r.contentType());
        ApiClient.Reply m = api.put("/v1/volumes", new byte[0]);
        assertEquals(405, m.status());
        assertEquals("application/problem+json", m.contentType());
    }
}
