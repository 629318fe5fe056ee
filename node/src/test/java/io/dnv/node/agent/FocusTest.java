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
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.core.kernel.Preparation;
import io.dnv.core.node.ZeroingProgress;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A pass for new desired state looks at what changed, unless the kernel changed behind it. */
class FocusTest {

    @TempDir
    Path dir;

    private SimulatedKernel kernel;
    private CountingKernel refusing;
    private Zeroing zeroing;
    private Reconciler reconciler;

    @BeforeEach
    void start() {
        kernel = new SimulatedKernel("127.0.4.1", new Fabric()).addDisk("/dev/ram0", dir.resolve("d"), 8L << 20);
        refusing = new CountingKernel(kernel);
        zeroing = new Zeroing(Optional.empty(), Optional.of("/dev/ram0"));
        reconciler = new Reconciler(refusing, Optional.of("/dev/ram0"), zeroing);
    }

    @AfterEach
    void stop() {
        kernel.shutdown();
    }

    @Test
    void aNewDeviceIsCreatedByAPassThatLooksOnlyAtIt() {
        PassResult first = reconciler.reconcileChanges(desired(1, ld("a", 0)));
        assertTrue(first.whole(), "nothing to compare with: the first pass looks at everything");

        PassResult second = reconciler.reconcileChanges(desired(2, ld("a", 0), ld("b", 2048)));
        assertFalse(second.whole());
        assertEquals(List.of("dm create dnv-n1-ld-b-0-0-0"), second.mutations());
        assertTrue(second.converged());
        assertTrue(kernel.observe().dm("dnv-n1-ld-b-0-0-0").isPresent());
    }

    @Test
    void aChangedTableIsInFocusAndReloaded() {
        reconciler.reconcileChanges(desired(1, ld("a", 0)));
        PassResult moved = reconciler.reconcileChanges(desired(2, ld("a", 4096)));
        assertFalse(moved.whole());
        assertEquals(List.of("dm load dnv-n1-ld-a-0-0-0", "dm suspend dnv-n1-ld-a-0-0-0", "dm resume dnv-n1-ld-a-0-0-0"),
                moved.mutations());
        assertTrue(kernel.observe().dm("dnv-n1-ld-a-0-0-0").orElseThrow().table().endsWith(" 4096"));
    }

    @Test
    void aDeviceNoLongerWantedIsZeroedAndThenRemovedByFocusedPasses() {
        reconciler.reconcileChanges(desired(1, ld("a", 0), ld("b", 2048)));
        PassResult handedOver = reconciler.reconcileChanges(desired(2, ld("a", 0)));
        assertFalse(handedOver.whole());
        assertEquals(List.of(), handedOver.mutations());
        assertEquals(List.of(new ZeroingProgress("dnv-n1-ld-b-0-0-0", 0, 1 << 20)), handedOver.zeroing());
        assertTrue(zeroing.zeroNext(refusing));

        PassResult removed = reconciler.reconcileChanges(desired(2, ld("a", 0)));
        assertFalse(removed.whole());
        assertEquals(List.of("dm remove dnv-n1-ld-b-0-0-0"), removed.mutations());
        assertEquals(List.of(), removed.zeroing());
        assertTrue(kernel.observe().dm("dnv-n1-ld-b-0-0-0").isEmpty());

        PassResult nothing = reconciler.reconcileChanges(desired(3, ld("a", 0)));
        assertEquals(List.of(), nothing.mutations());
        assertTrue(nothing.converged());
    }

    @Test
    void aKernelChangedBehindTheAgentIsComparedWholeAndRepaired() {
        reconciler.reconcileChanges(desired(1, ld("a", 0), ld("b", 2048)));
        kernel.dmRemove("dnv-n1-ld-a-0-0-0");

        PassResult repair = reconciler.reconcileChanges(desired(2, ld("a", 0), ld("b", 2048), ld("c", 4096)));
        assertTrue(repair.whole());
        assertEquals(List.of("dm create dnv-n1-ld-a-0-0-0", "dm create dnv-n1-ld-c-0-0-0"), repair.mutations());
    }

    @Test
    void whatThePreviousPassCouldNotSettleStaysInFocus() {
        DmDevice lower = ld("a", 0);
        DmDevice upper = new DmDevice("dnv-n1-r1-a-0-0", DmTable.of(2048, new DmTarget.Linear(lower.ref(), 0)));
        PassResult waiting = reconciler.reconcileChanges(desired(1, upper));
        assertFalse(waiting.converged());
        assertTrue(waiting.unsettled().contains(upper.name()));

        PassResult both = reconciler.reconcileChanges(desired(2, upper, lower));
        assertFalse(both.whole());
        assertEquals(List.of("dm create " + lower.name(), "dm create " + upper.name()), both.mutations());
        assertTrue(both.converged());
    }

    @Test
    void aRefusedHostEntryLeavesItsExportUnsettledAndTheNextPassComparesEverything() {
        DmDevice ld = ld("a", 0);
        String nqn = Names.ldNqn("a", 0, 0, 0, "n1");
        UUID uuid = Names.namespaceUuid(nqn);
        NvmetSubsystem export = new NvmetSubsystem(nqn, List.of(Names.hostNqn("n2")), 1, 100, Names.serial(nqn),
                List.of(new NvmetNamespace(1, ld.ref(), uuid, Names.nguid(uuid), 1)), List.of(1));
        DesiredNode desired = new DesiredNode("n1", 1, List.of(NvmetPort.tcp(1, "127.0.4.1", 4420)), List.of(ld), List.of(export),
                List.of());
        refusing.refuseNextHostCreate();

        PassResult refused = reconciler.reconcileChanges(desired);
        assertFalse(refused.converged());
        assertTrue(refused.unsettled().contains(nqn), "the export does not admit its host: " + refused.unsettled());

        PassResult retried = reconciler.reconcileChanges(desired);
        assertTrue(retried.whole(), "a refused host entry is no desired object: look at everything");
        assertTrue(retried.converged(), retried.failures().toString());
        assertEquals(List.of(Names.hostNqn("n2")), kernel.observe().subsystems().get(0).allowedHosts());
    }

    @Test
    void garbageIsLookedForOnlyWhenANameOrAnExportIsNoLongerWantedAsItWas() {
        DmDevice a = ld("a", 0);
        DmDevice b = ld("b", 2048);
        DmDevice aCreated = new DmDevice(a.name(), a.table(), List.of(new Preparation.ZeroRange(new DeviceRef.Disk("/dev/ram0"), 0, 512)));
        PassResult first = reconciler.reconcileChanges(desired(1, a, b));
        Focus.Previous previous = previous(desired(1, a, b), first);

        assertFalse(since(previous, desired(2, aCreated, b), first.observed()).garbage(),
                "a device wanted under its name with another spec is changed, not garbage");
        assertTrue(since(previous, desired(2, a), first.observed()).garbage(), "b is no longer wanted");

        NvmetSubsystem export = export(List.of(Names.hostNqn("n2")));
        DesiredNode exported = new DesiredNode("n1", 3, List.of(NvmetPort.tcp(1, "127.0.4.1", 4420)), List.of(a), List.of(export), List.of());
        PassResult third = reconciler.reconcileChanges(exported);
        DesiredNode noHost = new DesiredNode("n1", 4, exported.ports(), List.of(a), List.of(export(List.of())), List.of());
        assertTrue(since(previous(exported, third), noHost, third.observed()).garbage(),
                "an export that no longer allows a host may leave its host entry behind");
    }

    private static Focus.Previous previous(DesiredNode desired, PassResult result) {
        return new Focus.Previous(desired, result, Focus.Named.of(desired));
    }

    private static Focus since(Focus.Previous previous, DesiredNode desired, ObservedKernel observed) {
        return Focus.since(previous, desired, Focus.Named.of(desired), observed);
    }

    private static NvmetSubsystem export(List<String> hosts) {
        String nqn = Names.ldNqn("a", 0, 0, 0, "n1");
        UUID uuid = Names.namespaceUuid(nqn);
        return new NvmetSubsystem(nqn, hosts, 1, 100, Names.serial(nqn),
                List.of(new NvmetNamespace(1, new DeviceRef.Dm("dnv-n1-ld-a-0-0-0"), uuid, Names.nguid(uuid), 1)), List.of(1));
    }

    private static DmDevice ld(String volume, long offset) {
        return new DmDevice("dnv-n1-ld-" + volume + "-0-0-0", DmTable.of(2048, new DmTarget.Linear(new DeviceRef.Disk("/dev/ram0"), offset)));
    }

    private static DesiredNode desired(long generation, DmDevice... devices) {
        return new DesiredNode("n1", generation, List.of(NvmetPort.tcp(1, "127.0.4.1", 4420)), List.of(devices), List.of(), List.of());
    }
}
