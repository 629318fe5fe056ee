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
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An agent's pass reports before it removes dm devices and imports nobody wants any more, when
 * their removal waits for nothing (no LD among them to zero first): on a survivor, the fence's
 * pass also takes away the standby preparations over the failed node's disk, and every stage of
 * the failover waits for each node's report.
 */
class GarbageAfterReportTest {

    private static final String DISK = "/dev/ram0";

    @TempDir
    Path dir;

    private SimulatedKernel kernel;
    private Reconciler reconciler;

    @BeforeEach
    void start() {
        kernel = new SimulatedKernel("127.0.4.1", new Fabric()).addDisk(DISK, dir.resolve("d"), 32L << 20);
        KernelChanges changes = new KernelChanges();
        reconciler = new Reconciler(changes.counting(kernel), Optional.of(DISK), new Zeroing(Optional.empty(), Optional.of(DISK)), "n1",
                new Isolation(), new Lanes("n1", 1), new HeldDevices(), () -> { }, changes, Duration.ofMinutes(1));
    }

    @AfterEach
    void stop() {
        kernel.shutdown();
    }

    @Test
    void aSliceNoLongerWantedGoesAfterTheReport() {
        reconciler.reconcileChanges(desired(1, ld("a", 0), slice("a")));

        PassResult reported = reconciler.pass(desired(2, ld("a", 0)), Reconciler.Scope.CHANGES);
        assertTrue(reported.converged());
        assertEquals(List.of(), reported.mutations(), "the report came first");
        assertTrue(reconciler.garbageDue());
        assertTrue(kernel.observe().dm(slice("a").name()).isPresent());

        assertEquals(List.of(), reconciler.removeGarbage());
        assertFalse(reconciler.garbageDue());
        assertTrue(kernel.observe().dm(slice("a").name()).isEmpty());
        assertTrue(reconciler.owesLook(), "the removal changed the kernel after the pass's last look");
        assertTrue(reconciler.lookOwed().observed().dm(slice("a").name()).isEmpty());
    }

    @Test
    void newDesiredStateComesBeforeGarbageLeftByThePassBefore() {
        reconciler.reconcileChanges(desired(1, ld("a", 0), slice("a")));
        reconciler.pass(desired(2, ld("a", 0)), Reconciler.Scope.CHANGES);
        assertTrue(reconciler.garbageDue());

        PassResult next = reconciler.pass(desired(3, ld("a", 0), ld("b", 2048)), Reconciler.Scope.CHANGES);
        assertEquals(List.of("dm create dnv-n1-ld-b-0-0-0"), next.mutations(), "the new device, and the garbage not yet");
        assertTrue(reconciler.garbageDue(), "the pass found the slice unwanted still, and left it for after its report");
        reconciler.removeGarbage();
        assertTrue(kernel.observe().dm(slice("a").name()).isEmpty());
    }

    @Test
    void anLdNoLongerWantedIsZeroedAndReportedInThePassItself() {
        reconciler.reconcileChanges(desired(1, ld("a", 0), ld("b", 2048)));

        PassResult reported = reconciler.pass(desired(2, ld("a", 0)), Reconciler.Scope.CHANGES);
        assertFalse(reconciler.garbageDue(), "its removal waits for the zeroing, and the report says so");
        assertFalse(reported.converged());
        assertTrue(reported.waiting().stream().anyMatch(w -> w.startsWith("dnv-n1-ld-b-0-0-0: zeroing")), reported.waiting().toString());
    }

    @Test
    void passesCalledAsTheTestsCallThemRemoveEverythingAtOnce() {
        reconciler.reconcileChanges(desired(1, ld("a", 0), slice("a")));
        PassResult result = reconciler.reconcileChanges(desired(2, ld("a", 0)));
        assertEquals(List.of("dm remove " + slice("a").name()), result.mutations());
        assertFalse(reconciler.garbageDue());
    }

    private static DmDevice ld(String volume, long offset) {
        return new DmDevice("dnv-n1-ld-" + volume + "-0-0-0", DmTable.of(2048, new DmTarget.Linear(new DeviceRef.Disk(DISK), offset)));
    }

    /** A device over the LD that maps no disk itself, as a standby's slice over an import maps none. */
    private static DmDevice slice(String volume) {
        return new DmDevice("dnv-n1-rm-" + volume + "-0-0-0",
                DmTable.of(1024, new DmTarget.Linear(new DeviceRef.Dm(ld(volume, 0).name()), 0)));
    }

    private static DesiredNode desired(long generation, DmDevice... devices) {
        return new DesiredNode("n1", generation, List.of(NvmetPort.tcp(1, "127.0.4.1", 4420)), List.of(devices), List.of(), List.of());
    }
}
