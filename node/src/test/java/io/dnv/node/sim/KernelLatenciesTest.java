package io.dnv.node.sim;

import io.dnv.node.sim.nvme.Fabric;
import io.dnv.node.sim.nvme.NvmeHost;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KernelLatenciesTest {

    @TempDir
    Path dir;

    @Test
    void anOperationCostsItsLatencyWithoutHoldingUpOtherDevices() throws Exception {
        KernelLatencies slowCreate = KernelLatencies.NONE.with(KernelLatencies.Op.DM_CREATE, Duration.ofMillis(600));
        SimulatedKernel k = new SimulatedKernel("k", new Fabric(), slowCreate, NvmeHost.DEFAULT_IO_TIMEOUT)
                .addDisk("/dev/ram0", dir.resolve("d0"), 8L << 20);
        k.dmCreate("other", "0 2048 linear /dev/ram0 0");   // would cost 600 ms too
        long t = System.nanoTime();
        CompletableFuture<Void> create = CompletableFuture.runAsync(() -> k.dmCreate("slow", "0 2048 linear /dev/ram0 2048"));
        Thread.sleep(100);
        long s = System.nanoTime();
        assertTrue(k.dmStatus("other").isPresent());
        try (SimulatedKernel.Handle h = k.open("/dev/mapper/other")) {
            h.write(0, new byte[4096]);
        }
        assertTrue((System.nanoTime() - s) / 1e6 < 200, "a status and a write of another device waited for the create");
        create.get();
        assertTrue((System.nanoTime() - t) / 1e6 >= 600, "the create cost less than its latency");
    }

    @Test
    void theMeasuredTableIsTheGuestMediansOverTheSlowdownAndPrintsEveryOperation() {
        Duration create = KernelLatencies.MEASURED.of(KernelLatencies.Op.DM_CREATE);
        assertEquals(Math.round(58.88 / KernelLatencies.TCG_SLOWDOWN * 1e6), create.toNanos());
        assertEquals(Math.round(0.885 / KernelLatencies.COPY_SLOWDOWN * 1e6), KernelLatencies.MEASURED.of(KernelLatencies.Op.KCOPYD_64K)
                .toNanos(), "a copy is divided by the slowdown of the kernel copying memory");
        String table = KernelLatencies.MEASURED.print();
        for (KernelLatencies.Op op : KernelLatencies.Op.values()) {
            assertTrue(table.contains(op.name().toLowerCase()), op + " missing from\n" + table);
        }
        assertEquals(Duration.ZERO, KernelLatencies.NONE.of(KernelLatencies.Op.NVME_CONNECT));
    }
}
