package io.dnv.node.sim;

import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.node.sim.nvme.Fabric;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A machine that loses power is gone at once, whatever its kernel was waiting for. */
class PowerOffTest {

    private static final String LD = "nqn.2024-01.io.dnv:ld:po:0:0:0:b";
    @TempDir
    Path dir;
    private final Fabric fabric = new Fabric();
    private SimulatedKernel a;
    private SimulatedKernel b;

    @AfterEach
    void shutdown() {
        a.shutdown();
        b.shutdown();
    }

    /**
     * A's thin pool keeps its metadata on an import from B. With the link to B cut, a write that
     * maps a new block waits on that import (its keep-alive, then its I/O timeout) holding the
     * pool; powering A off must not wait for it, as dropping the pool's table once did.
     */
    @Test
    void aMachineIsOffAtOnceWhileAThinPoolsMetadataWriteWaitsOnASilentImport() throws Exception {
        b = new SimulatedKernel("127.0.5.2", fabric).addDisk("/dev/ram0", dir.resolve("b"), 16L << 20);
        a = new SimulatedKernel("127.0.5.1", fabric).addDisk("/dev/ram0", dir.resolve("a"), 32L << 20);
        b.dmCreate("ld", "0 16384 linear /dev/ram0 0");
        b.nvmetPortCreate(NvmetPort.tcp(1, b.name(), 4420));
        b.nvmetSubsystemCreate(LD, 1, 100, "po");
        b.nvmetAllowAnyHost(LD, true);
        UUID uuid = Names.namespaceUuid(LD);
        b.nvmetNamespaceCreate(LD, 1, "/dev/mapper/ld", uuid, Names.nguid(uuid), 1);
        b.nvmetNamespaceEnable(LD, 1, true);
        b.nvmetLink(1, LD);
        String host = Names.hostNqn("a");
        a.nvmeConnect(new NvmeConnection("tcp", b.name(), 4420, LD, host, Names.hostId(host), new ConnectTimeouts(5, 30, 1, 5)));
        String meta = a.observeHost().blockDevices().stream().filter(d -> d.uuid().equals(java.util.Optional.of(uuid))).findFirst()
                .orElseThrow().majorMinor();
        a.dmCreate("meta", "0 8192 linear " + meta + " 0");
        a.dmCreate("data", "0 65536 linear /dev/ram0 0");
        a.dmCreate("pool", "0 65536 thin-pool /dev/mapper/meta /dev/mapper/data 128 0 1 skip_block_zeroing");
        a.dmMessage("pool", 0, "create_thin 0");
        a.dmCreate("thin", "0 65536 thin /dev/mapper/pool 0");
        SimulatedKernel.Handle thin = a.open("/dev/mapper/thin");
        thin.write(0, new byte[4096]);

        fabric.cut(a.name(), b.name());
        CompletableFuture<Void> write = CompletableFuture.runAsync(() -> {
            try {
                thin.write(1 << 20, new byte[4096]);   // a new block: its mapping goes to the metadata device
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        Thread.sleep(500);
        assertFalse(write.isDone(), "the write did not wait on the silent import");
        long start = System.nanoTime();
        a.powerOff();
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(millis < 2000, "powering off took " + millis + " ms");
        assertThrows(Exception.class, () -> write.get(10, TimeUnit.SECONDS), "the write waiting on the import did not fail");
    }
}
