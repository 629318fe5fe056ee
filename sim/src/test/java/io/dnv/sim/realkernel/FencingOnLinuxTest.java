package io.dnv.sim.realkernel;

import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.NvmetPort;
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
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The seed's consistency case at kernel level. Controller F (guest A) has a write in flight at
 * the disk node (held by a suspended LD); F is fenced in the design's order — allow-list
 * removal, unlink from the port (drops F's connection), suspend/resume of the LD (F's held
 * write lands now, before anything of the successor's) — then S (guest B) connects and writes
 * the same block. F's write fails on F, F cannot reconnect, and the block holds S's bytes.
 */
@Tag("real-kernel")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FencingOnLinuxTest {

    private static final String LD = "dnv-dn-ld-fence";
    private static final String NQN = "nqn.2024-01.io.dnv:ld:fence";
    private static final UUID NS = Names.namespaceUuid(NQN);
    private static final String F = Names.hostNqn("cnf");
    private static final String S = Names.hostNqn("cns");
    private static final ConnectTimeouts TIMEOUTS = new ConnectTimeouts(5, 10, 1, 1);

    private GuestPair guests;

    @BeforeAll
    void boot() throws Exception {
        guests = GuestPair.boot(GuestPair.Images.fromSystemProperties(), 1, 64);
        System.out.printf("TIME boot of both guests %.1f s%n", guests.bootTime().toMillis() / 1000.0);
    }

    @AfterAll
    void shutdown() {
        if (guests != null) {
            guests.close();
        }
    }

    @Test
    void aFencedControllersWriteNeverLandsAfterItsSuccessors() {
        LinuxKernel dn = new LinuxKernel(guests.b(), Duration.ofSeconds(60), List.of("/dev/ram0"));
        LinuxKernel cnF = new LinuxKernel(guests.a(), Duration.ofSeconds(60), List.of());
        LinuxKernel cnS = new LinuxKernel(guests.b(), Duration.ofSeconds(60), List.of());
        dn.dmCreate(LD, "0 8192 linear /dev/ram0 0");
        dn.nvmetPortCreate(NvmetPort.tcp(1, GuestPair.ADDRESS_B, 4420));
        dn.nvmetSubsystemCreate(NQN, 1, 1000, Names.serial(NQN));
        dn.nvmetHostCreate(F);
        dn.nvmetHostCreate(S);
        dn.nvmetAllowHost(NQN, F);
        dn.nvmetNamespaceCreate(NQN, 1, "/dev/mapper/" + LD, NS, Names.nguid(NS), 1);
        dn.nvmetNamespaceEnable(NQN, 1, true);
        dn.nvmetLink(1, NQN);
        cnF.nvmeConnect(new NvmeConnection("tcp", GuestPair.ADDRESS_B, 4420, NQN, F, Names.hostId(F), TIMEOUTS));
        String fDev = namespace(cnF);
        run(guests.a(), "dd if=/dev/urandom of=/tmp/old bs=1M count=1 2>/dev/null; dd if=/dev/urandom of=/tmp/x bs=1M count=1 2>/dev/null\n"
                + GuestIo.write("/tmp/old", fDev, 0));
        String x = md5(guests.a(), "/tmp/x");

        long t = System.nanoTime();
        dn.dmSuspend(LD);
        run(guests.a(), "rm -f /tmp/x.rc; ( dd if=/tmp/x of=" + fDev + " bs=1M oflag=direct conv=fsync 2>/dev/null; echo $? > /tmp/x.rc ) "
                + "</dev/null >/dev/null 2>&1 &\nsleep 1");

        dn.nvmetDisallowHost(NQN, F);
        dn.nvmetUnlink(1, NQN);
        dn.dmResume(LD);                 // the LD was suspended: F's held write lands now
        dn.dmSuspend(LD);                // the fence's own flush: nothing of F's is on its way after it
        dn.dmResume(LD);
        dn.nvmetAllowHost(NQN, S);
        dn.nvmetLink(1, NQN);
        System.out.printf("TIME fence (allow-list, unlink, suspend/resume, relink) %.1f s%n", seconds(t));

        cnS.nvmeConnect(new NvmeConnection("tcp", GuestPair.ADDRESS_B, 4420, NQN, S, Names.hostId(S), TIMEOUTS));
        String sDev = namespace(cnS);
        run(guests.b(), "dd if=/dev/urandom of=/tmp/y bs=1M count=1 2>/dev/null\n" + GuestIo.write("/tmp/y", sDev, 0));
        String y = md5(guests.b(), "/tmp/y");
        System.out.printf("TIME successor connected and wrote %.1f s%n", seconds(t));

        String rc = "";
        for (int i = 0; i < 150 && rc.isEmpty(); i++) {
            rc = run(guests.a(), "cat /tmp/x.rc 2>/dev/null; true").trim();
            sleep(100);
        }
        assertNotEquals("", rc, "the write through the fenced path never completed");
        assertNotEquals("0", rc, "the write through the fenced path must fail on F");
        assertTrue(!run(guests.a(), "dd if=/tmp/x of=" + fDev + " bs=1M oflag=direct conv=fsync 2>/dev/null; echo rc=$?").contains("rc=0"),
                "a new write through the fenced path fails");
        System.out.printf("TIME fenced write failed on F %.1f s%n", seconds(t));

        sleep(TIMEOUTS.ctrlLoss() * 1000L + 2000);   // past F's whole reconnect window
        assertEquals(y, md5(guests.b(), "/dev/mapper/" + LD), "the block holds the successor's bytes");
        assertNotEquals(x, y);
        assertTrue(run(guests.b(), "dmesg | grep -c 'connect by host " + F + ".*not allowed' || true").trim().compareTo("0") > 0,
                "F tried to reconnect and was refused");
        System.out.printf("TIME after F's ctrl_loss_tmo the block still holds S's write %.1f s%n", seconds(t));
    }

    private static String namespace(LinuxKernel k) {
        for (int i = 0; i < 50; i++) {
            String p = namespacePath(k);
            if (p != null) {
                return p;
            }
            sleep(100);
        }
        throw new AssertionError("the imported namespace did not appear");
    }

    private static String namespacePath(LinuxKernel k) {
        return k.observe().namespace(NS).map(ObservedKernel.BlockDevice::path).orElse(null);
    }

    private static String md5(GuestChannel g, String path) {
        return run(g, GuestIo.md5(path, 0, 1 << 20)).split(" ")[0];
    }

    private static String run(GuestChannel g, String script) {
        CommandRunner.Result r = g.run(script, Duration.ofSeconds(60));
        if (!r.ok()) {
            throw new AssertionError("guest command failed (" + r.exitCode() + "): " + r.stderr() + "\n" + script);
        }
        return r.stdout();
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
