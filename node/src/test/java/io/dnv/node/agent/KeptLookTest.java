package io.dnv.node.agent;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.DeviceRef;
import io.dnv.core.kernel.DmDevice;
import io.dnv.core.kernel.DmTable;
import io.dnv.core.kernel.DmTarget;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.node.kernel.Kernel;
import io.dnv.node.sim.KernelLatencies;
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
 * A pass starts from the look the pass before ended with while nothing of the node changed the
 * kernel since, and reads it whole when something did: another hand of the node, a boot, or time.
 * The whole looks are counted as the simulated kernel charges them.
 */
class KeptLookTest {

    private static final String DISK = "/dev/ram0";

    @TempDir
    Path dir;

    private SimulatedKernel kernel;
    private KernelChanges changes;
    private Kernel counted;

    @BeforeEach
    void start() {
        kernel = new SimulatedKernel("127.0.4.1", new Fabric()).addDisk(DISK, dir.resolve("d"), 8L << 20);
        changes = new KernelChanges();
        counted = changes.counting(kernel);
    }

    @AfterEach
    void stop() {
        kernel.shutdown();
    }

    @Test
    void passesThatChangeNothingLookOnlyAtTheHostSideAndAPassThatChangesLooksOnceAfterwards() {
        Reconciler reconciler = reconciler(Duration.ofMinutes(1));
        reconciler.reconcileChanges(desired(1, ld("a", 0)));

        long before = wholeLooks();
        PassResult again = reconciler.reconcileChanges(desired(1, ld("a", 0)));
        assertTrue(again.converged());
        assertEquals(0, wholeLooks() - before, "nothing changed: the pass before's look serves");

        PassResult added = reconciler.reconcileChanges(desired(2, ld("a", 0), ld("b", 2048)));
        assertEquals(List.of("dm create dnv-n1-ld-b-0-0-0"), added.mutations());
        assertEquals(1, wholeLooks() - before, "one look, after the change, for the next pass");
        assertTrue(added.observed().dm("dnv-n1-ld-b-0-0-0").isPresent());
    }

    /**
     * The agent's passes report before their look at the end, and the look they owe is taken after
     * (or the next pass's first look stands for it): the control plane hears of a reached
     * generation one whole look sooner.
     */
    @Test
    void aPassReportsBeforeTheLookItOwesAndTheNextPassesFirstLookStandsForIt() {
        Reconciler reconciler = reconciler(Duration.ofMinutes(1));
        reconciler.reconcileChanges(desired(1, ld("a", 0)));
        long before = wholeLooks();
        PassResult added = reconciler.pass(desired(2, ld("a", 0), ld("b", 2048)), Reconciler.Scope.CHANGES);
        assertEquals(List.of("dm create dnv-n1-ld-b-0-0-0"), added.mutations());
        assertEquals(0, wholeLooks() - before, "the look kept from the pass before, and none after the change");
        assertTrue(reconciler.owesLook());
        assertTrue(added.observed().dm("dnv-n1-ld-b-0-0-0").isEmpty(), "the kernel as the pass last looked at it");

        PassResult next = reconciler.pass(desired(3, ld("a", 0), ld("b", 2048), ld("c", 4096)), Reconciler.Scope.CHANGES);
        assertEquals(List.of("dm create dnv-n1-ld-c-0-0-0"), next.mutations());
        assertFalse(next.whole(), "the next pass's first look stood for the owed one: the pass compared only what changed");
        assertEquals(1, wholeLooks() - before);

        PassResult looked = reconciler.lookOwed();
        assertFalse(reconciler.owesLook());
        assertTrue(looked.observed().dm("dnv-n1-ld-c-0-0-0").isPresent());
        assertEquals(next.mutations(), looked.mutations());
        assertEquals(List.of(), reconciler.pass(desired(3, ld("a", 0), ld("b", 2048), ld("c", 4096)), Reconciler.Scope.CHANGES)
                .mutations());
        assertEquals(2, wholeLooks() - before, "the owed look serves the pass after it");
    }

    /** A change by another hand between a pass and the next makes the next one compare everything. */
    @Test
    void aChangeByAnotherHandAfterAPassThatOwesItsLookIsComparedWhole() {
        Reconciler reconciler = reconciler(Duration.ofMinutes(1));
        reconciler.reconcileChanges(desired(1, ld("a", 0)));
        reconciler.pass(desired(2, ld("a", 0), ld("b", 2048)), Reconciler.Scope.CHANGES);
        assertTrue(reconciler.owesLook());
        counted.dmSuspend("dnv-n1-ld-a-0-0-0");
        PassResult repaired = reconciler.pass(desired(2, ld("a", 0), ld("b", 2048)), Reconciler.Scope.CHANGES);
        assertTrue(repaired.whole());
        assertEquals(List.of("dm resume dnv-n1-ld-a-0-0-0"), repaired.mutations());
    }

    @Test
    void aChangeByAnotherHandOfTheNodeIsLookedAtWholeAndRepaired() {
        Reconciler reconciler = reconciler(Duration.ofMinutes(1));
        reconciler.reconcileChanges(desired(1, ld("a", 0)));

        counted.dmSuspend("dnv-n1-ld-a-0-0-0");   // as the order worker holds a device, and then it is not held
        long before = wholeLooks();
        PassResult repaired = reconciler.reconcileChanges(desired(1, ld("a", 0)));
        assertTrue(wholeLooks() - before >= 1);
        assertEquals(List.of("dm resume dnv-n1-ld-a-0-0-0"), repaired.mutations());
        assertFalse(kernel.observe().dm("dnv-n1-ld-a-0-0-0").orElseThrow().suspended());
    }

    @Test
    void aKernelThatBootedAgainIsLookedAtWholeAndBuiltAgain() {
        Reconciler reconciler = reconciler(Duration.ofMinutes(1));
        reconciler.reconcileChanges(desired(1, ld("a", 0)));

        kernel.powerCycle();
        PassResult rebuilt = reconciler.reconcileChanges(desired(1, ld("a", 0)));
        assertEquals(List.of("nvmet port create port 1", "dm create dnv-n1-ld-a-0-0-0"), rebuilt.mutations());
        assertTrue(kernel.observe().dm("dnv-n1-ld-a-0-0-0").isPresent());
    }

    @Test
    void aLookOlderThanItsBoundIsTakenAgain() throws InterruptedException {
        Reconciler reconciler = reconciler(Duration.ofSeconds(2));
        reconciler.reconcileChanges(desired(1, ld("a", 0)));
        kernel.dmRemove("dnv-n1-ld-a-0-0-0");   // a hand on the node: no hand of the agent, not counted

        long before = wholeLooks();
        assertEquals(List.of(), reconciler.reconcileChanges(desired(1, ld("a", 0))).mutations(), "the look is still kept");
        assertEquals(0, wholeLooks() - before);

        Thread.sleep(2100);
        PassResult repaired = reconciler.reconcileChanges(desired(1, ld("a", 0)));
        assertEquals(List.of("dm create dnv-n1-ld-a-0-0-0"), repaired.mutations());
    }

    private Reconciler reconciler(Duration lookKept) {
        return new Reconciler(counted, Optional.of(DISK), new Zeroing(Optional.empty(), Optional.of(DISK)), "n1", new Isolation(),
                new Lanes("n1", 1), new HeldDevices(), () -> { }, changes, lookKept);
    }

    private long wholeLooks() {
        return kernel.spent().snapshot().get(KernelLatencies.Op.OBSERVE).count();
    }

    private static DmDevice ld(String volume, long offset) {
        return new DmDevice("dnv-n1-ld-" + volume + "-0-0-0", DmTable.of(2048, new DmTarget.Linear(new DeviceRef.Disk(DISK), offset)));
    }

    private static DesiredNode desired(long generation, DmDevice... devices) {
        return new DesiredNode("n1", generation, List.of(NvmetPort.tcp(1, "127.0.4.1", 4420)), List.of(devices), List.of(), List.of());
    }
}
