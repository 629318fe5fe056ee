package io.dnv.app;

import com.fasterxml.jackson.databind.JsonNode;
import io.dnv.node.sim.KernelLatencies;
import io.dnv.persistence.Database;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A failover takes precedence over whatever the volume is doing (docs/flows.md, the conflict
 * rule), through the HTTP API of `./dnv dev` with a node crashed by {@code POST
 * /v1/sim/nodes/{id}/faults}: a create caught by the failure of one of its nodes is placed again
 * without it; an attach caught by the failover of the volume's active ends on the new placement;
 * a delete of a volume whose node failed finishes, and every extent is freed once its node can
 * confirm it unused. After each, the node comes back and every node's reservations are exactly
 * the volumes' sides and controllers: nothing half-created, nothing stranded.
 *
 * <p>Creating a raid1 group costs 1.5 s here, so a create is still converging when the test
 * sees its placement and crashes a node of it.
 */
class FailoverPrecedenceTest {

    static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d";
    static final String SPEC = ",\"sizeBytes\":" + (32L << 20) + ",\"legsPerController\":2}";

    private DevCommand.DevSystem dev;
    private ApiClient api;
    private final List<String> volumes = new ArrayList<>();

    /** A system for each test: the tests run two at a time (they spend their time waiting for a failover, not computing). */
    @BeforeEach
    void start() throws Exception {
        Path dataDir = Files.createTempDirectory("dnv-failover-precedence-test");
        dev = DevCommand.DevSystem.start(dataDir, 0, 6, 1L << 30, Database.h2File(dataDir.resolve("db")),
                KernelLatencies.NONE.with(KernelLatencies.Op.DM_CREATE_RAID1, Duration.ofMillis(1500)), FailoverTest.SOONER_DOWNED);
        dev.awaitNodesUp(Duration.ofSeconds(60));
        api = new ApiClient(dev.httpPort(), dev.token());
    }

    @AfterEach
    void stop() {
        dev.close();
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void aCreateWhoseNodeFailsMidwayIsPlacedAgainWithoutIt() throws Exception {
        assertEquals(202, api.post("/v1/volumes", "{\"name\":\"pc\"" + SPEC).status());
        JsonNode creating = api.get("/v1/volumes/pc").json();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (creating.path("controllers").isEmpty()) {
            assertTrue(System.nanoTime() < deadline, "no placement: " + creating);
            ApiClient.sleep(20);
            creating = api.get("/v1/volumes/pc").json();
        }
        assertEquals("CREATING", creating.path("state").asText(), "caught midway: " + creating);
        String victim = controller(creating, "ACTIVE");
        crash(victim);

        JsonNode ready = api.awaitState("pc", "READY", Duration.ofSeconds(120));
        volumes.add("pc");
        assertFalse(nodesOf(ready).contains(victim), "placed again without " + victim + ": " + ready);
        List<JsonNode> events = events("pc");
        JsonNode lost = events.stream().filter(e -> e.path("type").asText().equals("PlacementLost")).findFirst().orElseThrow();
        assertEquals(victim, lost.path("event").path("nodeId").asText());
        List<String> after = types(events).subList(types(events).indexOf("PlacementLost"), events.size());
        assertEquals(List.of("PlacementLost", "ObjectsRemoved", "PlacementRefused", "NodesChosen", "Reserved", "ObjectsApplied",
                "BecameReady"), after);
        writeAndRead("pc", 1);

        heal(victim);
        awaitReservationsAreTheVolumes();
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void anAttachCaughtByAFailoverEndsOnTheNewPlacement() throws Exception {
        assertEquals(202, api.post("/v1/volumes", "{\"name\":\"pa\"" + SPEC).status());
        JsonNode v = api.awaitState("pa", "READY", Duration.ofSeconds(60));
        volumes.add("pa");
        String victim = controller(v, "ACTIVE");
        String standby = controller(v, "STANDBY");

        // Right after the crash: the attach reaches the kernels of every node but the dead one,
        // waits for it, and the failover takes over once the node is declared failed.
        crash(victim);
        ApiClient.Reply attached = api.post("/v1/volumes/pa/attachments", "{\"hostNqn\":\"" + HOST + "\"}");
        assertEquals(200, attached.status(), new String(attached.body()));
        List<String> addresses = new ArrayList<>();
        List<String> states = new ArrayList<>();
        attached.json().path("paths").forEach(p -> {
            addresses.add(p.path("address").asText());
            states.add(p.path("anaState").asText());
        });
        JsonNode failedOver = api.get("/v1/volumes/pa").json();
        String fresh = controller(failedOver, "STANDBY");
        assertEquals(List.of(address(standby), address(fresh)), addresses, attached.json().toString());
        assertEquals(List.of("optimized", "inaccessible"), states);
        assertFalse(addresses.contains(address(victim)));

        JsonNode f = failedOver.path("lastFailover");
        assertEquals(victim, f.path("failedNode").asText(), failedOver.toString());
        assertEquals(standby, f.path("successor").asText());
        assertEquals(fresh, f.path("standby").asText());
        long sum = 0;
        for (JsonNode stage : f.path("stages")) {
            sum += stage.path("millis").asLong();
        }
        assertEquals(f.path("millis").asLong(), sum, f.toString());
        assertEquals(9, f.path("stages").size(), f.toString());

        List<String> types = types(events("pa"));
        assertTrue(types.indexOf("AttachmentsChanged") < types.indexOf("FailoverRequested")
                && types.indexOf("FailedOver") < types.lastIndexOf("Converged"), "the attach was paused and ended after: " + types);
        for (JsonNode e : events("pa")) {
            if (Set.of("FailoverRequested", "Fenced", "SuccessorPlaced", "Promoted", "StandbyChosen", "StandbyPlaced", "FailedOver")
                    .contains(e.path("type").asText())) {
                assertFalse(e.path("event").path("at").isNull() || e.path("event").path("at").isMissingNode(), e.toString());
            }
        }
        writeAndRead("pa", 2);

        heal(victim);
        awaitReservationsAreTheVolumes();
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void aDeleteOfAVolumeWhoseNodeFailedFinishesAndFreesEveryExtentOnceItsNodeConfirms() throws Exception {
        assertEquals(202, api.post("/v1/volumes", "{\"name\":\"pd\"" + SPEC).status());
        JsonNode v = api.awaitState("pd", "READY", Duration.ofSeconds(60));
        String victim = controller(v, "ACTIVE");
        crash(victim);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!api.get("/v1/volumes/pd").json().path("operation").path("kind").asText().equals("failover")) {
            assertTrue(System.nanoTime() < deadline, "no failover: " + api.get("/v1/volumes/pd").json());
            ApiClient.sleep(20);
        }
        // The delete supersedes the failover: taking the volume off every node fences the dead one too.
        ApiClient.Reply deleted = api.delete("/v1/volumes/pd");
        assertEquals(202, deleted.status(), new String(deleted.body()));
        api.awaitGone("pd", Duration.ofSeconds(30));
        JsonNode pending = api.get("/v1/nodes/" + victim).json();
        assertTrue(pending.path("removing").toString().contains("\"pd\""), "held until its node confirms: " + pending);
        assertTrue(pending.path("capacity").path("reservedBytes").asLong() > 0, pending.toString());

        heal(victim);
        awaitReservationsAreTheVolumes();
        assertEquals(0, api.get("/v1/nodes/" + victim).json().path("removing").size());
    }

    private void crash(String node) {
        ApiClient.Reply r = api.post("/v1/sim/nodes/" + node + "/faults", "{\"kind\":\"crash\"}");
        assertEquals(202, r.status(), new String(r.body()));
    }

    /** The node back, heard from again, its agent converged. */
    private void heal(String node) {
        assertEquals(202, api.post("/v1/sim/nodes/" + node + "/faults", "{\"kind\":\"heal\"}").status());
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!(api.get("/v1/nodes/" + node + "/health").json().path("status").asText().equals("UP")
                && api.get("/v1/nodes/" + node).json().path("state").asText().equals("UP"))) {
            assertTrue(System.nanoTime() < deadline, node + " not back: " + api.get("/v1/nodes/" + node + "/health").json());
            ApiClient.sleep(200);
        }
    }

    /**
     * Every node reserves exactly the sides of the volumes there are and a place in an ANA group
     * for each of their controllers there: nothing half-created, nothing stranded.
     */
    private void awaitReservationsAreTheVolumes() {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        List<String> wrong = List.of();
        while (System.nanoTime() < deadline) {
            Map<String, Long> sides = new HashMap<>();
            Map<String, Integer> controllers = new HashMap<>();
            for (String id : volumes) {
                JsonNode v = api.get("/v1/volumes/" + id).json();
                v.path("legs").forEach(leg -> leg.path("groups").forEach(g -> g.path("sides").forEach(s -> sides.merge(
                        s.path("node").asText(), s.path("lengthSectors").asLong() * 512, Long::sum))));
                v.path("controllers").forEach(c -> controllers.merge(c.path("node").asText(), 1, Integer::sum));
            }
            wrong = new ArrayList<>();
            for (JsonNode n : api.get("/v1/nodes").json().path("items")) {
                String id = n.path("id").asText();
                long reserved = n.path("capacity").path("reservedBytes").asLong();
                int ana = n.path("controllerVolumes").asInt();
                if (reserved != sides.getOrDefault(id, 0L) || ana != controllers.getOrDefault(id, 0) || !n.path("removing").isEmpty()) {
                    wrong.add(id + ": reserved " + reserved + " (sides " + sides.getOrDefault(id, 0L) + "), controllers " + ana + " ("
                            + controllers.getOrDefault(id, 0) + "), removing " + n.path("removing"));
                }
            }
            if (wrong.isEmpty()) {
                return;
            }
            ApiClient.sleep(250);
        }
        throw new AssertionError("reservations are not the volumes': " + wrong);
    }

    private void writeAndRead(String id, int seed) {
        if (!api.get("/v1/volumes/" + id).json().path("attachments").toString().contains(HOST)) {
            assertEquals(200, api.post("/v1/volumes/" + id + "/attachments", "{\"hostNqn\":\"" + HOST + "\"}").status());
        }
        String data = "/v1/sim/hosts/" + HOST + "/volumes/" + id + "/data";
        byte[] b = new byte[1 << 20];
        new Random(seed).nextBytes(b);
        ApiClient.Reply written = api.put(data + "?offset=" + (2 << 20) + "&length=" + b.length, b);
        assertEquals(204, written.status(), new String(written.body()));
        assertArrayEquals(b, api.get(data + "?offset=" + (2 << 20) + "&length=" + b.length).body());
        assertEquals(200, api.delete("/v1/volumes/" + id + "/attachments/" + HOST).status());
    }

    private List<JsonNode> events(String id) {
        List<JsonNode> events = new ArrayList<>();
        api.get("/v1/volumes/" + id + "/events").json().forEach(events::add);
        return events;
    }

    private static List<String> types(List<JsonNode> events) {
        return events.stream().map(e -> e.path("type").asText()).toList();
    }

    private static Set<String> nodesOf(JsonNode v) {
        Set<String> nodes = new TreeSet<>();
        v.path("controllers").forEach(c -> nodes.add(c.path("node").asText()));
        v.path("legs").forEach(l -> l.path("groups").forEach(g -> g.path("sides").forEach(s -> nodes.add(s.path("node").asText()))));
        return nodes;
    }

    private static String controller(JsonNode volume, String role) {
        for (JsonNode c : volume.path("controllers")) {
            if (c.path("role").asText().equals(role)) {
                return c.path("node").asText();
            }
        }
        throw new AssertionError("no " + role + " controller: " + volume);
    }

    private static String address(String node) {
        return "127.0.1." + node.substring(1);
    }
}
