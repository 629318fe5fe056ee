package io.dnv.sim.realkernel;

import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.plan.DesiredNodes;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.plan.Planner;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.node.linux.CommandRunner;
import io.dnv.sim.vm.GuestChannel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The internal connections' timeouts and the agent's raid1 side handling on Linux, with a link
 * taken down in a guest (`ip link set eth0 down`; the guests' command channel is a virtio-serial
 * port, not the network). Four storage servers in two guests, as in VolumeLifecycleOnLinuxTest.
 */
@Tag("real-kernel")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LinkLossOnLinuxTest {

    private static final VolumeSpec SPEC = new VolumeSpec(32L << 20, 1, 0, 1, 2);
    private static final int DISK_MIB = 128;

    private FourServers bed;
    private final Map<String, List<NodeObjects>> volumes = new LinkedHashMap<>();
    private long generation;

    @BeforeAll
    void boot() throws Exception {
        bed = FourServers.boot("LinkLossOnLinuxTest", Duration.ofSeconds(90));
        bed.startAgents();
    }

    @AfterAll
    void shutdown() {
        if (bed != null) {
            bed.close();
        }
    }

    /**
     * a1 owns the leg, both sides on guest B: taking guest A's link down for 10 s takes both
     * sides at once. Longer than the old internal timeouts allowed (keep-alive 5 + fast_io_fail 2):
     * those failed both sides and turned the pool read-only.
     */
    @Test
    void anOutageOfTheControllerNodesOwnLinkFailsNoSideAndNoWrite() throws Exception {
        String vol = "blip";
        build(vol, "b1", "b2", 0);
        GuestChannel a = bed.a();
        String device = "/dev/mapper/" + Names.volume("a1", vol);
        run(a, "dd if=/dev/urandom of=/tmp/blip bs=1M count=8 2>/dev/null; rm -f /tmp/blip.rc; dmesg -c > /dev/null\n"
                + "ip link set eth0 down\n"
                + "setsid sh -c 'sleep 10; ip link set eth0 up' < /dev/null > /dev/null 2>&1 &\n"
                // Blocks the pool has not provisioned: each write also changes the pool's metadata.
                + "setsid sh -c 'dd if=/tmp/blip of=" + device + " bs=1M count=8 oflag=direct 2> /tmp/blip.err; echo $? > /tmp/blip.rc'"
                + " < /dev/null > /dev/null 2>&1 &\n");
        long t = System.nanoTime();
        String rc = await(a, "/tmp/blip.rc", Duration.ofSeconds(90));
        System.out.printf("TIME a write held through a 10 s outage of the controller node's link finished after %.1f s%n", seconds(t));
        assertEquals("0", rc, "the write failed: " + run(a, "cat /tmp/blip.err; dmesg | tail -20"));
        assertEquals(run(a, "md5sum < /tmp/blip"), run(a, "dd if=" + device + " bs=1M count=8 iflag=direct 2>/dev/null | md5sum"));
        String raid = run(a, "dmsetup status " + Names.raid1("a1", vol, 0, 0));
        assertEquals("AA", raid.split(" ")[5], "a side failed: " + raid);
        String pool = run(a, "dmsetup status " + Names.pool("a1", vol, 0));
        assertTrue(pool.contains(" rw ") && !pool.contains("needs_check"), "the pool: " + pool);
        assertFalse(run(a, "dmesg").contains("failfast expired"), "an import gave up its I/O: " + run(a, "dmesg | tail -20"));
    }

    /**
     * a1 owns the leg, side 0 on a2 (same guest), side 1 on b2: guest B's link goes. The write
     * held by side 1 finishes once the agent failed the side, before the import's own
     * fast_io_fail would have; the side comes back whole when the link does.
     */
    @Test
    void aDiskNodeThatWentAwayIsFailedByTheAgentAndTakenBackWhole() throws Exception {
        String vol = "dn";
        build(vol, "a2", "b2", 1);
        GuestChannel a = bed.a();
        GuestChannel b = bed.b();
        String device = "/dev/mapper/" + Names.volume("a1", vol);
        String raidName = Names.raid1("a1", vol, 0, 0);
        // Provisioned first, so the write below changes no pool metadata: a pool commit held by
        // the dead side would hold every dmsetup status in this guest, a pass's look among them.
        run(a, "dd if=/dev/urandom of=/tmp/dn1 bs=1M count=8 2>/dev/null; dd if=/dev/urandom of=/tmp/dn2 bs=1M count=8 2>/dev/null\n"
                + "dd if=/tmp/dn1 of=" + device + " bs=1M count=8 oflag=direct conv=fsync 2>/dev/null; rm -f /tmp/dn.rc; dmesg -c > /dev/null");
        run(b, "ip link set eth0 down");
        // Timed inside the guest, by its uptime: the command channel adds its own delays.
        run(a, "setsid sh -c 's=$(cut -d\" \" -f1 /proc/uptime); dd if=/tmp/dn2 of=" + device + " bs=1M count=8 oflag=direct"
                + " 2> /tmp/dn.err; r=$?; echo $r $s $(cut -d\" \" -f1 /proc/uptime) > /tmp/dn.rc' < /dev/null > /dev/null 2>&1 &");
        String[] rc = await(a, "/tmp/dn.rc", Duration.ofSeconds(90)).split(" ");
        double held = Double.parseDouble(rc[2]) - Double.parseDouble(rc[1]);
        System.out.printf("TIME a write held by a dead disk node's side finished after %.1f s%n", held);
        assertEquals("0", rc[0], "the write failed: " + run(a, "cat /tmp/dn.err; dmesg | tail -20"));
        assertFalse(run(a, "dmesg").contains("failfast expired"), "the kernel, not the agent, failed the side: "
                + run(a, "dmesg | tail -20"));
        assertTrue(held < ConnectTimeouts.DISK.holdSeconds(), "held " + held + " s");
        String raid = run(a, "dmsetup status " + raidName);
        assertEquals("AD", raid.split(" ")[5], raid);

        run(b, "ip link set eth0 up");
        long t = System.nanoTime();
        long deadline = t + Duration.ofSeconds(120).toNanos();
        while (!run(a, "dmsetup status " + raidName).split(" ")[5].equals("AA")) {
            if (System.nanoTime() > deadline) {
                fail("side 1 not back in sync: " + run(a, "dmsetup status " + raidName) + " " + degraded("a1"));
            }
            Thread.sleep(1000);
        }
        System.out.printf("TIME side 1 back in sync %.1f s after the link returned%n", seconds(t));
        assertEquals(run(a, "md5sum < /tmp/dn2"), run(a, "dd if=" + device + " bs=1M count=8 iflag=direct 2>/dev/null | md5sum"));
        // Both sides hold the same bytes: what side 1 missed was copied back.
        String data0 = "/dev/mapper/" + Names.raidData("a1", vol, 0, 0, 0);
        String data1 = "/dev/mapper/" + Names.raidData("a1", vol, 0, 0, 1);
        assertEquals(run(a, "dd if=" + data0 + " bs=1M iflag=direct 2>/dev/null | md5sum"),
                run(a, "dd if=" + data1 + " bs=1M iflag=direct 2>/dev/null | md5sum"));
    }

    /** A volume on a1 (one active, one leg) whose raid1 sides are on {@code side0} and {@code side1}. */
    private void build(String vol, String side0, String side1, int extentIndex) {
        VolumeLayout layout = VolumeLayout.of(SPEC);
        long ld = layout.ldSectors();
        Placement placement = new Placement(List.of(new Placement.Controller("a1", Placement.Role.ACTIVE, 3, 2 + extentIndex)),
                List.of(new Placement.Leg(List.of(Placement.Group.placed(List.of(
                        new Placement.Extent(side0, extentIndex * ld, ld), new Placement.Extent(side1, extentIndex * ld, ld)))))));
        Planner.plan(vol, SPEC, layout, placement, List.of(), bed.nodes)
                .forEach((node, objects) -> volumes.computeIfAbsent(node, n -> new java.util.ArrayList<>()).add(objects));
        generation++;
        Map<String, DesiredNode> desired = new LinkedHashMap<>();
        bed.nodes.values().forEach(n -> desired.put(n.nodeId(), DesiredNodes.assemble(n, generation,
                volumes.getOrDefault(n.nodeId(), List.of()))));
        bed.converge(desired);
    }

    private List<String> degraded(String node) {
        return bed.status(node).lastPass().map(p -> p.degraded()).orElse(List.of());
    }

    /** The first line of a file a background command writes when it is done. */
    private static String await(GuestChannel guest, String file, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (true) {
            String out = run(guest, "cat " + file + " 2>/dev/null || true");
            if (!out.isEmpty()) {
                return out;
            }
            if (System.nanoTime() > deadline) {
                fail(file + " not written within " + within.toSeconds() + " s: " + run(guest, "dmesg | tail -20"));
            }
            Thread.sleep(500);
        }
    }

    private static String run(GuestChannel guest, String script) {
        CommandRunner.Result r = guest.run(script, Duration.ofSeconds(120));
        if (!r.ok()) {
            throw new AssertionError("guest command failed (" + r.exitCode() + "): " + script + "\n" + r.stderr());
        }
        return r.stdout().strip();
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }
}
