package io.dnv.sim.realkernel;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.plan.Fixtures;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.node.linux.CommandRunner;
import io.dnv.node.linux.LinuxKernel;
import io.dnv.sim.vm.GuestChannel;
import io.dnv.sim.vm.GuestIo;
import io.dnv.sim.vm.GuestPair;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * An extend on Linux, by the agents' real reconcile code: four storage servers in two guests
 * build a 1-active/1-standby/2-legs/2-replicas volume, a host connected to both controllers
 * writes to it, then the extend's three stages as the ExtendVolume operation hands them out
 * (new raid1 groups built beside the pools; thin-meta, thin-data, pools and thins grown; stripe
 * and the standby's error device grown, the exports revalidated). The host's namespace takes
 * the new size through revalidate_size alone, what it wrote reads back, and the new range is
 * writable.
 */
@Tag("real-kernel")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ExtendOnLinuxTest {

    private static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:3e5f7a9b-1c2d-4e6f-8a0b-c1d2e3f4a5b6";
    private static final VolumeSpec FROM = new VolumeSpec(64L << 20, 1, 1, 2, 2);
    private static final VolumeSpec TO = new VolumeSpec(128L << 20, 1, 1, 2, 2);
    private static final long NEW_GROUPS_START = (64L << 20) / 512;

    private FourServers bed;
    private GuestPair guests;
    private Map<String, NodeEndpoints> nodes;
    private Map<String, LinuxKernel> kernels;

    @BeforeAll
    void boot() throws Exception {
        bed = FourServers.boot("ExtendOnLinuxTest", Duration.ofSeconds(60));
        guests = bed.guests;
        nodes = bed.nodes;
        kernels = bed.kernels;
    }

    @AfterAll
    void shutdown() {
        if (bed != null) {
            bed.close();
        }
    }

    @Test
    void extendAnAttachedVolumeOnLinux() {
        VolumeLayout from = VolumeLayout.of(FROM);
        VolumeLayout to = VolumeLayout.of(TO);
        long ld = from.ldSectors();
        Placement created = new Placement(
                List.of(new Placement.Controller("a1", Placement.Role.ACTIVE, 3, 2),
                        new Placement.Controller("b1", Placement.Role.STANDBY, 3, 2)),
                List.of(new Placement.Leg(List.of(new Placement.Group(false,
                                List.of(new Placement.Extent("a2", 0, ld), new Placement.Extent("b2", 0, ld)), 0, 0))),
                        new Placement.Leg(List.of(new Placement.Group(false,
                                List.of(new Placement.Extent("a1", 0, ld), new Placement.Extent("b1", 0, ld)), 0, 0)))));
        startAgents();
        converge(desired(from, brandNew(created), 1));
        converge(desired(from, created, 2));

        long t = System.nanoTime();
        GuestChannel host = guests.a();
        String nqn = Names.volumeNqn("vol1");
        run(host, connect(GuestPair.ADDRESS_A, 4422, nqn) + connect(GuestPair.ADDRESS_B, 4422, nqn));
        String head = head(host);
        assertEquals(from.stripeSectors(), sectors(host, head));
        run(host, "dd if=/dev/urandom of=/tmp/before bs=1M count=8 2>/dev/null\n" + GuestIo.write("/tmp/before", head, 4 << 20));
        String before = md5(host, "/tmp/before", 0, 8);

        converge(desired(from, withNewGroups(created, from, to, true), 3));
        assertEquals(from.stripeSectors(), sectors(host, head), "building the groups does not move the host's size");
        Placement grown = withNewGroups(created, from, to, false);
        converge(desired(to.withStripeOf(from), grown, 4));
        converge(desired(to, grown, 5));
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (sectors(host, head) != to.stripeSectors()) {
            if (System.nanoTime() > deadline) {
                fail("the host's namespace still has " + sectors(host, head) + " sectors, not " + to.stripeSectors());
            }
            sleep(200);
        }
        System.out.printf("TIME extend 64 -> 128 MiB, seen by the host %.1f s%n", (System.nanoTime() - t) / 1e9);

        assertEquals(before, md5(host, head, 4, 8), "what was written before reads back unchanged");
        long lastMib = (to.usableBytes() >> 20) - 8;
        run(host, "dd if=/dev/urandom of=/tmp/after bs=1M count=8 2>/dev/null\n" + GuestIo.write("/tmp/after", head, lastMib << 20));
        assertEquals(md5(host, "/tmp/after", 0, 8), md5(host, head, (int) lastMib, 8), "the new range is writable");
        assertEquals(to.stripeSectors(), tableLength(guests.b(), Names.volume("b1", "vol1")), "the standby's error device grew");

        run(host, "for c in /sys/class/nvme/nvme*; do grep -q '" + nqn + "' $c/subsysnqn && echo 1 > $c/delete_controller; done; true");
        converge(Fixtures.empty(nodes, 6));
    }

    private static Placement brandNew(Placement p) {
        return new Placement(p.controllers(), p.legs().stream().map(l -> new Placement.Leg(l.groups().stream()
                .map(g -> new Placement.Group(true, g.sides(), g.thinMetaSectors(), g.thinDataSectors())).toList())).toList());
    }

    /** Leg 0's new group on the servers holding leg 1, and the other way round, each after the first groups. */
    private static Placement withNewGroups(Placement p, VolumeLayout from, VolumeLayout to, boolean brandNew) {
        VolumeLayout.GroupSize size = VolumeLayout.growth(from, to);
        List<List<String>> sides = List.of(List.of("a1", "b1"), List.of("a2", "b2"));
        List<Placement.Leg> legs = new java.util.ArrayList<>();
        for (int leg = 0; leg < p.legs().size(); leg++) {
            Placement.Group first = p.legs().get(leg).groups().get(0);
            legs.add(new Placement.Leg(List.of(first.sized(first.size(from)), new Placement.Group(brandNew, sides.get(leg).stream()
                    .map(n -> new Placement.Extent(n, NEW_GROUPS_START, size.ldSectors())).toList(),
                    size.thinMetaSectors(), size.thinDataSectors()))));
        }
        return new Placement(p.controllers(), legs);
    }

    private Map<String, DesiredNode> desired(VolumeLayout layout, Placement placement, long generation) {
        return Fixtures.desired(nodes, "vol1", FROM, layout, placement, List.of(HOST), generation);
    }

    private static String connect(String address, int svc, String nqn) {
        return "exec 4<>/dev/nvme-fabrics; echo 'transport=tcp,traddr=" + address + ",trsvcid=" + svc + ",nqn=" + nqn + ",hostnqn=" + HOST
                + ",hostid=" + Names.hostId(HOST) + ",keep_alive_tmo=5,ctrl_loss_tmo=30,reconnect_delay=1' >&4; read -r r <&4; exec 4<&-\n";
    }

    private static String head(GuestChannel host) {
        UUID uuid = Names.namespaceUuid(Names.volumeNqn("vol1"));
        for (int i = 0; i < 50; i++) {
            String dev = run(host, "for b in /sys/block/nvme*n*; do case ${b##*/} in *c*) continue;; esac; "
                    + "[ \"$(cat $b/uuid 2>/dev/null)\" = " + uuid + " ] && echo /dev/${b##*/}; done; true").trim();
            if (!dev.isEmpty()) {
                return dev;
            }
            sleep(200);
        }
        throw new AssertionError("no namespace head with uuid " + uuid + " on the host");
    }

    /** The host's size of the namespace head, in sectors, as the block layer has it. */
    private static long sectors(GuestChannel host, String head) {
        return Long.parseLong(run(host, "cat /sys/block/" + head.substring("/dev/".length()) + "/size").trim());
    }

    private static long tableLength(GuestChannel guest, String dm) {
        return Long.parseLong(run(guest, "DM_DISABLE_UDEV=1 dmsetup table " + dm).trim().split(" ")[1]);
    }

    private static String md5(GuestChannel guest, String path, int offsetMib, int mib) {
        return run(guest, GuestIo.md5(path, (long) offsetMib << 20, (long) mib << 20)).split(" ")[0];
    }

    private static String run(GuestChannel guest, String script) {
        CommandRunner.Result r = guest.run(script, Duration.ofSeconds(120));
        if (!r.ok()) {
            throw new AssertionError("guest command failed (" + r.exitCode() + "): " + r.stderr() + "\n" + script);
        }
        return r.stdout();
    }

    private void startAgents() {
        bed.startAgents();
    }

    private void converge(Map<String, DesiredNode> desired) {
        bed.converge(desired);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
