package io.dnv.node.agent;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.DeviceRef;
import io.dnv.core.kernel.DmDevice;
import io.dnv.core.kernel.DmTable;
import io.dnv.core.kernel.DmTarget;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A pass names what it could not settle, so one volume is done while another on the node still waits. */
class UnsettledTest {

    @TempDir
    Path dir;

    @Test
    void onlyTheObjectsStillWaitingAreUnsettled() {
        SimulatedKernel kernel = new SimulatedKernel("127.0.4.1", new Fabric()).addDisk("/dev/ram0", dir.resolve("d"), 8L << 20);
        try {
            DmDevice ready = new DmDevice("dnv-n1-ld-a-0-0-0", DmTable.of(2048, new DmTarget.Linear(new DeviceRef.Disk("/dev/ram0"), 0)));
            DmDevice waiting = new DmDevice("dnv-n1-rm-b-0-0-0",
                    DmTable.of(2048, new DmTarget.Linear(new DeviceRef.Namespace(UUID.randomUUID()), 0)));
            DmDevice above = new DmDevice("dnv-n1-r1-b-0-0", DmTable.of(2048, new DmTarget.Linear(waiting.ref(), 0)));
            Optional<String> disk = Optional.of("/dev/ram0");
            Reconciler reconciler = new Reconciler(kernel, disk, new Zeroing(Optional.empty(), disk));
            PassResult pass = reconciler.reconcile(new DesiredNode("n1", 7, List.of(NvmetPort.tcp(1, "127.0.4.1", 4420)),
                    List.of(ready, waiting, above), List.of(), List.of()));
            assertFalse(pass.converged());
            assertEquals(Set.of(waiting.name(), above.name()), pass.unsettled());
            assertTrue(kernel.observe().dm(ready.name()).isPresent());
        } finally {
            kernel.shutdown();
        }
    }
}
