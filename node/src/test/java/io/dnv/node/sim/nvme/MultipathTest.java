package io.dnv.node.sim.nvme;

import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.node.sim.block.BlockDevice;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static io.dnv.node.sim.nvme.World.*;
import static org.junit.jupiter.api.Assertions.*;

class MultipathTest {

    private final World w = new World();
    private final World.Kernel active = w.kernel("active");
    private final World.Kernel standby = w.kernel("standby");
    private final World.Kernel host = w.kernel("host");
    private MemDisk activeDisk;
    private MemDisk standbyDisk;

    @BeforeEach
    void exportOnBoth() {
        activeDisk = disk(active, "vol");
        standbyDisk = disk(standby, "vol");
        export(active, 1, "10.0.0.1", LD, "vol", CN_A, 1, 999);
        export(standby, 1, "10.0.0.2", LD, "vol", CN_A, 1000, 1999);
    }

    @Test
    void controllersOfOneSubsystemShareOneHeadPerNamespaceUuid() throws IOException {
        host.host().connect(conn("10.0.0.1", LD, CN_A, QUICK));
        host.host().connect(conn("10.0.0.2", LD, CN_A, QUICK));
        List<ObservedKernel.BlockDevice> heads = host.host().namespaceHeads();
        assertEquals(1, heads.size());
        ObservedKernel.BlockDevice h = heads.get(0);
        assertEquals("/dev/nvme0n1", h.path());
        assertTrue(h.majorMinor().startsWith("259:"));
        assertEquals(2048, h.sizeSectors());
        assertEquals(Optional.of(NS_UUID), h.uuid());
        assertEquals(h.path(), host.devices().resolve(h.majorMinor()).orElseThrow().path());
    }

    @Test
    void ioOnTheHeadCarriesRealBytesToTheTargetDevice() throws IOException {
        host.host().connect(conn("10.0.0.1", LD, CN_A, QUICK));
        BlockDevice head = head();
        byte[] data = pattern(8192, 7);
        head.write(4096, data);
        assertArrayEquals(data, activeDisk.bytes(4096, 8192));
        byte[] back = new byte[8192];
        head.read(4096, back);
        assertArrayEquals(data, back);
    }

    /** blkdiscard -z on a namespace: nvme-tcp sends Write Zeroes, and nvmet zeroes its own device; no buffer crosses. */
    @Test
    void writeZeroesOnTheHeadReachesTheTargetDeviceAsOneCommand() throws IOException {
        host.host().connect(conn("10.0.0.1", LD, CN_A, QUICK));
        BlockDevice head = head();
        head.write(0, pattern(16384, 3));
        head.writeZeroes(4096, 8192);
        assertEquals(1, activeDisk.writes.get(), "only the pattern was written as data");
        assertEquals(1, activeDisk.zeroings.get());
        assertArrayEquals(new byte[8192], activeDisk.bytes(4096, 8192));
        assertArrayEquals(java.util.Arrays.copyOfRange(pattern(16384, 3), 12288, 16384), activeDisk.bytes(12288, 4096));
    }

    @Test
    void namespaceWhoseOnlyPathsAreInaccessibleHasNoBlockDeviceUntilOneTurnsOptimized() {
        standby.nvmet().anaState(1, 1, AnaState.INACCESSIBLE);
        host.host().connect(conn("10.0.0.2", LD, CN_A, QUICK));
        assertEquals(List.of(), host.host().namespaceHeads());
        standby.nvmet().anaState(1, 1, AnaState.OPTIMIZED);
        eventually("head appears", () -> host.host().namespaceHeads().size() == 1);
    }

    @Test
    void ioGoesRoundRobinOverOptimizedPathsAndToNonOptimizedOnlyWithoutThem() throws IOException {
        String a = host.host().connect(conn("10.0.0.1", LD, CN_A, QUICK));
        String s = host.host().connect(conn("10.0.0.2", LD, CN_A, QUICK));
        BlockDevice head = head();
        head.write(0, pattern(512, 1));
        head.write(0, pattern(512, 2));
        assertEquals(1, activeDisk.writes.get());
        assertEquals(1, standbyDisk.writes.get());
        standby.nvmet().anaState(1, 1, AnaState.NON_OPTIMIZED);
        // the host uses what it read from the ANA log after the change notice, not the target's live state
        eventually("the host read the change", () -> host.host().pathAnaState(s, 1).equals(Optional.of("non-optimized")));
        for (int i = 0; i < 4; i++) {
            head.write(0, pattern(512, i));
        }
        assertEquals(5, activeDisk.writes.get());
        active.nvmet().anaState(1, 1, AnaState.INACCESSIBLE);
        eventually("the host read the change", () -> host.host().pathAnaState(a, 1).equals(Optional.of("inaccessible")));
        head.write(0, pattern(512, 9));
        assertEquals(5, activeDisk.writes.get());
        assertEquals(2, standbyDisk.writes.get());
    }

    @Test
    void ioIsQueuedWhileNoPathIsUsableAndCompletesWhenOneTurnsOptimized() throws Exception {
        host.host().connect(conn("10.0.0.1", LD, CN_A, QUICK));
        standby.nvmet().anaState(1, 1, AnaState.INACCESSIBLE);
        host.host().connect(conn("10.0.0.2", LD, CN_A, QUICK));
        BlockDevice head = head();
        standbyDisk.write(0, pattern(4096, 42), 0, 4096);
        active.nvmet().anaState(1, 1, AnaState.CHANGE);
        active.nvmet().unlink(1, LD);
        CompletableFuture<byte[]> read = CompletableFuture.supplyAsync(() -> readQuietly(head, 0, 4096));
        Thread.sleep(500);
        assertFalse(read.isDone(), "queued, not failed");
        standby.nvmet().anaState(1, 1, AnaState.OPTIMIZED);
        assertArrayEquals(pattern(4096, 42), read.get(10, TimeUnit.SECONDS));
    }

    @Test
    void headGoesAwayWithItsLastControllerAndQueuedIoFails() throws Exception {
        String a = host.host().connect(conn("10.0.0.1", LD, CN_A, QUICK));
        String b = host.host().connect(conn("10.0.0.2", LD, CN_A, QUICK));
        BlockDevice head = head();
        active.nvmet().anaState(1, 1, AnaState.INACCESSIBLE);
        standby.nvmet().anaState(1, 1, AnaState.INACCESSIBLE);
        CompletableFuture<byte[]> read = CompletableFuture.supplyAsync(() -> readQuietly(head, 0, 512));
        host.host().disconnect(a);
        assertEquals(1, host.host().namespaceHeads().size(), "one path left");
        Thread.sleep(300);
        assertFalse(read.isDone());
        host.host().disconnect(b);
        ExecutionException e = assertThrows(ExecutionException.class, () -> read.get(10, TimeUnit.SECONDS));
        assertInstanceOf(IOException.class, e.getCause().getCause());
        assertEquals(List.of(), host.host().namespaceHeads());
        assertTrue(host.devices().resolve("/dev/nvme0n1").isEmpty());
    }

    @Test
    void headHeldOpenWhenItsLastPathGoesFailsIoAndIsFreedWhenClosed() {
        String a = host.host().connect(conn("10.0.0.1", LD, CN_A, QUICK));
        BlockDevice head = head();
        host.devices().open("/dev/nvme0n1", "dm-0");
        host.host().disconnect(a);
        assertEquals(List.of(), host.host().namespaceHeads());
        assertThrows(IOException.class, () -> head.read(0, new byte[512]));
        host.host().connect(conn("10.0.0.1", LD, CN_A, QUICK));
        assertEquals("/dev/nvme0n2", host.host().namespaceHeads().get(0).path(),
                "the open head keeps its subsystem and its head instance: the new head is the next one");
        host.devices().close("/dev/nvme0n1", "dm-0");
        host.host().namespaceHeads();
        assertTrue(host.devices().resolve("/dev/nvme0n1").isEmpty());
    }

    @Test
    void removingTheNamespaceRemovesItsPathButNotTheController() {
        String a = host.host().connect(conn("10.0.0.1", LD, CN_A, QUICK));
        active.nvmet().namespaceRemove(LD, 1);
        eventually("head removed", () -> host.host().namespaceHeads().isEmpty());
        assertEquals("live", state(host, a));
        assertEquals(0, active.devices().openCount("/dev/vol"));
    }

    @Test
    void namespaceEnabledAfterConnectAppearsThroughAnAsyncEvent() {
        active.nvmet().namespaceEnable(LD, 1, false);
        host.host().connect(conn("10.0.0.1", LD, CN_A, QUICK));
        assertEquals(List.of(), host.host().namespaceHeads());
        active.nvmet().namespaceEnable(LD, 1, true);
        eventually("head appears", () -> host.host().namespaceHeads().size() == 1);
    }

    @Test
    void deviceErrorsAreReturnedNotRetriedOnAnotherPath() {
        host.host().connect(conn("10.0.0.1", LD, CN_A, new ConnectTimeouts(5, 30, 1, -1)));
        BlockDevice head = head();
        assertThrows(IOException.class, () -> head.write(1 << 20, new byte[512]), "beyond the end");
        assertEquals(0, activeDisk.writes.get());
    }

    private BlockDevice head() {
        return host.devices().resolve(host.host().namespaceHeads().get(0).path()).orElseThrow().device();
    }

    static byte[] readQuietly(BlockDevice d, long offset, int length) {
        byte[] b = new byte[length];
        try {
            d.read(offset, b);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return b;
    }
}
