package io.dnv.node.agent;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.DeviceRef;
import io.dnv.core.kernel.DmDevice;
import io.dnv.core.kernel.DmTable;
import io.dnv.core.kernel.DmTarget;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmetNamespace;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.kernel.NvmetSubsystem;
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
import java.util.UUID;

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

    /**
     * A fence takes a host off an export: the agent's pass reports with no look after it, and the
     * host entry nobody is allowed through any more goes at the next pass's start, after its look.
     * Called as the tests call it, the pass looks and removes it at once.
     */
    @Test
    void aHostEntryAPassLeftUnusedGoesAtTheNextPassAfterItsLook() {
        Reconciler reconciler = reconciler(Duration.ofMinutes(1));
        reconciler.reconcileChanges(exported(1, List.of("nqn.2024-01.io.dnv:node:n2")));
        assertEquals(List.of("nqn.2024-01.io.dnv:node:n2"), kernel.observe().hosts());

        long before = wholeLooks();
        PassResult fenced = reconciler.pass(exported(2, List.of()), Reconciler.Scope.CHANGES);
        assertTrue(fenced.mutations().stream().anyMatch(m -> m.startsWith("nvmet disallow host")), fenced.mutations().toString());
        assertTrue(fenced.converged());
        assertEquals(0, wholeLooks() - before, "no look after the pass's changes");
        assertTrue(reconciler.leftGroupsAndHosts());
        assertEquals(List.of("nqn.2024-01.io.dnv:node:n2"), kernel.observe().hosts(), "left for the next pass");

        PassResult next = reconciler.pass(exported(2, List.of()), Reconciler.Scope.CHANGES);
        assertEquals(List.of("nvmet host remove nqn.2024-01.io.dnv:node:n2"), next.mutations());
        assertFalse(reconciler.leftGroupsAndHosts());
        assertEquals(List.of(), kernel.observe().hosts());

        reconciler.reconcileChanges(exported(3, List.of("nqn.2024-01.io.dnv:node:n2")));
        reconciler.reconcileChanges(exported(4, List.of()));
        assertFalse(reconciler.leftGroupsAndHosts());
        assertEquals(List.of(), kernel.observe().hosts(), "a pass that looks at the end removes it at once");
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

    private static DesiredNode exported(long generation, List<String> hosts) {
        DmDevice ld = ld("a", 0);
        String nqn = Names.ldNqn("a", 0, 0, 0, "n1");
        UUID uuid = Names.namespaceUuid(nqn);
        NvmetSubsystem export = new NvmetSubsystem(nqn, hosts, 1, 100, Names.serial(nqn),
                List.of(new NvmetNamespace(1, ld.ref(), uuid, Names.nguid(uuid), 1)), List.of(1));
        return new DesiredNode("n1", generation, List.of(NvmetPort.tcp(1, "127.0.4.1", 4420)), List.of(ld), List.of(export), List.of());
    }

    private static DesiredNode desired(long generation, DmDevice... devices) {
        return new DesiredNode("n1", generation, List.of(NvmetPort.tcp(1, "127.0.4.1", 4420)), List.of(devices), List.of(), List.of());
    }
}
