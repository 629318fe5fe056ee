package io.dnv.node.sim.dm;

import io.dnv.node.sim.block.BlockDevice;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static io.dnv.node.sim.dm.DmTestBed.assertContains;
import static io.dnv.node.sim.dm.DmTestBed.filled;
import static io.dnv.node.sim.dm.DmTestBed.pattern;
import static io.dnv.node.sim.dm.DmTestBed.read;
import static io.dnv.node.sim.dm.DmTestBed.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** powerOff and a fresh kernel over the same disks: what was persisted is found again, nothing is re-initialised. */
class PowerCycleTest {

    @TempDir
    Path tmp;
    DmTestBed k;

    @BeforeEach
    void setUp() {
        k = new DmTestBed(tmp);
        k.disk("/dev/nvme0n1", 259, 0, 32768);
        k.disk("/dev/nvme1n1", 259, 1, 32768);
    }

    @AfterEach
    void tearDown() throws Exception {
        k.close();
    }

    @Test
    void everyByteAndThinDeviceComesBackWhenTheSameTablesAreCreatedAgain() {
        StackBytesTest.createStack(k);
        k.dm.message("pool", 0, "create_thin 0");
        k.dm.message("pool", 0, "create_thin 1");
        StackBytesTest.createLegsAndVolume(k);
        byte[] now = pattern(1, StackBytesTest.VOLUME_BYTES);
        write(k.dev("vol"), 0, now);
        byte[] leg0 = read(k.dev("leg0"), 0, 8192 * 512);
        k.dm.suspend("vol");
        k.dm.suspend("leg0");
        k.dm.message("pool", 0, "create_snap 2 0");
        k.dm.resume("leg0");
        k.dm.resume("vol");
        // 2 MiB after the snapshot: 16 copied blocks per leg, well inside the pool's 160.
        byte[] after = pattern(2, 2 << 20);
        write(k.dev("vol"), 0, after);
        System.arraycopy(after, 0, now, 0, after.length);
        String pool = k.status("pool");

        k.powerCycle();
        assertTrue(k.dm.list().isEmpty());
        assertEquals(0, k.devices.openCount("/dev/nvme0n1"));
        StackBytesTest.createStack(k);
        StackBytesTest.createLegsAndVolume(k);
        assertEquals("0 24576 raid raid1 2 AA 24576/24576 idle 0 0 -", k.settled("r1"));
        assertEquals(pool, k.status("pool"));
        assertArrayEquals(now, read(k.dev("vol"), 0, now.length));
        k.dm.create("snap", "0 8192 thin /dev/mapper/pool 2");
        assertArrayEquals(leg0, read(k.dev("snap"), 0, leg0.length));
        assertContains(k.refused(() -> k.dm.message("pool", 0, "create_thin 0")).kernelMessage(), "File exists");
    }

    @Test
    void zeroingTheFirst4KiBOfThinMetadataIsWhatMakesAPoolBrandNew() {
        StackBytesTest.createStack(k);
        k.dm.message("pool", 0, "create_thin 0");
        k.powerCycle();
        StackBytesTest.createStack(k);
        assertContains(k.refused(() -> k.dm.message("pool", 0, "create_thin 0")).kernelMessage(), "File exists");
        k.dm.remove("pool");
        write(k.dev("tmeta"), 0, new byte[4096]);
        k.dm.create("pool", "0 20480 thin-pool /dev/mapper/tmeta /dev/mapper/tdata 128 0 1 skip_block_zeroing");
        k.dm.message("pool", 0, "create_thin 0");
    }

    @Test
    void raid1ResyncsOnlyTheRegionsDirtyAtThePowerCutAndIgnoresNosyncOnExistingSuperblocks() {
        String sides = k.sides("s", List.of("/dev/nvme0n1", "/dev/nvme1n1"), 0, 4096);
        String table = "0 4096 raid raid1 4 0 region_size 512 nosync " + sides;
        int region = 512 * 512;
        long data = 2048 * 512;
        k.dm.create("r", table);
        write(k.dev("r"), 0, pattern(1, 8 * region));
        k.dm.suspend("r");
        k.dm.resume("r");
        byte[] last = pattern(2, region);
        write(k.dev("r"), 4L * region, last);
        k.powerCycle();
        // As if the power cut tore the last write: it reached side 0 only. Region 0 was clean.
        BlockDevice side1 = k.dev("/dev/nvme1n1");
        write(side1, data + 4L * region, filled(0x77, region));
        write(side1, data, filled(0x66, region));
        k.sides("s", List.of("/dev/nvme0n1", "/dev/nvme1n1"), 0, 4096);
        k.dm.create("r", table);
        assertEquals("0 4096 raid raid1 2 AA 4096/4096 idle 0 0 -", k.settled("r"));
        assertArrayEquals(last, read(side1, data + 4L * region, region));
        assertArrayEquals(filled(0x66, region), read(side1, data, region));
    }

    @Test
    void powerOffFailsIoWaitingOnASuspendedDeviceAndReleasesEveryHolder() throws Exception {
        k.dm.create("x", "0 4096 linear /dev/nvme0n1 0");
        k.dm.create("y", "0 4096 linear /dev/mapper/x 0");
        k.devices.open("/dev/mapper/y", "nvmet:ns1");
        BlockDevice y = k.dev("y");
        k.dm.suspend("y");
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> write(y, 0, new byte[512]));
        assertThrows(TimeoutException.class, () -> writer.get(200, TimeUnit.MILLISECONDS));
        k.dm.powerOff();
        ExecutionException e = assertThrows(ExecutionException.class, () -> writer.get(5, TimeUnit.SECONDS));
        assertInstanceOf(IOException.class, e.getCause().getCause());
        assertTrue(k.dm.list().isEmpty());
        assertTrue(k.devices.resolve("/dev/mapper/y").isEmpty());
        assertEquals(0, k.devices.openCount("/dev/nvme0n1"));
        assertArrayEquals(new byte[512], read(k.dev("/dev/nvme0n1"), 0, 512));
    }
}
