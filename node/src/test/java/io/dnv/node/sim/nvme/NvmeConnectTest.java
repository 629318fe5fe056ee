package io.dnv.node.sim.nvme;

import io.dnv.core.kernel.ConnectTimeouts;

import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.ObservedKernel;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.UUID;

import static io.dnv.node.sim.nvme.World.*;
import static org.junit.jupiter.api.Assertions.*;

class NvmeConnectTest {

    private final World w = new World();
    private final World.Kernel dn = w.kernel("dn");
    private final World.Kernel cn = w.kernel("cn");

    @BeforeEach
    void exportLd() {
        disk(dn, "ld");
        export(dn, 1, "10.0.0.1", LD, "ld", CN_A, 100, 199);
    }

    @Test
    void connectNeedsTheSubsystemLinkedToAListeningPortAtThatAddress() {
        refused(Errno.ECONNREFUSED, () -> cn.host().connect(conn("10.0.0.9", LD, CN_A, QUICK)));
        dn.nvmet().subsystemCreate(PREFIX + "other", 1, 9, "sn");
        refused(Errno.EIO, () -> cn.host().connect(conn("10.0.0.1", PREFIX + "other", CN_A, QUICK)));
        assertTrue(dn.nvmet().dmesg().stream().anyMatch(l -> l.endsWith("connect request for invalid subsystem "
                + PREFIX + "other!")));
        String c = cn.host().connect(conn("10.0.0.1", LD, CN_A, QUICK));
        assertEquals(List.of(new ObservedKernel.Controller(c, "tcp", "10.0.0.1", 4420, LD, CN_A, 100, "live")),
                cn.host().controllers());
    }

    /** A machine that is off listens nowhere, but nothing refuses either: the SYN goes unanswered. */
    @Test
    void aConnectToAMachineThatIsOffTimesOutRatherThanBeingRefused() {
        dn.nvmet().powerOff();
        w.fabric.power("dn", false);
        refused(Errno.ETIMEDOUT, () -> cn.host().connect(conn("10.0.0.1", LD, CN_A, QUICK)));
    }

    @Test
    void connectByAHostNotAllowedIsRefusedAndLoggedByTheTarget() {
        refused(Errno.EIO, () -> cn.host().connect(conn("10.0.0.1", LD, CN_B, QUICK)));
        assertTrue(dn.nvmet().dmesg().stream().anyMatch(l -> l.endsWith(
                "nvmet: connect by host " + CN_B + " for subsystem " + LD + " not allowed")));
        assertTrue(cn.host().dmesg().stream().anyMatch(l -> l.contains(
                "Connect for subsystem " + LD + " is not allowed, hostnqn: " + CN_B)));
        assertEquals(List.of(), cn.host().controllers());
        assertEquals("nvme0", cn.host().connect(conn("10.0.0.1", LD, CN_A, QUICK)),
                "a refused connect leaves nothing behind, not even its instance");
    }

    @Test
    void allowAnyHostAdmitsEveryHost() {
        dn.nvmet().disallowHost(LD, CN_A);
        dn.nvmet().allowAnyHost(LD, true);
        cn.host().connect(conn("10.0.0.1", LD, CN_B, QUICK));
        assertEquals(1, cn.host().controllers().size());
    }

    /**
     * Linux 6.1 (Debian's 6.1.192, checked in the VM) keeps no host-id/host-NQN pairing: both
     * connects below succeed there (the check arrived in later kernels), so they do here.
     */
    @Test
    void linux61AcceptsOneHostIdUnderTwoHostNqnsAndTheReverse() {
        dn.nvmet().allowAnyHost(LD, false);
        NvmeConnection a = conn("10.0.0.1", LD, CN_A, QUICK);
        cn.host().connect(a);
        String ld2 = exportSecondLd();
        cn.host().connect(new NvmeConnection("tcp", "10.0.0.1", 4420, ld2, CN_B, a.hostId(), QUICK));
        String ld3 = exportThirdLd();
        cn.host().connect(new NvmeConnection("tcp", "10.0.0.1", 4420, ld3, CN_A, UUID.randomUUID(), QUICK));
        assertEquals(3, cn.host().controllers().size());
    }

    @Test
    void secondConnectToTheSameAddressSubsystemAndHostNqnIsAlreadyInProgress() {
        cn.host().connect(conn("10.0.0.1", LD, CN_A, QUICK));
        refused(Errno.EALREADY, () -> cn.host().connect(conn("10.0.0.1", LD, CN_A, QUICK)));
        assertEquals(1, cn.host().controllers().size());
    }

    @Test
    void controllerWithACntlidItsSubsystemAlreadyHasOnThisHostIsRejected() {
        World.Kernel standby = w.kernel("standby");
        disk(standby, "ld");
        export(standby, 1, "10.0.0.2", LD, "ld", CN_A, 100, 199);
        String first = cn.host().connect(conn("10.0.0.1", LD, CN_A, QUICK));
        refused(Errno.EINVAL, () -> cn.host().connect(conn("10.0.0.2", LD, CN_A, QUICK)));
        assertTrue(cn.host().dmesg().stream().anyMatch(l -> l.endsWith(
                "Duplicate cntlid 100 with " + first + ", subsys " + LD + ", rejecting")));
        assertEquals(1, cn.host().controllers().size());
    }

    @Test
    void disjointCntlidRangesGiveTwoPathsOfOneSubsystem() {
        World.Kernel standby = w.kernel("standby");
        disk(standby, "ld");
        export(standby, 1, "10.0.0.2", LD, "ld", CN_A, 1000, 1999);
        cn.host().connect(conn("10.0.0.1", LD, CN_A, QUICK));
        cn.host().connect(conn("10.0.0.2", LD, CN_A, QUICK));
        assertEquals(List.of(100, 1000), cn.host().controllers().stream().map(ObservedKernel.Controller::cntlid).toList());
    }

    /** nvmet_alloc_ctrl: ida_alloc_range fails, NVME_SC_CONNECT_CTRL_BUSY; the host's write returns EIO. */
    @Test
    void aConnectWhenTheSubsystemsRangeIsTakenIsRefusedAsControllerBusy() {
        String ld2 = exportSecondLd();
        dn.nvmet().subsystemCreate(PREFIX + "narrow", 150, 151, "sn");
        dn.nvmet().allowAnyHost(PREFIX + "narrow", true);
        dn.nvmet().link(1, PREFIX + "narrow");
        cn.host().connect(conn("10.0.0.1", PREFIX + "narrow", CN_A, QUICK));
        cn.host().connect(conn("10.0.0.1", PREFIX + "narrow", CN_B, QUICK));
        refused(Errno.EIO, () -> cn.host().connect(conn("10.0.0.1", PREFIX + "narrow", PREFIX + "cn-c", QUICK)));
        assertTrue(cn.host().dmesg().get(cn.host().dmesg().size() - 1).endsWith(
                "Connect command failed: controller is busy or not available"), cn.host().dmesg().toString());
        cn.host().connect(conn("10.0.0.1", ld2, CN_B, QUICK));
        assertEquals(3, cn.host().controllers().size(), "another subsystem's range still has ids");
    }

    @Test
    void removingTheAllowedHostDoesNotDropItsLiveConnection() throws Exception {
        String c = cn.host().connect(conn("10.0.0.1", LD, CN_A, QUICK));
        dn.nvmet().disallowHost(LD, CN_A);
        Thread.sleep(200);
        assertEquals("live", state(cn, c));
        byte[] data = pattern(4096, 3);
        cn.devices().resolve("/dev/nvme0n1").orElseThrow().device().write(0, data);
    }

    @Test
    void unlinkingTheSubsystemFromThePortDropsItsConnections() {
        String c = cn.host().connect(conn("10.0.0.1", LD, CN_A, QUICK));
        dn.nvmet().unlink(1, LD);
        eventually("controller connecting", () -> state(cn, c).equals("connecting"));
    }

    @Test
    void fabricCutIsNoticedByKeepAliveAndRefusesNewConnectsUntilHealed() {
        // keep-alive 2 s: Linux 6.1 with nvmet's TBKAS sends one every 0.5 s and times it out after 2 s
        String c = cn.host().connect(conn("10.0.0.1", LD, CN_A, new ConnectTimeouts(2, 30, 1, -1)));
        long cut = System.nanoTime();
        w.fabric.cut("cn", "dn");
        assertEquals("live", state(cn, c), "a silent link shows nothing at once");
        eventually("controller connecting", () -> state(cn, c).equals("connecting"));
        double noticed = (System.nanoTime() - cut) / 1e9;
        assertTrue(noticed >= 2.0 && noticed < 3.5, "noticed after " + noticed + " s, not within KATO..1.5 KATO");
        assertTrue(cn.host().dmesg().stream().anyMatch(l -> l.endsWith("queue 0: timeout request 0x0 type 4")), cn.host().dmesg().toString());
        World.Kernel other = w.kernel("other");
        dn.nvmet().hostCreate(CN_B);
        dn.nvmet().allowHost(LD, CN_B);
        refused(Errno.ETIMEDOUT, () -> cn.host().connect(conn("10.0.0.1", LD, CN_B, QUICK)));
        other.host().connect(conn("10.0.0.1", LD, CN_B, QUICK));
        w.fabric.heal("cn", "dn");
        eventually("controller reconnected", () -> state(cn, c).equals("live"));
    }

    @Test
    void targetNvmetPowerOffDropsConnectionsAndEmptiesConfigfs() {
        String c = cn.host().connect(conn("10.0.0.1", LD, CN_A, QUICK));
        dn.nvmet().powerOff();
        eventually("controller connecting", () -> state(cn, c).equals("connecting"));
        assertEquals(List.of(), dn.nvmet().ports());
        assertEquals(List.of(), dn.nvmet().subsystems());
        assertEquals(List.of(), dn.nvmet().hosts());
        assertEquals(0, dn.devices().openCount("/dev/ld"));
    }

    @Test
    void disconnectFreesTheCntlidOnTheTarget() {
        World.Kernel other = w.kernel("other");
        dn.nvmet().hostCreate(CN_B);
        dn.nvmet().allowHost(LD, CN_B);
        cn.host().disconnect(cn.host().connect(conn("10.0.0.1", LD, CN_A, QUICK)));
        other.host().connect(conn("10.0.0.1", LD, CN_B, QUICK));
        assertEquals(100, other.host().controllers().get(0).cntlid());
        refused(Errno.ENOENT, () -> cn.host().disconnect("nvme0"));
    }

    private String exportSecondLd() {
        return exportLd("ld-2", "sn2");
    }

    private String exportThirdLd() {
        return exportLd("ld-3", "sn3");
    }

    private String exportLd(String name, String serial) {
        String ld = PREFIX + name;
        dn.nvmet().subsystemCreate(ld, 1, 9, serial);
        dn.nvmet().allowAnyHost(ld, true);
        dn.nvmet().link(1, ld);
        return ld;
    }
}
