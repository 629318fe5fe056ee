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
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

import static io.dnv.app.LinuxHost.await;
import static io.dnv.app.LinuxHost.eventTime;
import static io.dnv.app.LinuxHost.head;
import static io.dnv.app.LinuxHost.paths;
import static io.dnv.app.LinuxHost.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * A snapshot, a clone and an extend on Linux, each asked of the product through its API, not done
 * by test shell, in one boot of the guests: the product (control member, agents) over three
 * storage servers in two QEMU guests, a host in guest B connected with the lines the attach
 * answers. The snapshot keeps the bytes of its moment while the host overwrites them (read
 * through the snapshot's thins on the leg owner). The clone of the volume reads the source at the
 * clone point at once while the source is overwritten, takes a write, hydrates over dm-clone with
 * its progress on the API, is swapped for its plain stripe with every active optimized, keeps its
 * bytes, and once deleted leaves nothing of itself or of the source's export in either kernel.
 * The extend, last as it is the slowest, reaches the host (the namespace's `revalidate_size`):
 * what was written before reads back unchanged and the new range is writable.
 */
@Tag("real-kernel")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OperationsOnLinuxTest {

    private static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:0c4d2e1f-6a7b-4c8d-9e0f-1a2b3c4d5e6f";
    private static final int DISK_MIB = 128;
    private static final long SIZE = 32L << 20;
    private static final long GROWN = 48L << 20;
    private static final VolumeSpec SPEC = new VolumeSpec(SIZE, 1, 1, 2, 2);
    private static final VolumeSpec GROWN_SPEC = new VolumeSpec(GROWN, 1, 1, 2, 2);
    /** Two actives, so that the second waits inaccessible in the clone's own ANA group until the swap. */
    private static final VolumeSpec CLONE_SPEC = new VolumeSpec(SIZE, 2, 0, 1, 2);
    private static final String VOLUME = "sx";
    private static final String CLONE = "cx";
    /** Where the host writes into the clone while it hydrates (among the source's bytes), and how much. */
    private static final long MINE_AT = 8L << 20;
    private static final long MINE = 1L << 20;
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
        product = ProductOnGuests.start(Files.createTempDirectory("dnv-operations-linux"), List.of(
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
    void aSnapshotACloneAndAnExtendOnLinux() {
        long t = System.nanoTime();
        ApiClient.Reply created = api.post("/v1/volumes", "{\"name\":\"" + VOLUME + "\",\"sizeBytes\":" + SIZE + ",\"legsPerController\":"
                + SPEC.legsPerController() + ",\"replicas\":" + SPEC.replicas() + "}");
        assertEquals(202, created.status(), new String(created.body()));
        JsonNode volume = api.awaitState(VOLUME, "READY", LONG);
        String active = controller(volume, "ACTIVE");
        GuestChannel owner = active.startsWith("a") ? guests.a() : guests.b();
        System.out.printf("TIME create of a 1a/1s/2l/2r volume on Linux %.1f s (active on %s)%n", seconds(t), active);

        GuestChannel host = guests.b();
        String head = attach(VOLUME);
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

        aCloneReadsTheClonePointHydratesIsSwappedAndGoes(head);
        // The source was overwritten at 4 MiB while the clone hydrated.
        String last = md5(host, head, 4);

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
        assertEquals(last, md5(host, head, 4), "what was written before the extend reads back unchanged");
        long lastMib = (VolumeLayout.of(GROWN_SPEC).usableBytes() >> 20) - 8;
        run(host, "dd if=/dev/urandom of=/tmp/end bs=1M count=8 2>/dev/null\n" + GuestIo.write("/tmp/end", head, lastMib << 20));
        assertEquals(md5(host, "/tmp/end", 0), md5(host, head, (int) lastMib), "the new range is writable");

        t = System.nanoTime();
        delete(VOLUME, "?deleteSnapshots=true");
        await(() -> leftOf(VOLUME), List::isEmpty, "nothing of the source in either kernel", LONG);
        System.out.printf("TIME delete of the source with its snapshot, its kernel objects gone %.1f s%n", seconds(t));
    }

    /**
     * The clone of the volume (its own snapshot taken by the product) at a moment the host knows
     * the whole source's bytes of; the source overwritten once the clone is READY; the clone read
     * and written by the host while it hydrates, then hydrated, swapped and read again; deleted.
     */
    private void aCloneReadsTheClonePointHydratesIsSwappedAndGoes(String head) {
        GuestChannel host = guests.b();
        long usable = VolumeLayout.of(SPEC).usableBytes();
        String whole = md5(host, head, 0, usable);
        String below = md5(host, head, 0, MINE_AT);
        String above = md5(host, head, MINE_AT + MINE, usable - MINE_AT - MINE);

        long t = System.nanoTime();
        ApiClient.Reply asked = api.post("/v1/volumes", "{\"name\":\"" + CLONE + "\",\"activeControllers\":" + CLONE_SPEC.activeControllers()
                + ",\"standbyControllers\":" + CLONE_SPEC.standbyControllers() + ",\"legsPerController\":" + CLONE_SPEC.legsPerController()
                + ",\"replicas\":" + CLONE_SPEC.replicas() + ",\"source\":{\"volumeId\":\"" + VOLUME + "\"}}");
        assertEquals(202, asked.status(), new String(asked.body()));
        JsonNode ready = api.awaitState(CLONE, "READY", LONG);
        JsonNode cloneOf = ready.path("cloneOf");
        String first = ready.path("controllers").get(0).path("node").asText();
        System.out.printf("TIME clone of a %d MiB volume, request -> READY %.1f s (first active on %s, hydrating from snapshot %s: %s)%n",
                SIZE >> 20, seconds(t), first, cloneOf.path("snapshotId").asText(), cloneOf);
        assertEquals(VOLUME, cloneOf.path("sourceVolumeId").asText(), cloneOf.toString());
        assertEquals("HYDRATING", cloneOf.path("status").asText(), cloneOf.toString());
        assertEquals(usable, cloneOf.path("totalBytes").asLong(), "the source's bytes to copy: " + cloneOf);
        // Hydration takes seconds here, an attach a minute (and it queues behind the finish):
        // its progress is watched first, the host reads the clone once attached.
        Set<String> progress = new LinkedHashSet<>();
        await(() -> api.get("/v1/volumes/" + CLONE).json(), v -> !seen(progress, v).equals("HYDRATING"), "the clone hydrated", LONG);

        // 4 MiB more of each 16 MiB leg (its snapshots share the old blocks): 12 of a pool's 20
        // blocks, below the low-water mark, so no pool growth, as slow as an extend here, runs.
        run(host, "dd if=/dev/urandom of=/tmp/later bs=1M count=8 2>/dev/null\n" + GuestIo.write("/tmp/later", head, 4L << 20));
        assertNotEquals(whole, md5(host, head, 0, usable), "the source overwritten after the clone point");

        String cloneHead = attach(CLONE);
        String nqn = Names.volumeNqn(CLONE);
        System.out.println("the host's paths to the clone once attached: " + paths(host, nqn).replace('\n', ';'));
        assertEquals(whole, md5(host, cloneHead, 0, usable), "the clone reads the source at the clone point");
        run(host, "dd if=/dev/urandom of=/tmp/mine bs=1M count=1 2>/dev/null\n" + GuestIo.write("/tmp/mine", cloneHead, MINE_AT));
        String mine = md5(host, "/tmp/mine", 0, MINE);
        assertEquals(mine, md5(host, cloneHead, MINE_AT, MINE), "a write to the clone reads back");

        JsonNode done = await(() -> api.get("/v1/volumes/" + CLONE).json(), v -> seen(progress, v).equals("DONE")
                && v.path("operation").isNull(), "the clone hydrated and finished", LONG);
        System.out.println("hydration as GET /v1/volumes/" + CLONE + " showed it: " + progress);
        assertEquals(100, done.path("cloneOf").path("percent").asInt(), done.toString());
        assertEquals(usable, done.path("cloneOf").path("hydratedBytes").asLong(), done.toString());
        JsonNode events = api.get("/v1/volumes/" + CLONE + "/events").json();
        events.forEach(e -> assertNotEquals("PoolGrowthRequested", e.path("type").asText(),
                "a clone's first pool holding its leg and dm-clone's metadata does not grow: " + e));
        Instant becameReady = eventTime(events, "BecameReady");
        Instant hydrated = eventTime(events, "CloneHydrated");
        Instant released = eventTime(events, "CloneSourceReleased");
        double hydrateSeconds = Duration.between(becameReady, hydrated).toMillis() / 1000.0;
        System.out.printf("TIME clone READY -> hydrated %.1f s (%.2f MiB/s)%n", hydrateSeconds, (usable >> 20) / hydrateSeconds);
        System.out.printf("TIME clone hydrated -> swapped, every active optimized and the source released %.1f s%n",
                Duration.between(hydrated, released).toMillis() / 1000.0);
        assertEquals(CLONE_SPEC.activeControllers(), await(() -> paths(host, nqn), p -> p.lines().filter(l -> l.endsWith("live optimized"))
                .count() == CLONE_SPEC.activeControllers(), "every active of the clone optimized", Duration.ofMinutes(2)).lines().count());
        assertEquals(below, md5(host, cloneHead, 0, MINE_AT), "after the swap: the source at the clone point below the write");
        assertEquals(mine, md5(host, cloneHead, MINE_AT, MINE), "after the swap: the write");
        assertEquals(above, md5(host, cloneHead, MINE_AT + MINE, usable - MINE_AT - MINE), "after the swap: the source above the write");
        assertEquals(List.of("s1"), names(api.get("/v1/volumes/" + VOLUME + "/snapshots").json()),
                "the snapshot taken for the clone is gone, the one asked for stays");

        t = System.nanoTime();
        delete(CLONE, "");
        System.out.printf("TIME delete of the clone through the API %.1f s%n", seconds(t));
        await(() -> leftOf(CLONE), List::isEmpty, "nothing of the clone in either kernel", LONG);
        await(() -> snapshotExportsOf(VOLUME), List::isEmpty, "no export or import of the source's snapshots", LONG);
        System.out.printf("TIME delete of the clone, its kernel objects gone %.1f s%n", seconds(t));
    }

    /** Adds the clone's progress as the volume shows it to {@code seen}; answers its status. */
    private static String seen(Set<String> seen, JsonNode volume) {
        JsonNode c = volume.path("cloneOf");
        seen.add(c.path("status").asText() + " " + c.path("percent").asInt() + " % " + (c.path("bytesPerSecond").asLong() >> 10) + " KiB/s");
        return c.path("status").asText();
    }

    /** Attaches the host to the volume, connects it and waits for an optimized path: the host's namespace head. */
    private String attach(String vol) {
        GuestChannel host = guests.b();
        ApiClient.Reply attached = await(() -> api.post("/v1/volumes/" + vol + "/attachments", "{\"hostNqn\":\"" + HOST + "\"}"),
                r -> r.status() != 503, "the attach answered", LONG);
        assertEquals(200, attached.status(), new String(attached.body()));
        LinuxHost.connect(host, attached.json());
        String nqn = attached.json().path("subsystemNqn").asText();
        await(() -> paths(host, nqn), p -> p.contains("live optimized"), "an optimized path", Duration.ofMinutes(1));
        return head(host, vol);
    }

    /**
     * The host disconnected and detached, the volume deleted and gone from the API. A delete
     * does not wait for the agents (DeleteVolume): its kernel objects go after.
     */
    private void delete(String vol, String query) {
        LinuxHost.disconnect(guests.b(), Names.volumeNqn(vol));
        ApiClient.Reply detached = await(() -> api.delete("/v1/volumes/" + vol + "/attachments/" + HOST), r -> r.status() != 503,
                "the detach answered", LONG);
        assertEquals(200, detached.status(), new String(detached.body()));
        ApiClient.Reply deleted = api.delete("/v1/volumes/" + vol + query);
        assertEquals(202, deleted.status(), new String(deleted.body()));
        api.awaitGone(vol, LONG);
    }

    /**
     * What either guest's kernel still has of the volume: dm devices its servers named for it,
     * nvmet subsystems with it in their NQN (its volume, legs, LDs, snapshot legs), and
     * controllers importing such a subsystem.
     */
    private List<String> leftOf(String vol) {
        return kernelObjects(o -> List.of("a1", "b1", "b2").stream().anyMatch(n -> Names.volumeOfDm(n, o).map(vol::equals).orElse(false))
                || o.startsWith(Names.NQN_PREFIX) && (o.contains(":" + vol + ":") || o.endsWith(":" + vol)));
    }

    /** A source's snapshot exports and their imports: the snapshot thins activated for it and their subsystems. */
    private List<String> snapshotExportsOf(String vol) {
        return kernelObjects(o -> o.contains("-snapx-" + vol + "-") || o.startsWith(Names.NQN_PREFIX + "snap:" + vol + ":"));
    }

    /** Every dm device, nvmet subsystem and imported subsystem of both guests that {@code of} picks, with its guest. */
    private List<String> kernelObjects(Predicate<String> of) {
        List<String> left = new ArrayList<>();
        String script = "dmsetup ls 2>/dev/null | cut -f1; ls /sys/kernel/config/nvmet/subsystems 2>/dev/null; "
                + "cat /sys/class/nvme/nvme*/subsysnqn 2>/dev/null; true";
        for (GuestChannel g : List.of(guests.a(), guests.b())) {
            for (String object : run(g, script).split("\\s+")) {
                if (of.test(object)) {
                    left.add((g == guests.a() ? "guest A " : "guest B ") + object);
                }
            }
        }
        return left;
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
        return md5(guest, path, (long) offsetMib << 20, 8L << 20);
    }

    private static String md5(GuestChannel guest, String path, long offset, long length) {
        return run(guest, GuestIo.md5(path, offset, length)).split(" ")[0];
    }

    private static List<String> names(JsonNode page) {
        List<String> out = new ArrayList<>();
        page.path("items").forEach(s -> out.add(s.path("name").asText()));
        return out;
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
