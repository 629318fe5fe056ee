package io.dnv.app;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Deletes as a user sends them on ./dnv dev, through the HTTP API: right behind the create (at
 * whatever stage it is), and with one of the volume's nodes down.
 */
class DeleteTest {

    /** Each test on a `./dnv dev` of its own here: the tests run two at a time. */
    @TempDir
    Path dataDir;

    /**
     * A DELETE sent while its create is choosing, reserving, applying or converging: the delete
     * supersedes the create, and once the volume is gone no node holds any of its kernel objects
     * and every extent and ANA group is free again.
     */
    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void deletesRightBehindCreatesLeaveNoObjectAndNoReservation() throws Exception {
        try (DevCommand.DevSystem dev = DevCommand.DevSystem.start(dataDir, 0, 6, 4L << 30)) {
            dev.awaitNodesUp(Duration.ofSeconds(60));
            ApiClient api = new ApiClient(dev.httpPort(), dev.token());
            List<String> names = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                String name = "behind-" + i;
                names.add(name);
                ApiClient.Reply created = api.post("/v1/volumes", "{\"name\":\"" + name + "\",\"sizeBytes\":" + (32 << 20)
                        + ",\"legsPerController\":2}");
                assertEquals(202, created.status(), new String(created.body()));
                ApiClient.sleep(i * 40L);
                ApiClient.Reply deleted = api.delete("/v1/volumes/" + name);
                assertEquals(202, deleted.status(), new String(deleted.body()));
            }
            for (String name : names) {
                api.awaitGone(name, Duration.ofSeconds(60));
            }
            awaitNothingReserved(api, List.of());
            Kernels.awaitNoObjects(dev.kernels, Duration.ofSeconds(60));
        }
    }

    /**
     * One of the volume's disk nodes is down: the volume's view says its objects are not in place
     * on that node (its state is still READY, what is wanted); the delete still finishes for the
     * user (gone from the API), while that node keeps the volume's extent reserved, pending, until
     * its agent can confirm the objects gone; every other node frees everything.
     */
    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void aDeleteWithOneOfItsNodesDownFinishesAndTheDownNodeKeepsItsExtentPending() throws Exception {
        try (DevCommand.DevSystem dev = DevCommand.DevSystem.start(dataDir, 0, 6, 4L << 30)) {
            dev.awaitNodesUp(Duration.ofSeconds(60));
            ApiClient api = new ApiClient(dev.httpPort(), dev.token());
            assertEquals(202, api.post("/v1/volumes", "{\"name\":\"nd\",\"sizeBytes\":" + (32 << 20) + ",\"legsPerController\":2}")
                    .status());
            JsonNode v = api.awaitState("nd", "READY", Duration.ofSeconds(60));
            TreeSet<String> controllers = new TreeSet<>();
            v.path("controllers").forEach(c -> controllers.add(c.path("node").asText()));
            String down = null;
            for (JsonNode leg : v.path("legs")) {
                for (JsonNode side : leg.path("groups").get(0).path("sides")) {
                    if (!controllers.contains(side.path("node").asText())) {
                        down = side.path("node").asText();
                    }
                }
            }
            assertTrue(down != null, "a disk node that is no controller of the volume: " + v);
            JsonNode inPlace = awaitKernel(api, "nd", true);
            assertEquals(0, inPlace.path("notInPlace").size(), inPlace.toString());
            dev.nodes.get(Integer.parseInt(down.substring(1)) - 1).terminate();
            String downNode = down;
            api.awaitList(items -> true, "listed", Duration.ofSeconds(5));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!api.get("/v1/nodes/" + downNode).json().path("state").asText().equals("DOWN")) {
                assertTrue(System.nanoTime() < deadline, downNode + " not DOWN");
                ApiClient.sleep(200);
            }

            // READY says what is wanted; whether the kernels hold it only the agents can say.
            JsonNode notInPlace = awaitKernel(api, "nd", false);
            assertTrue(notInPlace.path("notInPlace").toString().contains(downNode), notInPlace.toString());
            assertEquals("READY", api.get("/v1/volumes/nd").json().path("state").asText());

            assertEquals(202, api.delete("/v1/volumes/nd").status());
            api.awaitGone("nd", Duration.ofSeconds(30));
            JsonNode pending = api.get("/v1/nodes/" + downNode).json();
            assertTrue(pending.path("capacity").path("reservedBytes").asLong() > 0, "the extent waits for the agent: " + pending);
            assertEquals("nd", pending.path("removing").get(0).asText(), pending.toString());
            awaitNothingReserved(api, List.of(downNode));
        }
    }

    private static JsonNode awaitKernel(ApiClient api, String id, boolean inPlace) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        JsonNode kernel = api.get("/v1/volumes/" + id).json().path("kernel");
        while (kernel.path("inPlace").asBoolean() != inPlace) {
            assertTrue(System.nanoTime() < deadline, "kernel.inPlace not " + inPlace + ": " + kernel);
            ApiClient.sleep(200);
            kernel = api.get("/v1/volumes/" + id).json().path("kernel");
        }
        return kernel;
    }

    private static void awaitNothingReserved(ApiClient api, List<String> except) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        List<String> held = List.of();
        while (System.nanoTime() < deadline) {
            held = new ArrayList<>();
            for (JsonNode n : api.get("/v1/nodes").json().path("items")) {
                if (except.contains(n.path("id").asText())) {
                    continue;
                }
                if (n.path("capacity").path("reservedBytes").asLong() != 0 || n.path("controllerVolumes").asInt() != 0) {
                    held.add(n.toString());
                }
            }
            if (held.isEmpty()) {
                return;
            }
            ApiClient.sleep(200);
        }
        throw new AssertionError("still reserved: " + held);
    }
}
