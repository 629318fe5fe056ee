package io.dnv.node.agent;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.DeviceRef;
import io.dnv.core.kernel.DmDevice;
import io.dnv.core.kernel.DmTable;
import io.dnv.core.kernel.DmTarget;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** An LD no desired state names leaves its extent holding zeroes only, whatever the disk reports about itself. */
class ReleasedExtentTest {

    private static final String DISK = "/dev/nvme0n1";
    private static final long EXTENT_OFFSET = 1L << 20;
    private static final int EXTENT_BYTES = 1 << 20;

    @TempDir
    Path dir;

    private SimulatedKernel kernel;

    @AfterEach
    void stop() {
        kernel.shutdown();
    }

    /**
     * Linux shows a UUID for a local NVMe namespace that reports one, as it does for an imported
     * namespace; the agent knows its disk from its configuration, not from the missing UUID.
     */
    @Test
    void anLdOverADiskThatReportsAUuidIsZeroedBeforeItGoes() throws Exception {
        kernel = new SimulatedKernel("127.0.5.1", new Fabric())
                .addNvmeDisk(DISK, dir.resolve("d"), 8L << 20, UUID.fromString("3a6f0c1e-52b4-4d7e-9a1f-0b2c4d6e8f10"));
        Zeroing zeroing = new Zeroing(Optional.empty(), Optional.of(DISK));
        Reconciler reconciler = new Reconciler(kernel, Optional.of(DISK), zeroing);
        DmDevice ld = new DmDevice("dnv-n1-ld-v-0-0-0",
                DmTable.of(EXTENT_BYTES / 512, new DmTarget.Linear(new DeviceRef.Disk(DISK), EXTENT_OFFSET / 512)));
        assertTrue(reconciler.reconcile(desired(1, ld)).converged());
        byte[] tenant = new byte[EXTENT_BYTES];
        Arrays.fill(tenant, (byte) 0x6b);
        try (SimulatedKernel.Handle h = kernel.open("/dev/mapper/" + ld.name())) {
            h.write(0, tenant);
        }

        assertFalse(reconciler.reconcile(desired(2)).converged(), "the LD went before it was zeroed");
        while (zeroing.zeroNext(kernel)) {
            // all of it
        }
        PassResult released = reconciler.reconcile(desired(2));
        assertTrue(released.converged(), released.toString());
        assertTrue(kernel.observe().dm(ld.name()).isEmpty());
        byte[] extent = new byte[EXTENT_BYTES];
        try (SimulatedKernel.Handle disk = kernel.open(DISK)) {
            disk.read(EXTENT_OFFSET, extent);
        }
        assertTrue(Arrays.equals(new byte[EXTENT_BYTES], extent), "the old tenant's bytes are still on the released extent");
    }

    private static DesiredNode desired(long generation, DmDevice... devices) {
        return new DesiredNode("n1", generation, List.of(NvmetPort.tcp(1, "127.0.5.1", 4420)), List.of(devices), List.of(), List.of());
    }
}
