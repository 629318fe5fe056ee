package io.dnv.app;

import com.fasterxml.jackson.databind.JsonNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.sim.vm.GuestChannel;
import io.dnv.sim.vm.GuestIo;
import io.dnv.sim.vm.GuestPair;
import io.dnv.sim.vm.GuestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import static io.dnv.app.LinuxHost.await;
import static io.dnv.app.LinuxHost.head;
import static io.dnv.app.LinuxHost.paths;
import static io.dnv.app.LinuxHost.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * A snapshot and an extend on Linux, each asked of the product through its API, not done by test
 * shell: the product (control member, agents) over three storage servers in two QEMU guests, a
 * host in guest B connected with the lines the attach answers. The snapshot keeps the bytes of
 * its moment while the host overwrites them (read through the snapshot's thins on the leg
 * owner); the extend's new size reaches the host (the namespace's `revalidate_size`), what was
 * written before reads back unchanged and the new range is writable.
 */
@Tag("real-kernel")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SnapshotAndExtendOnLinuxTest {

    private static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:0c4d2e1f-6a7b-4c8d-9e0f-1a2b3c4d5e6f";
    private static final int DISK_MIB = 128;
    private static final long SIZE = 32L << 20;
    private static final long GROWN = 48L << 20;
    private static final VolumeSpec SPEC = new VolumeSpec(SIZE, 1, 1, 2, 2);
    private static final VolumeSpec GROWN_SPEC = new VolumeSpec(GROWN, 1, 1, 2, 2);
    private static final String VOLUME = "sx";
    /** A TCG guest takes seconds for what takes milliseconds on hardware. */
    private static final Duration LONG = Duration.ofMinutes(10);
    /** An extend is a few passes on every node, each many commands: 8.4 min on a busy machine. */
    private static final Duration EXTEND = Duration.ofMinutes(20);

    private GuestPair guests;
    private ProductOnGuests product;
    private ApiClient api;

    @BeforeAll
    void boot() throws Exception {
        guests = GuestPair.boot(GuestPair.Images.fromSystemProperties(), 2, DISK_MIB);
        System.out.printf("TIME boot of both guests %.1f s%n", guests.bootTime().toMillis() / 1000.0);
        Duration command = Duration.ofSeconds(90);
        long t = System.nanoTime();
        product = ProductOnGuests.start(Files.createTempDirectory("dnv-snapshot-linux"), List.of(
                new ProductOnGuests.Server(GuestServer.of("a1", GuestPair.ADDRESS_A, guests.a(), "/dev/ram0", 0, command), Set.of("ctrl")),
                new ProductOnGuests.Server(GuestServer.of("b1", GuestPair.ADDRESS_B, guests.b(), "/dev/ram0", 0, command),
                        Set.of("ctrl", "disk")),
                new ProductOnGuests.Server(GuestServer.of("b2", GuestPair.ADDRESS_B, guests.b(), "/dev/ram1", 10, command), Set.of("disk"))),
                (long) DISK_MIB << 20);
        api = product.api();
        product.awaitNodesUp(LONG);
        System.out.printf("TIME control plane and 3 agents up %.1f s%n", seconds(t));
    }

    @AfterAll
    void shutdown() {
        if (product != null) {
            product.close();
        }
        if (guests != null) {
            guests.close();
        }
    }

    @Test
    void aSnapshotKeepsItsMomentAndAnExtendReachesTheHost() {
        long t = System.nanoTime();
        ApiClient.Reply created = api.post("/v1/volumes", "{\"name\":\"" + VOLUME + "\",\"sizeBytes\":" + SIZE + ",\"legsPerController\":"
                + SPEC.legsPerController() + ",\"replicas\":" + SPEC.replicas() + "}");
        assertEquals(202, created.status(), new String(created.body()));
        JsonNode volume = api.awaitState(VOLUME, "READY", LONG);
        String active = controller(volume, "ACTIVE");
        GuestChannel owner = active.startsWith("a") ? guests.a() : guests.b();
        System.out.printf("TIME create of a 1a/1s/2l/2r volume on Linux %.1f s (active on %s)%n", seconds(t), active);

        GuestChannel host = guests.b();
        ApiClient.Reply attached = await(() -> api.post("/v1/volumes/" + VOLUME + "/attachments", "{\"hostNqn\":\"" + HOST + "\"}"),
                r -> r.status() != 503, "the attach answered", LONG);
        assertEquals(200, attached.status(), new String(attached.body()));
        LinuxHost.connect(host, attached.json());
        String nqn = attached.json().path("subsystemNqn").asText();
        await(() -> paths(host, nqn), p -> p.contains("live optimized"), "an optimized path", Duration.ofMinutes(1));
        String head = head(host, VOLUME);
        run(host, "dd if=/dev/urandom of=/tmp/before bs=1M count=8 2>/dev/null\n" + GuestIo.write("/tmp/before", head, 4L << 20));
        String before = md5(host, "/tmp/before", 0);

        t = System.nanoTime();
        ApiClient.Reply asked = api.post("/v1/volumes/" + VOLUME + "/snapshots", "{\"name\":\"s1\"}");
        assertEquals(202, asked.status(), new String(asked.body()));
        String snapshot = asked.json().path("id").asText();
        JsonNode ready = await(() -> api.get("/v1/snapshots/" + snapshot), r -> r.status() == 200
                && !r.json().path("state").asText().equals("CREATING"), "snapshot " + snapshot + " done", LONG).json();
        assertEquals("READY", ready.path("state").asText(), ready.toString());
        System.out.printf("TIME snapshot through the API %.1f s (host I/O held %d ms, as the agent measured it)%n", seconds(t),
                ready.path("heldMillis").asLong());

        run(host, "dd if=/dev/urandom of=/tmp/after bs=1M count=8 2>/dev/null\n" + GuestIo.write("/tmp/after", head, 4L << 20));
        String after = md5(host, "/tmp/after", 0);
        assertNotEquals(before, after);
        assertEquals(after, md5(host, head, 4), "the volume reads what was written last");
        assertEquals(before, snapshotMd5(owner, active, thinId(snapshot)), "the snapshot keeps the bytes of its moment");

        t = System.nanoTime();
        ApiClient.Reply extend = api.patch("/v1/volumes/" + VOLUME, "{\"sizeBytes\":" + GROWN + "}");
        assertEquals(202, extend.status(), new String(extend.body()));
        await(() -> api.get("/v1/volumes/" + VOLUME).json(), v -> v.path("state").asText().equals("READY")
                && v.path("sizeBytes").asLong() == GROWN && v.path("operation").isNull(), "the extend done", EXTEND);
        long sectors = VolumeLayout.of(GROWN_SPEC).stripeSectors();
        String block = head.substring("/dev/".length());
        await(() -> Long.parseLong(run(host, "cat /sys/block/" + block + "/size")), s -> s == sectors,
                "the host's namespace at " + sectors + " sectors", Duration.ofMinutes(2));
        System.out.printf("TIME extend %d -> %d MiB through the API, seen by the host %.1f s%n", SIZE >> 20, GROWN >> 20, seconds(t));
        assertEquals(after, md5(host, head, 4), "what was written before the extend reads back unchanged");
        long lastMib = (VolumeLayout.of(GROWN_SPEC).usableBytes() >> 20) - 8;
        run(host, "dd if=/dev/urandom of=/tmp/end bs=1M count=8 2>/dev/null\n" + GuestIo.write("/tmp/end", head, lastMib << 20));
        assertEquals(md5(host, "/tmp/end", 0), md5(host, head, (int) lastMib), "the new range is writable");
    }

    /**
     * The snapshot read on the leg owner: each leg's snapshot thin activated read-only over the
     * leg's pool, and the active's stripe table over them in place of the legs' thins.
     */
    private static String snapshotMd5(GuestChannel owner, String node, long thinId) {
        StringBuilder s = new StringBuilder("export DM_DISABLE_UDEV=1\nset -e\nt=$(dmsetup table " + Names.volume(node, VOLUME) + ")\n");
        VolumeLayout layout = VolumeLayout.of(SPEC);
        for (int leg = 0; leg < SPEC.legCount(); leg++) {
            String check = "dnv-check-" + leg;
            s.append("dmsetup create ").append(check).append(" --readonly --table '0 ").append(layout.legSectors()).append(" thin /dev/mapper/")
                    .append(Names.pool(node, VOLUME, leg)).append(' ').append(thinId).append("'\n")
                    .append("old=$(dmsetup info -c --noheadings -o major,minor --separator : ").append(Names.thin(node, VOLUME, leg)).append(")\n")
                    .append("new=$(dmsetup info -c --noheadings -o major,minor --separator : ").append(check).append(")\n")
                    .append("t=$(echo \"$t\" | sed \"s/ $old\\( \\|\\$\\)/ $new\\1/\")\n");
        }
        s.append("dmsetup create dnv-check --readonly --table \"$t\"\n")
                .append(GuestIo.md5("/dev/mapper/dnv-check", 4L << 20, 8L << 20)).append('\n')
                .append("dmsetup remove dnv-check\n");
        for (int leg = 0; leg < SPEC.legCount(); leg++) {
            s.append("dmsetup remove dnv-check-").append(leg).append('\n');
        }
        return run(owner, s.toString()).split(" ")[0];
    }

    /** A snapshot id is {@code <volume>.<thin id>} (docs/snapshots.md). */
    private static long thinId(String snapshot) {
        return Long.parseLong(snapshot.substring(snapshot.lastIndexOf('.') + 1));
    }

    private static String md5(GuestChannel guest, String path, int offsetMib) {
        return run(guest, GuestIo.md5(path, (long) offsetMib << 20, 8L << 20)).split(" ")[0];
    }

    private static String controller(JsonNode volume, String role) {
        for (JsonNode c : volume.path("controllers")) {
            if (c.path("role").asText().equals(role)) {
                return c.path("node").asText();
            }
        }
        throw new AssertionError("no " + role + " controller: " + volume);
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }
}
