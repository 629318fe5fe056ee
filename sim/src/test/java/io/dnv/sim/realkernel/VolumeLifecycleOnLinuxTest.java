package io.dnv.sim.realkernel;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.plan.Fixtures;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.node.agent.PassResult;
import io.dnv.core.kernel.ObservedKernel;
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
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The agents' real reconcile code on Linux: four storage servers in two guests (two per
 * kernel, as separate machines would be: own ports, host NQNs and disks) build a
 * 1-active/1-standby/2-legs/2-replicas volume, a host writes and reads through it, the agents
 * restart and re-adopt without one mutation, a snapshot is taken in the design's order, and
 * the delete leaves nothing with the prefix.
 */
@Tag("real-kernel")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VolumeLifecycleOnLinuxTest {

    private static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:0d9c2c6e-4f4e-4d7e-9d4b-3f1a2b3c4d5e";
    private static final VolumeSpec SPEC = new VolumeSpec(64L << 20, 1, 1, 2, 2);

    private FourServers bed;
    private GuestPair guests;
    private Map<String, NodeEndpoints> nodes;
    private Map<String, LinuxKernel> kernels;

    @BeforeAll
    void boot() throws Exception {
        bed = FourServers.boot("VolumeLifecycleOnLinuxTest", Duration.ofSeconds(60));
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
    void buildWriteReadopSnapshotAndDeleteOnLinux() throws Exception {
        VolumeLayout layout = VolumeLayout.of(SPEC);
        long ld = layout.ldSectors();
        Placement placement = new Placement(
                List.of(new Placement.Controller("a1", Placement.Role.ACTIVE, 3, 2),
                        new Placement.Controller("b1", Placement.Role.STANDBY, 3, 2)),
                List.of(new Placement.Leg(List.of(new Placement.Group(true,
                                List.of(new Placement.Extent("a2", 0, ld), new Placement.Extent("b2", 0, ld)), 0, 0))),
                        new Placement.Leg(List.of(new Placement.Group(true,
                                List.of(new Placement.Extent("a1", 0, ld), new Placement.Extent("b1", 0, ld)), 0, 0)))));

        assertEquals(java.util.Set.of("transport:tcp", "dm-raid", "dm-thin-pool", "dm-clone"), kernels.get("a1").capabilities(),
                "the guest runs Debian's kernel with dm-clone built out of tree");

        long t = System.nanoTime();
        startAgents();
        converge(desired(layout, placement, 1));
        System.out.printf("TIME build 1a/1s/2l/2r volume on 4 servers %.1f s%n", seconds(t));

        t = System.nanoTime();
        GuestChannel host = guests.a();
        String nqn = Names.volumeNqn("vol1");
        run(host, connect(GuestPair.ADDRESS_A, 4422, nqn) + connect(GuestPair.ADDRESS_B, 4422, nqn));
        String states = run(host, "for c in /sys/class/nvme/nvme*; do [ \"$(cat $c/subsysnqn)\" = " + nqn + " ] || continue; "
                + "for p in $c/nvme*c*n*; do cat $p/ana_state; done; done | sort | tr '\\n' ' '");
        assertEquals("inaccessible optimized ", states, "the host sees one optimized and one inaccessible path");
        String head = head(host, "vol1");
        run(host, "dd if=/dev/urandom of=/tmp/pattern bs=1M count=8 2>/dev/null\n" + GuestIo.write("/tmp/pattern", head, 4 << 20));
        String written = md5(host, "/tmp/pattern", 0, 8);
        assertEquals(written, md5(host, head, 4, 8), "read back through the volume equals what was written");
        System.out.printf("TIME host connect, write and read 8 MiB %.1f s%n", seconds(t));

        t = System.nanoTime();
        startAgents();
        converge(desired(layout, placement, 1));
        for (String node : nodes.keySet()) {
            PassResult first = firstPass(node);
            assertTrue(first.mutations().isEmpty(), node + " re-adopted with mutations: " + first.mutations());
        }
        assertEquals(written, md5(host, head, 4, 8), "the data is untouched by the re-adopt");
        System.out.printf("TIME agents restarted and re-adopted (0 mutations) %.1f s%n", seconds(t));

        t = System.nanoTime();
        snapshotInDesignOrder(guests.a(), "a1", "vol1", SPEC.legCount());
        run(host, "dd if=/dev/urandom of=/tmp/other bs=1M count=8 2>/dev/null\n" + GuestIo.write("/tmp/other", head, 4 << 20));
        for (int leg = 0; leg < SPEC.legCount(); leg++) {
            String snap = "dnv-a1-snapt-vol1-" + leg;
            run(guests.a(), "export DM_DISABLE_UDEV=1; dmsetup create " + snap + " --table '0 " + layout.legSectors() + " thin /dev/mapper/"
                    + Names.pool("a1", "vol1", leg) + " 1'");
        }
        // The snapshot holds the pattern: the volume's stripe over the snapshot legs reads it back.
        run(guests.a(), "export DM_DISABLE_UDEV=1; dmsetup create dnv-a1-snapv-vol1 --table '0 " + layout.stripeSectors()
                + " raid raid0 1 32 2 - /dev/mapper/dnv-a1-snapt-vol1-0 - /dev/mapper/dnv-a1-snapt-vol1-1'");
        assertEquals(written, md5(guests.a(), "/dev/mapper/dnv-a1-snapv-vol1", 4, 8), "the snapshot keeps the bytes of its moment");
        run(guests.a(), "export DM_DISABLE_UDEV=1; dmsetup remove dnv-a1-snapv-vol1; dmsetup remove dnv-a1-snapt-vol1-0; "
                + "dmsetup remove dnv-a1-snapt-vol1-1; dmsetup message " + Names.pool("a1", "vol1", 0) + " 0 'delete 1'; dmsetup message "
                + Names.pool("a1", "vol1", 1) + " 0 'delete 1'");
        System.out.printf("TIME snapshot (suspend stripe, thins; create_snap; resume) and check %.1f s%n", seconds(t));

        t = System.nanoTime();
        run(host, "for c in /sys/class/nvme/nvme*; do grep -q '" + nqn + "' $c/subsysnqn && echo 1 > $c/delete_controller; done; true");
        converge(empty(2));
        for (Map.Entry<String, LinuxKernel> k : kernels.entrySet()) {
            assertNothingWithThePrefix(k.getKey(), k.getValue().observe());
        }
        System.out.printf("TIME delete and check nothing is left %.1f s%n", seconds(t));
    }

    /** The design's order: stripe suspended first (crash-consistent across legs), then every thin origin. */
    private static void snapshotInDesignOrder(GuestChannel guest, String node, String vol, int legs) {
        StringBuilder s = new StringBuilder("export DM_DISABLE_UDEV=1\nset -e\n");
        s.append("dmsetup suspend ").append(Names.volume(node, vol)).append('\n');
        for (int leg = 0; leg < legs; leg++) {
            s.append("dmsetup suspend ").append(Names.thin(node, vol, leg)).append('\n');
        }
        for (int leg = 0; leg < legs; leg++) {
            s.append("dmsetup message ").append(Names.pool(node, vol, leg)).append(" 0 'create_snap 1 0'\n");
        }
        for (int leg = 0; leg < legs; leg++) {
            s.append("dmsetup resume ").append(Names.thin(node, vol, leg)).append('\n');
        }
        s.append("dmsetup resume ").append(Names.volume(node, vol)).append('\n');
        run(guest, s.toString());
    }

    private static String connect(String address, int svc, String nqn) {
        return "exec 4<>/dev/nvme-fabrics; echo 'transport=tcp,traddr=" + address + ",trsvcid=" + svc + ",nqn=" + nqn + ",hostnqn=" + HOST
                + ",hostid=" + Names.hostId(HOST) + ",keep_alive_tmo=5,ctrl_loss_tmo=30,reconnect_delay=1' >&4; read -r r <&4; exec 4<&-\n";
    }

    private static String head(GuestChannel host, String vol) {
        UUID uuid = Names.namespaceUuid(Names.volumeNqn(vol));
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

    /** The first pass an agent made after it started (its re-adopt); the answer waits for a pass under way. */
    private PassResult firstPass(String node) {
        return bed.status(node).firstPass().orElseThrow();
    }

    private void startAgents() {
        bed.startAgents();
    }

    private void converge(Map<String, DesiredNode> desired) {
        bed.converge(desired);
    }

    private Map<String, DesiredNode> desired(VolumeLayout layout, Placement placement, long generation) {
        return Fixtures.desired(nodes, "vol1", SPEC, placement, List.of(HOST), generation);
    }

    private Map<String, DesiredNode> empty(long generation) {
        return Fixtures.empty(nodes, generation);
    }

    private static void assertNothingWithThePrefix(String node, ObservedKernel k) {
        assertEquals(List.of(), k.dnvObjects(), node + " still holds objects of dnv");
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
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
