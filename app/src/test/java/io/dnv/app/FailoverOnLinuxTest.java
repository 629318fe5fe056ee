package io.dnv.app;

import com.fasterxml.jackson.databind.JsonNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.node.NodeView;
import io.dnv.core.volume.Placer;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.core.volume.operation.ShardedPeers;
import io.dnv.sim.vm.GuestChannel;
import io.dnv.sim.vm.GuestIo;
import io.dnv.sim.vm.GuestPair;
import io.dnv.sim.vm.GuestServer;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static io.dnv.app.LinuxHost.await;
import static io.dnv.app.LinuxHost.head;
import static io.dnv.app.LinuxHost.paths;
import static io.dnv.app.LinuxHost.run;
import static io.dnv.app.LinuxHost.sleep;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Failover on Linux, end to end: the product (control member, failure detector, the volumes'
 * FailOver, the agents) over three storage servers in two QEMU guests: a1, a controller node
 * alone in guest A; b1 (controller and disk node) and b2 (disk node) in guest B, which also
 * runs the host. The volume's active is on a1, its standby on b1, every raid1 side on b1 and b2.
 *
 * <p>A host (Linux native multipath, connected with the published `nvme connect` lines and
 * host settings) writes numbered blocks, each acknowledged after a flush. a1 then holds writes
 * (its stripe suspended: the host's next write and a stale one of its own), its agent stops and
 * guest A is frozen whole (QEMU {@code stop}): silence, as a hung machine gives. The product must
 * declare a1 failed, fence it on b1 and b2, promote b1; the host's held write resumes through b1,
 * and every acknowledged block reads back. Guest A then runs on and a1 releases what it held: its
 * disk nodes refuse it (the seed's consistency case), and a1's agent, back, tears down what it
 * had. The final read through the host shows the newest bytes everywhere.
 */
@Tag("real-kernel")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FailoverOnLinuxTest {

    private static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:5b1f0c3e-8d2a-4e7b-9c6d-2a3b4c5d6e7f";
    private static final int DISK_MIB = 128;
    private static final long SIZE = 32L << 20;
    private static final VolumeSpec SPEC = new VolumeSpec(SIZE, 1, 1, 2, 2);
    private static final int BLOCK = 4096;
    /** The volume's blocks: the writer goes round them. */
    private static final int SLOTS = (int) (SIZE / BLOCK);
    /** A TCG guest takes seconds for what takes milliseconds on hardware: every wait is long, and says what it waited for. */
    private static final Duration LONG = Duration.ofMinutes(10);

    private GuestPair guests;
    private final TimedCommands commands = new TimedCommands();
    private ProductOnGuests product;
    private ApiClient api;

    @BeforeAll
    void boot() throws Exception {
        guests = GuestPair.boot(GuestPair.Images.fromSystemProperties(), 2, DISK_MIB);
        System.out.printf("TIME boot of both guests %.1f s%n", guests.bootTime().toMillis() / 1000.0);
        Duration command = Duration.ofSeconds(90);
        long t = System.nanoTime();
        product = ProductOnGuests.start(Files.createTempDirectory("dnv-failover-linux"), List.of(
                new ProductOnGuests.Server(GuestServer.of("a1", GuestPair.ADDRESS_A, commands.runner("a1", guests.a()), "/dev/ram0", 0,
                        command), Set.of("ctrl")),
                new ProductOnGuests.Server(GuestServer.of("b1", GuestPair.ADDRESS_B, commands.runner("b1", guests.b()), "/dev/ram0", 0,
                        command), Set.of("ctrl", "disk")),
                new ProductOnGuests.Server(GuestServer.of("b2", GuestPair.ADDRESS_B, commands.runner("b2", guests.b()), "/dev/ram1", 10,
                        command), Set.of("disk"))),
                (long) DISK_MIB << 20);
        api = product.api();
        product.awaitNodesUp(LONG);
        System.out.printf("TIME control plane and 3 agents up %.1f s%n", seconds(t));
    }

    @AfterAll
    void shutdown() {
        if (guests != null) {
            try {
                guests.thaw("A");   // a test that failed midway may have left it frozen; powering off needs it running
            } catch (Exception ignored) {
                // not frozen, or gone
            }
        }
        if (product != null) {
            product.close();
        }
        if (guests != null) {
            guests.close();
        }
    }

    @Test
    void aFrozenActiveIsFencedItsStandbyPromotedAndEveryAcknowledgedWriteReadsBack() throws Exception {
        GuestChannel a = guests.a();
        GuestChannel b = guests.b();
        String vol = nameWithActiveOn("a1");
        long t = System.nanoTime();
        ApiClient.Reply created = api.post("/v1/volumes", "{\"name\":\"" + vol + "\",\"sizeBytes\":" + SIZE + ",\"legsPerController\":"
                + SPEC.legsPerController() + ",\"replicas\":" + SPEC.replicas() + "}");
        assertEquals(202, created.status(), new String(created.body()));
        JsonNode volume = api.awaitState(vol, "READY", LONG);
        System.out.printf("TIME create of a 1a/1s/2l/2r volume on Linux %.1f s%n", seconds(t));
        assertEquals("a1", controller(volume, "ACTIVE"), volume.toString());
        assertEquals("b1", controller(volume, "STANDBY"), volume.toString());

        // Answered once both exports allow the host; a TCG guest may take longer than a request may (503): asked again.
        ApiClient.Reply attached = await(() -> api.post("/v1/volumes/" + vol + "/attachments", "{\"hostNqn\":\"" + HOST + "\"}"),
                r -> r.status() != 503, "the attach answered", LONG);
        assertEquals(200, attached.status(), new String(attached.body()));
        String nqn = attached.json().path("subsystemNqn").asText();
        String head = connectHost(b, vol, attached.json());

        startWriter(b, head);
        awaitAcks(b, 20, Duration.ofMinutes(3));

        // a1's agent goes first (it would resume a suspended stripe), then a1 holds writes, then the
        // whole guest stops: nothing of a1 answers. Between the two, a1 is a node whose agent is
        // silent while its kernel serves.
        String stripe = "/dev/mapper/" + Names.volume("a1", vol);
        ClockPair clock = ClockPair.sample(b);
        Instant agentStopped = Instant.now();
        product.stopMember("a1");
        Instant memberGone = Instant.now();
        int ackedBefore = holdWritesOnA1(a, b, stripe, head);
        guests.freeze("A");
        long fault = System.nanoTime();
        Instant frozen = Instant.now();
        System.out.printf("TIME a1's agent stopped -> guest A frozen %.1f s (its member ended in %.1f s)%n", between(agentStopped, frozen),
                between(agentStopped, memberGone));

        JsonNode health = await(() -> api.get("/v1/nodes/a1/health").json(), h -> h.path("status").asText().equals("FAILED"),
                "a1 declared FAILED", LONG);
        Instant declared = Instant.parse(health.path("since").asText());
        System.out.println("a1 FAILED on evidence " + health.path("evidence"));
        volume = await(() -> api.get("/v1/volumes/" + vol).json(),
                v -> controller(v, "ACTIVE").equals("b1") && (v.path("operation").isMissingNode() || v.path("operation").isNull()),
                "b1 promoted and the failover done", LONG);
        assertEquals("b1", controller(volume, "ACTIVE"), volume.toString());
        JsonNode events = api.get("/v1/volumes/" + vol + "/events").json();
        Instant fenced = eventTime(events, "Fenced");
        Instant promoted = eventTime(events, "FailedOver");
        assertEquals("", eventOf(events, "FailedOver").path("event").path("error").asText(), events.toString());

        double frozenUptime = clock.uptimeAt(frozen);
        awaitAcks(b, ackedBefore + 10, LONG);
        run(b, "touch /tmp/fo.stop");
        await(() -> run(b, "[ -e /tmp/fo.done ] && echo done; true"), "done"::equals, "the host's writer stopped", Duration.ofMinutes(3));
        assertEquals("", run(b, "cat /tmp/fo.failed 2>/dev/null; true"), "the host saw a write fail: " + run(b, "cat /tmp/fo.err; true"));
        List<double[]> acks = acks(b);
        // The write a1 held may be acknowledged without a path (when its flush, not its write, was
        // held: see the flush below); the write after it needs one: it says when I/O resumed.
        double[] heldBlock = acks.get(ackedBefore);
        double[] next = acks.get(ackedBefore + 1);
        System.out.printf("TIME a1's agent stopped -> a1 declared FAILED %.1f s; guest A frozen -> declared %.1f s%n",
                between(agentStopped, declared), between(frozen, declared));
        System.out.printf("TIME guest A frozen -> fenced on b1 and b2 %.1f s%n", between(frozen, fenced));
        System.out.printf("TIME guest A frozen -> b1 promoted (failover done) %.1f s%n", between(frozen, promoted));
        System.out.printf("TIME guest A frozen -> host I/O resumed %.1f s (write %d acknowledged; the clocks' pairing moved %.2f s since)%n",
                next[1] - frozenUptime, (int) next[0], clock.drift(b));
        System.out.printf("TIME guest A frozen -> the write a1 held (%d) acknowledged %.1f s%n", (int) heldBlock[0],
                heldBlock[1] - frozenUptime);
        assertTrue(next[1] - frozenUptime > between(frozen, fenced) - 1,
                "the host wrote through b1 before a1 was fenced: write " + (int) next[0] + " at +" + (next[1] - frozenUptime) + " s");
        String[] flush = run(b, "cat /tmp/flush.rc").split(" ");
        System.out.printf("the host's flush, held by a1 when it froze: exit %s %.1f s after the freeze (%s)%n", flush[0],
                Double.parseDouble(flush[1]) - frozenUptime, run(b, "grep -v records /tmp/flush.err; true"));
        System.out.print("agents' commands, guest A frozen -> declared FAILED:\n" + commands.summary(frozen, declared, 3)
                + "declared FAILED -> fenced:\n" + commands.summary(declared, fenced, 3)
                + "fenced -> promoted:\n" + commands.summary(fenced, promoted, 6));

        int written = acks.size();
        for (int i = 0; i < written; i++) {
            assertEquals(i, (int) acks.get(i)[0], "the writer acknowledges its writes in order");
        }
        String expected = expectedMd5(written);
        assertEquals(expected, md5(b, head, written), "every acknowledged block reads back through the successor");
        System.out.printf("TIME guest A frozen -> %d acknowledged writes checked through b1 (%d blocks) %.1f s%n", written,
                blocks(written), seconds(fault));

        // a1 runs on and releases what it held: its disk nodes refuse it, nothing of it lands.
        guests.thaw("A");
        long thawed = System.nanoTime();
        run(a, "DM_DISABLE_UDEV=1 dmsetup resume " + stripe);
        String rc = await(() -> run(a, "cat /tmp/stale.rc 2>/dev/null; true"), s -> !s.isEmpty(), "a1's held write ended",
                Duration.ofMinutes(5));
        assertNotEquals("0", rc, "a1's held write was acknowledged: it landed somewhere");
        System.out.printf("TIME a1 thawed -> its held write failed %.1f s (%s)%n", seconds(thawed), run(a, "cat /tmp/stale.err; true"));
        String refused = run(b, "dmesg | grep -c 'connect by host " + Names.hostNqn("a1") + ".*not allowed' || true");
        assertTrue(Integer.parseInt(refused) > 0, "a1 was not refused by its disk nodes: " + run(b, "dmesg | tail -30"));
        System.out.println("a1's reconnects refused by the disk nodes: " + refused);

        // The host reconnects to a1, which still says optimized: nobody told its kernel otherwise
        // (its agent is gone). What the host reads then may fail, never show the stale bytes.
        String back = await(() -> paths(b, nqn), p -> p.contains("traddr=" + GuestPair.ADDRESS_A + " live"),
                "the host's path to a1 live again", Duration.ofMinutes(2));
        String probe = run(b, "blockdev --flushbufs " + head + "; rm -f /tmp/probe\n"
                + "dd if=" + head + " of=/tmp/probe bs=" + BLOCK + " count=1 iflag=direct 2> /tmp/probe.err; echo \"rc=$?\"; "
                + "head -c 12 /tmp/probe; echo; grep -v records /tmp/probe.err; true");
        System.out.println("host paths with a1 back, its agent still gone: " + back.replace('\n', ';') + "; the host's read of block 0: "
                + probe.replace('\n', ' '));
        assertTrue(!probe.contains("dnv stale"), "the host read a1's stale write: " + probe);

        // a1's agent comes back: a1 gets what it has now (nothing of the volume), never its old role.
        long agentBack = System.nanoTime();
        product.startMember("a1");
        await(() -> api.get("/v1/nodes/a1/health").json(), h -> h.path("status").asText().equals("UP"), "a1 heard from again", LONG);
        // What a pass of the new agent observed (404 until its first pass), after it reached what it was given.
        await(() -> api.get("/v1/nodes/a1/kernel"), k -> k.status() == 200 && !new String(k.body()).contains(vol)
                && api.get("/v1/nodes/a1").json().path("reachedGeneration").asLong() >= api.get("/v1/nodes/a1").json()
                .path("desiredGeneration").asLong(), "a1's objects of " + vol + " removed", LONG);
        System.out.printf("TIME a1's agent back -> its objects of the volume gone %.1f s%n", seconds(agentBack));
        assertEquals("b1", controller(api.get("/v1/volumes/" + vol).json(), "ACTIVE"));
        assertEquals(expected, md5(b, head, written), "the host reads the newest bytes everywhere: a1's stale write never landed");
    }

    /**
     * Connects the host as the connect information says: its `nvme connect` lines, its I/O timeout
     * and iopolicy; waits for one optimized path (a1) and one inaccessible (b1). Returns the head.
     */
    private static String connectHost(GuestChannel host, String vol, JsonNode info) {
        LinuxHost.connect(host, info);
        String nqn = info.path("subsystemNqn").asText();
        String head = head(host, vol);
        String paths = await(() -> paths(host, nqn), p -> p.contains("traddr=" + GuestPair.ADDRESS_A + " live optimized")
                && p.contains("traddr=" + GuestPair.ADDRESS_B + " live inaccessible"), "one optimized path (a1), one inaccessible (b1)",
                Duration.ofMinutes(1));
        System.out.println("host paths: " + paths.replace('\n', ';') + " (" + info.path("hostSettings") + ")");
        return head;
    }

    /**
     * a1 holds writes: its stripe suspended, the host's next write (or the flush after it) and a
     * stale write of a1's own wait in it; so does a flush the host sends alone (its exit status
     * and time go to /tmp/flush.rc on the host). Returns how many writes the host had acknowledged.
     */
    private static int holdWritesOnA1(GuestChannel a, GuestChannel host, String stripe, String head) {
        run(a, "export DM_DISABLE_UDEV=1\nyes 'dnv stale' | head -c " + BLOCK + " > /tmp/stale; rm -f /tmp/stale.rc\n"
                + "dmsetup suspend " + stripe + "\n"
                + "setsid sh -c 'dd if=/tmp/stale of=" + stripe + " bs=" + BLOCK + " count=1 conv=notrunc,fsync oflag=direct"
                + " 2> /tmp/stale.err; echo $? > /tmp/stale.rc' < /dev/null > /dev/null 2>&1 &\n"
                + held("the stale write"));
        run(host, "rm -f /tmp/flush.rc; setsid sh -c 'dd if=/dev/null of=" + head + " count=0 conv=notrunc,fsync 2> /tmp/flush.err;"
                + " echo $? $(cut -d\" \" -f1 /proc/uptime) > /tmp/flush.rc' < /dev/null > /dev/null 2>&1 &\nsleep 1\n"
                + "[ ! -e /tmp/flush.rc ] || { echo \"the host's flush was not held: $(cat /tmp/flush.rc)\" >&2; exit 1; }");
        // The writer is held from the suspend on: what it has had acknowledged stays as it is until a1 is failed over.
        return Integer.parseInt(run(host, "wc -l < /tmp/fo.acks"));
    }

    /** Waits until the one dd running in the guest sleeps in the kernel (state D): its I/O is held below. */
    private static String held(String what) {
        return "for i in $(seq 1 120); do p=$(pidof dd); [ -n \"$p\" ] && grep -q '^State:.D' /proc/$p/status && exit 0; sleep 0.5; done\n"
                + "echo '" + what + " is not held' >&2; exit 1";
    }

    /** A name whose create the placer gives a1 as active, on what the nodes report now (the name decides between equals). */
    private String nameWithActiveOn(String node) throws Exception {
        List<NodeView> nodes = new ShardedPeers(ClusterSharding.get(product.control())).nodes().toCompletableFuture()
                .get(30, TimeUnit.SECONDS);
        for (int i = 0; i < 100; i++) {
            String name = "fo" + i;
            Placer.Result r = Placer.choose(name, SPEC, VolumeLayout.of(SPEC), nodes);
            if (r.choice().map(c -> c.controllers().get(0).equals(node)).orElse(false)) {
                return name;
            }
        }
        throw new AssertionError("no name among fo0..fo99 places the active on " + node + ": " + nodes);
    }

    /**
     * Writes 0, 1, 2, … ("dnv block N" over and over), write N to block N modulo the volume's
     * blocks, each acknowledged by a flush, and appends "N uptime" to /tmp/fo.acks when it is;
     * stops at /tmp/fo.stop, or at the first failed write (/tmp/fo.failed), and says /tmp/fo.done.
     */
    private static void startWriter(GuestChannel host, String head) {
        run(host, "rm -f /tmp/fo.acks /tmp/fo.failed /tmp/fo.stop /tmp/fo.done; touch /tmp/fo.acks\n"
                + "setsid sh -c 'n=0; while [ ! -e /tmp/fo.stop ]; do\n"
                + "  yes \"dnv block $n\" | head -c " + BLOCK + " > /tmp/fo.blk\n"
                + "  dd if=/tmp/fo.blk of=" + head + " bs=" + BLOCK + " seek=$((n % " + SLOTS + ")) count=1 conv=notrunc,fsync oflag=direct"
                + " 2> /tmp/fo.err\n"
                + "  r=$?; [ $r = 0 ] || { echo \"$n $r\" > /tmp/fo.failed; break; }\n"
                + "  read up idle < /proc/uptime; echo \"$n $up\" >> /tmp/fo.acks; n=$((n+1))\n"
                + "done; touch /tmp/fo.done' < /dev/null > /dev/null 2>&1 &");
    }

    /** The writer's acknowledgements: block number and the guest's uptime when it was acknowledged. */
    private static List<double[]> acks(GuestChannel host) {
        List<double[]> out = new ArrayList<>();
        for (String line : run(host, "cat /tmp/fo.acks").split("\n")) {
            if (!line.isBlank()) {
                String[] f = line.trim().split(" ");
                out.add(new double[]{Double.parseDouble(f[0]), Double.parseDouble(f[1])});
            }
        }
        return out;
    }

    /** Fails at once when a write failed: the host must never see an error. */
    private static List<double[]> awaitAcks(GuestChannel host, int count, Duration within) {
        return await(() -> {
            String failed = run(host, "cat /tmp/fo.failed 2>/dev/null; true");
            if (!failed.isEmpty()) {
                fail("the host's write of block " + failed + " (block, dd status) failed: " + run(host, "cat /tmp/fo.err; dmesg | tail -20"));
            }
            return acks(host);
        }, l -> l.size() >= count, count + " blocks acknowledged to the host", within);
    }

    /** The md5 of the blocks {@code written} writes covered, each holding the last write to it. */
    private static String expectedMd5(int written) throws Exception {
        MessageDigest md5 = MessageDigest.getInstance("MD5");
        for (int slot = 0; slot < blocks(written); slot++) {
            int last = slot + SLOTS * ((written - 1 - slot) / SLOTS);
            byte[] line = ("dnv block " + last + "\n").getBytes(StandardCharsets.US_ASCII);
            byte[] block = new byte[BLOCK];
            for (int o = 0; o < BLOCK; o++) {
                block[o] = line[o % line.length];
            }
            md5.update(block);
        }
        return HexFormat.of().formatHex(md5.digest());
    }

    /** The blocks {@code written} writes covered. */
    private static int blocks(int written) {
        return Math.min(written, SLOTS);
    }

    private static String md5(GuestChannel guest, String device, int written) {
        return run(guest, GuestIo.md5(device, 0, (long) blocks(written) * BLOCK)).split(" ")[0];
    }

    private static String controller(JsonNode volume, String role) {
        for (JsonNode c : volume.path("controllers")) {
            if (c.path("role").asText().equals(role)) {
                return c.path("node").asText();
            }
        }
        return "";
    }

    private static JsonNode eventOf(JsonNode events, String type) {
        for (JsonNode e : events) {
            if (e.path("type").asText().equals(type)) {
                return e;
            }
        }
        throw new AssertionError("no " + type + " among the volume's events: " + events);
    }

    private static Instant eventTime(JsonNode events, String type) {
        return Instant.parse(eventOf(events, type).path("time").asText());
    }

    /**
     * The guest's uptime paired with this JVM's clock: read as the last thing a command does, so
     * it pairs with the moment its answer arrives (the answer follows within milliseconds; the
     * wait for the channel, behind the agents' and watchers' commands, comes before). The writer
     * times its acknowledgements by the guest's uptime.
     */
    private record ClockPair(Instant at, double uptime) {
        static ClockPair sample(GuestChannel guest) {
            double up = Double.parseDouble(run(guest, "cut -d' ' -f1 /proc/uptime"));
            return new ClockPair(Instant.now(), up);
        }

        double uptimeAt(Instant t) {
            return uptime + Duration.between(at, t).toNanos() / 1e9;
        }

        /** How far the guest's clock moved from this JVM's since the pairing (positive: the guest's ran faster). */
        double drift(GuestChannel guest) {
            ClockPair now = sample(guest);
            return now.uptime() - uptimeAt(now.at());
        }
    }

    private static double between(Instant from, Instant to) {
        return Duration.between(from, to).toMillis() / 1000.0;
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }
}
