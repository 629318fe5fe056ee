package io.dnv.node.sim.nvme;

import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.node.sim.block.BlockDevice;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static io.dnv.node.sim.nvme.World.*;
import static org.junit.jupiter.api.Assertions.*;

/** Loss, reconnect, fast_io_fail_tmo and ctrl_loss_tmo, and the seed's fencing case. */
class FailoverTest {

    private final World w = new World();
    private final World.Kernel dn = w.kernel("dn");
    private final World.Kernel cnA = w.kernel("cn-a");
    private final World.Kernel cnB = w.kernel("cn-b");
    private MemDisk ld;

    @BeforeEach
    void exportLd() {
        ld = disk(dn, "ld");
        export(dn, 1, "10.0.0.1", LD, "ld", CN_A, 1, 99);
    }

    @Test
    void lostControllerReconnectsEveryReconnectDelayOnceTheTargetAllowsItAgain() {
        String c = cnA.host().connect(conn("10.0.0.1", LD, CN_A, new ConnectTimeouts(5, 30, 1, -1)));
        dn.nvmet().disallowHost(LD, CN_A);
        dn.nvmet().unlink(1, LD);
        dn.nvmet().link(1, LD);
        eventually("a refused reconnect", () -> dn.nvmet().dmesg().stream().anyMatch(l -> l.contains("not allowed")));
        assertEquals("connecting", state(cnA, c));
        dn.nvmet().allowHost(LD, CN_A);
        eventually("live again", () -> state(cnA, c).equals("live"));
    }

    @Test
    void queuedIoResumesOnTheSamePathAfterReconnect() throws Exception {
        cnA.host().connect(conn("10.0.0.1", LD, CN_A, new ConnectTimeouts(5, 30, 1, -1)));
        BlockDevice head = head(cnA);
        dn.nvmet().unlink(1, LD);
        CompletableFuture<Void> write = CompletableFuture.runAsync(() -> write(head, pattern(4096, 5)));
        Thread.sleep(300);
        assertFalse(write.isDone());
        dn.nvmet().link(1, LD);
        write.get(10, TimeUnit.SECONDS);
        assertArrayEquals(pattern(4096, 5), ld.bytes(0, 4096));
    }

    @Test
    void queuedIoFailsAfterFastIoFailTmoWhileTheControllerKeepsReconnecting() throws Exception {
        String c = cnA.host().connect(conn("10.0.0.1", LD, CN_A, new ConnectTimeouts(5, 30, 1, 1)));
        BlockDevice head = head(cnA);
        dn.nvmet().unlink(1, LD);
        CompletableFuture<Void> write = CompletableFuture.runAsync(() -> write(head, pattern(4096, 5)));
        ExecutionException e = assertThrows(ExecutionException.class, () -> write.get(10, TimeUnit.SECONDS));
        assertInstanceOf(IOException.class, e.getCause().getCause());
        assertEquals("connecting", state(cnA, c));
        assertThrows(IOException.class, () -> head.write(0, new byte[512]), "new I/O fails at once too");
    }

    @Test
    void controllerIsDeletedAfterCtrlLossTmoAndQueuedIoFailsThen() throws Exception {
        // keep-alive 1 s: the cut is noticed within 1.5 s; one reconnect attempt then waits out its SYN (3 s)
        String c = cnA.host().connect(conn("10.0.0.1", LD, CN_A, new ConnectTimeouts(1, 1, 1, -1)));
        BlockDevice head = head(cnA);
        w.fabric.cut("cn-a", "dn");
        CompletableFuture<Void> write = CompletableFuture.runAsync(() -> write(head, pattern(4096, 5)));
        eventually("controller deleted", () -> state(cnA, c).equals("gone"));
        ExecutionException e = assertThrows(ExecutionException.class, () -> write.get(10, TimeUnit.SECONDS));
        assertInstanceOf(IOException.class, e.getCause().getCause());
        assertTrue(cnA.host().namespaceHeads().isEmpty());
        assertEquals(0, ld.writes.get(), "the held write never reached the disk");
    }

    /**
     * dataplane.md "Failover and fencing": F's write is held on its dead path; the DN fences F
     * (allow-list removal, unlink + relink), F's link comes back, the successor writes. F's write
     * must fail and must never land over the successor's.
     */
    @Test
    void fencedWriteFailsAndNeverLandsAfterTheSuccessorsWrite() throws Exception {
        String f = cnA.host().connect(conn("10.0.0.1", LD, CN_A, new ConnectTimeouts(5, 3, 1, 1)));
        BlockDevice fHead = head(cnA);
        fHead.write(0, pattern(4096, 1));
        w.fabric.cut("cn-a", "dn");
        CompletableFuture<Void> held = CompletableFuture.runAsync(() -> write(fHead, pattern(4096, 0x0f)));

        dn.nvmet().disallowHost(LD, CN_A);
        dn.nvmet().unlink(1, LD);
        dn.nvmet().link(1, LD);
        w.fabric.heal("cn-a", "dn");

        dn.nvmet().hostCreate(CN_B);
        dn.nvmet().allowHost(LD, CN_B);
        cnB.host().connect(conn("10.0.0.1", LD, CN_B, new ConnectTimeouts(5, 10, 1, 2)));
        head(cnB).write(0, pattern(4096, 0x5b));

        ExecutionException e = assertThrows(ExecutionException.class, () -> held.get(10, TimeUnit.SECONDS));
        assertInstanceOf(IOException.class, e.getCause().getCause());
        eventually("F's controller given up", () -> state(cnA, f).equals("gone"));
        assertArrayEquals(pattern(4096, 0x5b), ld.bytes(0, 4096));
        assertTrue(dn.nvmet().dmesg().stream().anyMatch(l -> l.endsWith(
                "connect by host " + CN_A + " for subsystem " + LD + " not allowed")));
    }

    /**
     * A write that passed nvmet's checks and waits below it (a suspended LD) lands when it is
     * released, after the fence dropped F's connection: its completion has nowhere to go, so on F
     * it fails (after fast_io_fail_tmo), as on Linux, and is never reported written.
     */
    @Test
    void writeHeldBelowNvmetLandsWhenReleasedButFailsOnTheFencedHost() throws Exception {
        CountDownLatch arrived = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        dn.devices().register("/dev/held", 7, dn.devices().allocateMinor(7), new BlockDevice() {
            public long sizeSectors() {
                return ld.sizeSectors();
            }

            public void read(long offset, byte[] buf, int bufOffset, int length) throws IOException {
                ld.read(offset, buf, bufOffset, length);
            }

            public void write(long offset, byte[] buf, int bufOffset, int length) throws IOException {
                arrived.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
                ld.write(offset, buf, bufOffset, length);
            }
        });
        String held = PREFIX + "ld-held";
        export(dn, 2, "10.0.0.2", held, "held", CN_A, 100, 199);
        cnA.host().connect(conn("10.0.0.2", held, CN_A, new ConnectTimeouts(5, 3, 1, 1)));
        BlockDevice fHead = head(cnA);
        CompletableFuture<Void> write = CompletableFuture.runAsync(() -> write(fHead, pattern(4096, 0x0f)));
        assertTrue(arrived.await(5, TimeUnit.SECONDS));

        dn.nvmet().disallowHost(held, CN_A);
        dn.nvmet().unlink(2, held);
        release.countDown();

        ExecutionException e = assertThrows(ExecutionException.class, () -> write.get(10, TimeUnit.SECONDS));
        assertTrue(e.getCause().getCause().getMessage().startsWith("Input/output error"), e.getCause().getCause().getMessage());
        assertArrayEquals(pattern(4096, 0x0f), ld.bytes(0, 4096), "the device got the write");
    }

    private static BlockDevice head(World.Kernel k) {
        return k.devices().resolve(k.host().namespaceHeads().get(0).path()).orElseThrow().device();
    }

    private static void write(BlockDevice d, byte[] data) {
        try {
            d.write(0, data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
