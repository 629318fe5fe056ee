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
 * A look builds on the look before, reading again only the dm devices the node's hands changed
 * since (and what moves by itself: thin pools, nvmet and the host side), and reads the kernel whole
 * when it cannot: a boot, changes no longer all remembered, or time. The looks are counted as the
 * simulated kernel charges them.
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
        kernel = new SimulatedKernel("127.0.4.1", new Fabric()).addDisk(DISK, dir.resolve("d"), 32L << 20);
        changes = new KernelChanges();
        counted = changes.counting(kernel);
    }

    @AfterEach
    void stop() {
        kernel.shutdown();
    }

    @Test
    void aPassReadsAgainOnlyTheDevicesChangedSinceTheLookBeforeAndWhatMovesByItself() {
        Reconciler reconciler = reconciler(Duration.ofMinutes(1));
        reconciler.reconcileChanges(desired(1, ld("a", 0), ld("b", 2048), ld("c", 4096)));

        Looks before = looks();
        PassResult again = reconciler.reconcileChanges(desired(1, ld("a", 0), ld("b", 2048), ld("c", 4096)));
        assertTrue(again.converged());
        assertEquals(new Looks(0, 1, 0), looks().minus(before), "nothing changed: no dm device read, the rest read again");

        before = looks();
        PassResult added = reconciler.reconcileChanges(desired(2, ld("a", 0), ld("b", 2048), ld("c", 4096), ld("d", 6144)));
        assertEquals(List.of("dm create dnv-n1-ld-d-0-0-0"), added.mutations());
        assertEquals(new Looks(0, 2, 1), looks().minus(before), "at the start nothing; after the change, the one device created");
        assertEquals(kernel.observe(), added.observed(), "what the looks put together is what a whole look shows");

        counted.dmSuspend("dnv-n1-ld-a-0-0-0");   // as the order worker holds a device, and then it is not held
        before = looks();
        PassResult repaired = reconciler.reconcileChanges(desired(2, ld("a", 0), ld("b", 2048), ld("c", 4096), ld("d", 6144)));
        assertEquals(List.of("dm resume dnv-n1-ld-a-0-0-0"), repaired.mutations());
        assertTrue(repaired.whole(), "another hand changed the kernel: the pass compared everything");
        assertEquals(new Looks(0, 2, 2), looks().minus(before), "the device suspended, read at the start and after the resume");
        assertEquals(kernel.observe(), repaired.observed());
    }

    @Test
    void aRemovedDeviceIsGoneFromTheLookAndThinPoolsAreReadAgainOnceTheirStatusIsTwoSecondsOld() throws InterruptedException {
        Reconciler reconciler = reconciler(Duration.ofMinutes(1));
        DmDevice meta = ld("m", 0);
        DmDevice data = ld("p", 2048);
        DmDevice pool = new DmDevice("dnv-n1-pool-v-0", DmTable.of(2048, new DmTarget.ThinPool(meta.ref(), data.ref(), 128, 0, false, true)));
        // Not over the disk: a device over it goes only once it is zeroed.
        DmDevice errors = new DmDevice("dnv-n1-err-v-0", DmTable.of(2048, new DmTarget.Error()));
        reconciler.reconcileChanges(desired(1, meta, data, pool, errors));

        Looks before = looks();
        PassResult removed = reconciler.reconcileChanges(desired(2, meta, data, pool));
        assertEquals(List.of("dm remove dnv-n1-err-v-0"), removed.mutations());
        assertTrue(removed.observed().dm("dnv-n1-err-v-0").isEmpty());
        assertEquals(new Looks(0, 2, 0), looks().minus(before), "the pool's status is fresh; the device removed is not there");
        assertEquals(kernel.observe(), removed.observed());

        Thread.sleep(KernelLooks.POOLS_READ_EVERY.toMillis() + 100);
        before = looks();
        assertTrue(reconciler.reconcileChanges(desired(2, meta, data, pool)).converged());
        assertEquals(new Looks(0, 1, 1), looks().minus(before), "the pool alone, read again");
    }

    @Test
    void aLookReadsAgainOnlyTheSubsystemsChangedSince() {
        Reconciler reconciler = reconciler(Duration.ofMinutes(1));
        String host = Names.hostNqn("h1");
        reconciler.reconcileChanges(twoExports(1, List.of()));
        long before = subsystemsRead();
        assertTrue(reconciler.reconcileChanges(twoExports(1, List.of())).converged());
        assertEquals(0, subsystemsRead() - before, "nothing changed: no subsystem read again");

        before = subsystemsRead();
        PassResult allowed = reconciler.reconcileChanges(twoExports(2, List.of(host)));
        assertEquals(List.of("nvmet host create " + host, "nvmet allow host " + host + " " + Names.ldNqn("a", 0, 0, 0, "n1")),
                allowed.mutations());
        assertEquals(1, subsystemsRead() - before, "the one subsystem whose hosts changed, read after the change");
        assertEquals(kernel.observe(), allowed.observed(), "what the looks put together is what a whole look shows");
    }

    @Test
    void changesNoLongerAllRememberedMakeTheLookWhole() {
        changes = new KernelChanges(4);
        counted = changes.counting(kernel);
        Reconciler reconciler = reconciler(Duration.ofMinutes(1));
        reconciler.reconcileChanges(desired(1, ld("a", 0), ld("b", 2048), ld("c", 4096), ld("d", 6144), ld("e", 8192)));
        for (int i = 0; i < 3; i++) {
            counted.dmSuspend("dnv-n1-ld-a-0-0-0");
            counted.dmResume("dnv-n1-ld-a-0-0-0");
        }
        Looks before = looks();
        reconciler.reconcileChanges(desired(1, ld("a", 0), ld("b", 2048), ld("c", 4096), ld("d", 6144), ld("e", 8192)));
        assertEquals(new Looks(1, 0, 9), looks().minus(before), "six changes since the look, four remembered: a whole look of 9 devices");
    }

    /**
     * The agent's passes report before their look at the end, and the look they owe is taken after
     * (or the next pass's first look stands for it): the control plane hears of a reached
     * generation one look sooner.
     */
    @Test
    void aPassReportsBeforeTheLookItOwesAndTheNextPassesFirstLookStandsForIt() {
        Reconciler reconciler = reconciler(Duration.ofMinutes(1));
        reconciler.reconcileChanges(desired(1, ld("a", 0), ld("z", 6144)));
        Looks before = looks();
        PassResult added = reconciler.pass(desired(2, ld("a", 0), ld("z", 6144), ld("b", 2048)), Reconciler.Scope.CHANGES);
        assertEquals(List.of("dm create dnv-n1-ld-b-0-0-0"), added.mutations());
        assertEquals(new Looks(0, 1, 0), looks().minus(before), "the look from the pass before, and none after the change");
        assertTrue(reconciler.owesLook());
        assertTrue(added.observed().dm("dnv-n1-ld-b-0-0-0").isEmpty(), "the kernel as the pass last looked at it");

        PassResult next = reconciler.pass(desired(3, ld("a", 0), ld("z", 6144), ld("b", 2048), ld("c", 4096)), Reconciler.Scope.CHANGES);
        assertEquals(List.of("dm create dnv-n1-ld-c-0-0-0"), next.mutations());
        assertFalse(next.whole(), "the next pass's first look stood for the owed one: the pass compared only what changed");
        assertEquals(new Looks(0, 2, 1), looks().minus(before));

        PassResult looked = reconciler.lookOwed();
        assertFalse(reconciler.owesLook());
        assertTrue(looked.observed().dm("dnv-n1-ld-c-0-0-0").isPresent());
        assertEquals(next.mutations(), looked.mutations());
        assertEquals(List.of(), reconciler.pass(desired(3, ld("a", 0), ld("z", 6144), ld("b", 2048), ld("c", 4096)),
                Reconciler.Scope.CHANGES).mutations());
        assertEquals(new Looks(0, 4, 2), looks().minus(before), "the owed look read the device created; the pass after it none");
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

        Looks before = looks();
        PassResult fenced = reconciler.pass(exported(2, List.of()), Reconciler.Scope.CHANGES);
        assertTrue(fenced.mutations().stream().anyMatch(m -> m.startsWith("nvmet disallow host")), fenced.mutations().toString());
        assertTrue(fenced.converged());
        assertEquals(new Looks(0, 1, 0), looks().minus(before), "a look at the start, none after the pass's changes");
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
    void aKernelThatBootedAgainIsLookedAtWholeAndBuiltAgain() {
        Reconciler reconciler = reconciler(Duration.ofMinutes(1));
        reconciler.reconcileChanges(desired(1, ld("a", 0)));

        kernel.powerCycle();
        PassResult rebuilt = reconciler.reconcileChanges(desired(1, ld("a", 0)));
        assertEquals(List.of("nvmet port create port 1", "dm create dnv-n1-ld-a-0-0-0", "dm create dnv-n1-ld-f0-0-0-0",
                "dm create dnv-n1-ld-f1-0-0-0", "dm create dnv-n1-ld-f2-0-0-0", "dm create dnv-n1-ld-f3-0-0-0"), rebuilt.mutations());
        assertTrue(kernel.observe().dm("dnv-n1-ld-a-0-0-0").isPresent());
    }

    @Test
    void aLookBuildsOnAWholeLookNoOlderThanItsBound() throws InterruptedException {
        Reconciler reconciler = reconciler(Duration.ofSeconds(2));
        reconciler.reconcileChanges(desired(1, ld("a", 0), ld("b", 2048), ld("c", 4096)));
        kernel.dmRemove("dnv-n1-ld-a-0-0-0");   // a hand on the node: no hand of the agent, not counted

        Looks before = looks();
        assertEquals(List.of(), reconciler.reconcileChanges(desired(1, ld("a", 0), ld("b", 2048), ld("c", 4096))).mutations(),
                "the whole look still serves");
        assertEquals(0, looks().minus(before).whole());

        Thread.sleep(2100);
        PassResult repaired = reconciler.reconcileChanges(desired(1, ld("a", 0), ld("b", 2048), ld("c", 4096)));
        assertEquals(List.of("dm create dnv-n1-ld-a-0-0-0"), repaired.mutations());
        assertEquals(1, looks().minus(before).whole());
    }

    private Reconciler reconciler(Duration lookKept) {
        return new Reconciler(counted, Optional.of(DISK), new Zeroing(Optional.empty(), Optional.of(DISK)), "n1", new Isolation(),
                new Lanes("n1", 1), new HeldDevices(), () -> { }, changes, lookKept);
    }

    /** Looks at the kernel as the simulated kernel charged them: whole ones, ones of named dm devices, and the dm devices they read. */
    private record Looks(long whole, long named, long devices) {
        Looks minus(Looks earlier) {
            return new Looks(whole - earlier.whole, named - earlier.named, devices - earlier.devices);
        }
    }

    private Looks looks() {
        var spent = kernel.spent().snapshot();
        return new Looks(spent.get(KernelLatencies.Op.OBSERVE).count(), spent.get(KernelLatencies.Op.OBSERVE_DEVICES).count(),
                spent.get(KernelLatencies.Op.OBSERVE_PER_DEVICE).count() + spent.get(KernelLatencies.Op.OBSERVE_PER_NAMED_DEVICE).count());
    }

    private long subsystemsRead() {
        return kernel.spent().snapshot().get(KernelLatencies.Op.OBSERVE_PER_SUBSYSTEM).count();
    }

    /** LDs a and b, each exported; a to {@code hostsOfA}. */
    private static DesiredNode twoExports(long generation, List<String> hostsOfA) {
        List<DmDevice> devices = List.of(ld("a", 0), ld("b", 2048));
        List<NvmetSubsystem> exports = new java.util.ArrayList<>();
        for (DmDevice ld : devices) {
            String volume = ld.name().equals(ld("a", 0).name()) ? "a" : "b";
            String nqn = Names.ldNqn(volume, 0, 0, 0, "n1");
            UUID uuid = Names.namespaceUuid(nqn);
            exports.add(new NvmetSubsystem(nqn, volume.equals("a") ? hostsOfA : List.of(), 1, 100, Names.serial(nqn),
                    List.of(new NvmetNamespace(1, ld.ref(), uuid, Names.nguid(uuid), 1)), List.of(1)));
        }
        return new DesiredNode("n1", generation, List.of(NvmetPort.tcp(1, "127.0.4.1", 4420)), devices, exports, List.of());
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

    /**
     * These devices and four more that stay: a look naming half the devices or more is taken
     * whole, and a node holds thousands.
     */
    private static DesiredNode desired(long generation, DmDevice... devices) {
        List<DmDevice> all = new java.util.ArrayList<>(List.of(devices));
        for (int i = 0; i < 4; i++) {
            all.add(ld("f" + i, 16384 + i * 2048));
        }
        return new DesiredNode("n1", generation, List.of(NvmetPort.tcp(1, "127.0.4.1", 4420)), all, List.of(), List.of());
    }
}
