package io.dnv.app;

import com.fasterxml.jackson.databind.JsonNode;
import io.dnv.node.sim.SimulatedKernel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bytes a disk held before they were a volume's never reach a volume: neither what a disk held
 * before it joined dnv, nor what an earlier tenant left on an extent whose LD a power cycle took
 * before its agent could zero it.
 */
class DirtyDiskTest {

    /** What a former owner left: a marker no volume's own metadata contains. */
    private static final byte[] OLD = "OLD-TENANT-BYTES".getBytes(StandardCharsets.US_ASCII);
    private static final long DISK = 256L << 20;
    private static final int VOLUME = 32 << 20;
    private static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6";

    /** Each test on a `./dnv dev` of its own here: the tests run two at a time. */
    @TempDir
    Path dataDir;

    /**
     * Every disk full of old bytes before its node first registers. The raid1 groups are created
     * nosync and the thin pool does not zero a block it provisions, so a small write provisions a
     * 1 MiB block whose rest is whatever the disk held: it must read zero, and no extent of the
     * volume, on either raid1 side, may hold an old byte.
     */
    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void aDiskFullOfOldBytesShowsNoneOfThemToAVolume() throws Exception {
        for (int n = 1; n <= 6; n++) {
            fill(dataDir.resolve("nodes").resolve("n" + n).resolve("disk0"));
        }
        try (DevCommand.DevSystem dev = DevCommand.DevSystem.start(dataDir, 0, 6, DISK)) {
            dev.awaitNodesUp(Duration.ofSeconds(120));
            ApiClient api = new ApiClient(dev.httpPort(), dev.token());
            JsonNode v = createAttached(api, "fresh");
            assertEquals(204, api.put(data("fresh", 0, 4096), new byte[4096]).status());
            byte[] read = api.get(data("fresh", 0, 1 << 20)).body();
            assertFalse(holdsOld(read), "the rest of a block a small write provisioned shows the disk's old bytes");
            assertTrue(Arrays.equals(new byte[1 << 20], read), "a volume reads zeroes where nothing was written");
            for (JsonNode leg : v.path("legs")) {
                for (JsonNode group : leg.path("groups")) {
                    for (JsonNode side : group.path("sides")) {
                        assertFalse(holdsOld(onDisk(dev, side)), "an extent holds the disk's old bytes: " + side);
                    }
                }
            }
        }
    }

    /**
     * A node goes down while it holds a volume with an old tenant's bytes, and the volume is
     * deleted meanwhile; the node comes back power-cycled (its kernel empty: no LD device, and no
     * zeroing record, since its agent never heard of the delete). The extent is freed once the
     * agent confirms nothing of the volume left, and zeroed on the disk before it is offered again.
     */
    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void anExtentWhoseLdAPowerCycleTookBeforeItsDeleteIsZeroedBeforeItIsOfferedAgain() throws Exception {
        JsonNode side;
        String down;
        try (DevCommand.DevSystem dev = DevCommand.DevSystem.start(dataDir, 0, 6, DISK)) {
            dev.awaitNodesUp(Duration.ofSeconds(60));
            ApiClient api = new ApiClient(dev.httpPort(), dev.token());
            JsonNode v = createAttached(api, "tenant");
            byte[] old = oldBytes();
            for (long at = 0; at < VOLUME; at += old.length) {
                assertEquals(204, api.put(data("tenant", at, old.length), old).status());
            }
            side = sideOnANodeThatIsNoController(v);
            down = side.path("node").asText();
            // On a loaded machine a side's import may have reset during the writes, md writing
            // around it until the side is re-added: the setup waits for the bytes to be there.
            long landed = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!holdsOld(onDisk(dev, side))) {
                assertTrue(System.nanoTime() < landed, "the tenant's bytes never reached the side on " + down + ": " + side);
                Thread.sleep(200);
            }
            dev.nodes.get(Integer.parseInt(down.substring(1)) - 1).terminate();
            awaitState(api, down, "DOWN");
            assertEquals(200, api.delete("/v1/volumes/tenant/attachments/" + HOST).status());
            assertEquals(202, api.delete("/v1/volumes/tenant").status());
            api.awaitGone("tenant", Duration.ofSeconds(60));
            assertTrue(holdsOld(onDisk(dev, side)), "the tenant's bytes are on the down node's extent");
        }
        try (DevCommand.DevSystem dev = DevCommand.DevSystem.start(dataDir, 0, 6, DISK)) {
            ApiClient api = new ApiClient(dev.httpPort(), dev.token());
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            JsonNode node = api.get("/v1/nodes/" + down).json();
            while (!node.path("state").asText().equals("UP") || node.path("removing").size() > 0
                    || node.path("capacity").path("dirtyBytes").asLong() > 0) {
                assertTrue(System.nanoTime() < deadline, "the removal confirmed and the extent zeroed: " + node);
                ApiClient.sleep(200);
                node = api.get("/v1/nodes/" + down).json();
            }
            assertEquals(0, node.path("capacity").path("reservedBytes").asLong(), node.toString());
            assertFalse(holdsOld(onDisk(dev, side)), "the freed extent still holds the tenant's bytes: " + node);
        }
    }

    private static JsonNode createAttached(ApiClient api, String name) {
        ApiClient.Reply created = api.post("/v1/volumes", "{\"name\":\"" + name + "\",\"sizeBytes\":" + VOLUME + ",\"legsPerController\":2}");
        assertEquals(202, created.status(), new String(created.body()));
        JsonNode v = api.awaitState(name, "READY", Duration.ofSeconds(120));
        ApiClient.Reply attached = api.post("/v1/volumes/" + name + "/attachments", "{\"hostNqn\":\"" + HOST + "\"}");
        assertEquals(200, attached.status(), new String(attached.body()));
        return v;
    }

    private static JsonNode sideOnANodeThatIsNoController(JsonNode v) {
        TreeSet<String> controllers = new TreeSet<>();
        v.path("controllers").forEach(c -> controllers.add(c.path("node").asText()));
        for (JsonNode leg : v.path("legs")) {
            for (JsonNode s : leg.path("groups").get(0).path("sides")) {
                if (!controllers.contains(s.path("node").asText())) {
                    return s;
                }
            }
        }
        throw new AssertionError("a disk node that is no controller of the volume: " + v);
    }

    private static void awaitState(ApiClient api, String node, String state) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!api.get("/v1/nodes/" + node).json().path("state").asText().equals(state)) {
            assertTrue(System.nanoTime() < deadline, node + " not " + state);
            ApiClient.sleep(200);
        }
    }

    private static String data(String volume, long offset, int length) {
        return "/v1/sim/hosts/" + HOST + "/volumes/" + volume + "/data?offset=" + offset + "&length=" + length;
    }

    /** An extent as its node's disk holds it, read past every kernel object. */
    private static byte[] onDisk(DevCommand.DevSystem dev, JsonNode side) throws Exception {
        SimulatedKernel kernel = dev.kernels.get(Integer.parseInt(side.path("node").asText().substring(1)) - 1);
        byte[] extent = new byte[Math.toIntExact(side.path("lengthSectors").asLong() * 512)];
        try (SimulatedKernel.Handle disk = kernel.open("/dev/ram0")) {
            disk.read(side.path("startSector").asLong() * 512, extent);
        }
        return extent;
    }

    /** A disk file that held a former owner's data before the node first started. */
    private static void fill(Path file) throws Exception {
        Files.createDirectories(file.getParent());
        byte[] chunk = oldBytes();
        try (RandomAccessFile out = new RandomAccessFile(file.toFile(), "rw")) {
            for (long at = 0; at < DISK; at += chunk.length) {
                out.write(chunk);
            }
        }
    }

    /** 1 MiB of the marker. */
    private static byte[] oldBytes() {
        byte[] chunk = new byte[1 << 20];
        for (int i = 0; i < chunk.length; i += OLD.length) {
            System.arraycopy(OLD, 0, chunk, i, OLD.length);
        }
        return chunk;
    }

    private static boolean holdsOld(byte[] bytes) {
        for (int i = 0; i + OLD.length <= bytes.length; i += OLD.length) {
            if (Arrays.equals(bytes, i, i + OLD.length, OLD, 0, OLD.length)) {
                return true;
            }
        }
        return false;
    }
}
