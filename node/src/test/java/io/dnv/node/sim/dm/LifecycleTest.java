package io.dnv.node.sim.dm;

import io.dnv.node.kernel.KernelException;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.block.BlockDevice;
import io.dnv.node.sim.nvme.Fabric;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static io.dnv.node.sim.dm.DmTestBed.assertContains;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** create / load / suspend / resume / remove as dmsetup sees them. */
class LifecycleTest {

    @TempDir
    Path tmp;
    DmTestBed k;

    @BeforeEach
    void setUp() {
        k = new DmTestBed(tmp);
        k.disk("/dev/ram0", 1, 0, 8192);
        k.disk("/dev/ram1", 1, 1, 8192);
    }

    @AfterEach
    void tearDown() throws Exception {
        k.close();
    }

    @Test
    void removeOfADeviceMappedByAnotherTableIsRefusedUntilTheUpperDeviceIsRemoved() {
        k.dm.create("lower", "0 4096 linear /dev/ram0 0");
        k.dm.create("upper", "0 4096 linear /dev/mapper/lower 0");
        assertEquals(1, k.observe("lower").openCount());
        assertEquals("device-mapper: remove ioctl on lower  failed: Device or resource busy",
                k.refused(() -> k.dm.remove("lower")).kernelMessage());
        assertEquals("0 4096 linear 1:0 0", k.table("lower"));
        k.dm.remove("upper");
        assertEquals(0, k.observe("lower").openCount());
        k.dm.remove("lower");
        assertTrue(k.dm.list().isEmpty());
        assertEquals(0, k.devices.openCount("/dev/ram0"));
    }

    @Test
    void removeIsRefusedWhileAnyoneElseHoldsTheDeviceOpen() {
        k.dm.create("x", "0 8 linear /dev/ram0 0");
        k.devices.open("/dev/mapper/x", "nvmet:ns1");
        assertContains(k.refused(() -> k.dm.remove("x")).kernelMessage(), "Device or resource busy");
        k.devices.close("/dev/mapper/x", "nvmet:ns1");
        k.dm.remove("x");
    }

    /** blkdiscard -z holds the device open while it zeroes: a remove meanwhile is refused, as for any holder. */
    @Test
    void removeIsRefusedWhileTheDeviceIsBeingZeroed() throws Exception {
        SimulatedKernel kernel = new SimulatedKernel("127.0.6.1", new Fabric()).addDisk("/dev/ram0", tmp.resolve("z"), 8L << 20);
        try {
            kernel.dmCreate("x", "0 4096 linear /dev/ram0 0");
            kernel.dmSuspend("x");
            CompletableFuture<Void> zeroing = CompletableFuture.runAsync(() -> kernel.zeroOut("/dev/mapper/x", 0, 4096L * 512));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (kernel.observe().dm("x").orElseThrow().openCount() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertContains(assertThrows(KernelException.class, () -> kernel.dmRemove("x")).kernelMessage(), "Device or resource busy");
            kernel.dmResume("x");
            zeroing.get(5, TimeUnit.SECONDS);
            kernel.dmRemove("x");
        } finally {
            kernel.shutdown();
        }
    }

    @Test
    void suspendHoldsNewIoUntilResume() throws Exception {
        k.dm.create("x", "0 4096 linear /dev/ram0 0");
        BlockDevice x = k.dev("x");
        k.dm.suspend("x");
        assertTrue(k.observe("x").suspended());
        byte[] data = DmTestBed.pattern(1, 4096);
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> DmTestBed.write(x, 0, data));
        assertThrows(TimeoutException.class, () -> writer.get(300, TimeUnit.MILLISECONDS));
        assertArrayEquals(new byte[4096], DmTestBed.read(k.dev("/dev/ram0"), 0, 4096));
        k.dm.resume("x");
        writer.get(5, TimeUnit.SECONDS);
        assertFalse(k.observe("x").suspended());
        assertArrayEquals(data, DmTestBed.read(k.dev("/dev/ram0"), 0, 4096));
    }

    @Test
    void suspendWaitsForTheIoInFlight() throws Exception {
        Gated gated = new Gated(k.dev("/dev/ram1"));
        k.devices.register("/dev/slow0", 7, 0, gated);
        k.dm.create("x", "0 4096 linear /dev/slow0 0");
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> DmTestBed.write(k.dev("x"), 0, new byte[512]));
        assertTrue(gated.entered.await(5, TimeUnit.SECONDS));
        CompletableFuture<Void> suspend = CompletableFuture.runAsync(() -> k.dm.suspend("x"));
        assertThrows(TimeoutException.class, () -> suspend.get(300, TimeUnit.MILLISECONDS));
        gated.release.countDown();
        suspend.get(5, TimeUnit.SECONDS);
        // The write reached the disk before suspend returned (the writer's future may complete a moment later).
        assertTrue(gated.landed);
        writer.get(5, TimeUnit.SECONDS);
        k.dm.resume("x");
    }

    @Test
    void loadAndResumeReplacesTheTableAndReleasesTheOldDevices() {
        k.dm.create("x", "0 4096 linear /dev/ram0 0");
        DmTestBed.write(k.dev("/dev/ram1"), 0, DmTestBed.filled(7, 512));
        k.dm.load("x", "0 4096 linear /dev/ram1 0");
        assertEquals("0 4096 linear 1:0 0", k.table("x"), "an inactive table does not serve I/O yet");
        assertEquals(1, k.devices.openCount("/dev/ram1"), "a loaded table holds its devices");
        k.dm.suspend("x");
        k.dm.resume("x");
        assertEquals("0 4096 linear 1:1 0", k.table("x"));
        assertEquals(0, k.devices.openCount("/dev/ram0"));
        assertArrayEquals(DmTestBed.filled(7, 512), DmTestBed.read(k.dev("x"), 0, 512));
    }

    @Test
    void resumeWithoutSuspendSwapsTheInactiveTableToo() {
        k.dm.create("sb", "0 4096 error");
        assertThrows(IOException.class, () -> k.dev("sb").read(0, new byte[512]));
        k.dm.load("sb", "0 4096 linear /dev/ram1 0");
        k.dm.resume("sb");
        assertEquals("0 4096 linear 1:1 0", k.table("sb"));
        DmTestBed.read(k.dev("sb"), 0, 512);
    }

    @Test
    void multiLineTablesMapEachRangeToItsOwnDevice() {
        k.dm.create("cat", "0 2048 linear /dev/ram0 1024\n2048 2048 linear /dev/ram1 0");
        byte[] data = DmTestBed.pattern(3, 2 * 1024 * 1024);
        DmTestBed.write(k.dev("cat"), 0, data);
        assertArrayEquals(java.util.Arrays.copyOfRange(data, 0, 1 << 20), DmTestBed.read(k.dev("/dev/ram0"), 1024 * 512, 1 << 20));
        assertArrayEquals(java.util.Arrays.copyOfRange(data, 1 << 20, 2 << 20), DmTestBed.read(k.dev("/dev/ram1"), 0, 1 << 20));
        assertEquals("0 2048 linear 1:0 1024\n2048 2048 linear 1:1 0", k.table("cat"));
    }

    /** A device whose first write blocks until the test lets it through. */
    private static final class Gated implements BlockDevice {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        volatile boolean landed;
        private final BlockDevice inner;

        Gated(BlockDevice inner) {
            this.inner = inner;
        }

        @Override
        public long sizeSectors() {
            return inner.sizeSectors();
        }

        @Override
        public void read(long offset, byte[] buf, int bufOffset, int length) throws IOException {
            inner.read(offset, buf, bufOffset, length);
        }

        @Override
        public void write(long offset, byte[] buf, int bufOffset, int length) throws IOException {
            entered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            inner.write(offset, buf, bufOffset, length);
            landed = true;
        }
    }
}
