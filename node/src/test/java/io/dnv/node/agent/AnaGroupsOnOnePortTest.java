package io.dnv.node.agent;

import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.DeviceRef;
import io.dnv.core.kernel.DmDevice;
import io.dnv.core.kernel.DmTable;
import io.dnv.core.kernel.DmTarget;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.NvmetNamespace;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.kernel.NvmetSubsystem;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.IntFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A controller node's volume port with its volumes in a few ANA groups, one per failover domain
 * (core's AnaGroups): the agent moves a namespace between groups in place, a host on the other
 * end follows the group's state, one state change promotes every volume of a group, and one
 * port converges thousands of namespaces.
 */
class AnaGroupsOnOnePortTest {

    private static final int PORT = 3;
    private static final int ACTIVE = 2;
    private static final int STANDBY_OF_N9 = 3;
    private static final String HOST = "nqn.2024-01.io.dnv:host:h1";

    @TempDir
    Path dir;

    private final Fabric fabric = new Fabric();
    private SimulatedKernel target;
    private SimulatedKernel host;
    private Reconciler reconciler;

    @BeforeEach
    void start() {
        target = new SimulatedKernel("127.0.5.1", fabric).addDisk("/dev/ram0", dir.resolve("d"), 64L << 20);
        host = new SimulatedKernel("127.0.5.9", fabric);
        reconciler = new Reconciler(target, Optional.of("/dev/ram0"), new Zeroing(Optional.empty(), Optional.of("/dev/ram0")));
    }

    @AfterEach
    void stop() {
        host.shutdown();
        target.shutdown();
    }

    @Test
    void aNamespaceMovesToAnotherGroupInPlaceAndTheHostFollowsItsState() throws InterruptedException {
        Map<Integer, AnaState> groups = Map.of(ACTIVE, AnaState.OPTIMIZED, STANDBY_OF_N9, AnaState.INACCESSIBLE);
        assertTrue(reconciler.reconcile(desired(1, groups, 1, v -> STANDBY_OF_N9)).converged());
        host.nvmeConnect(connection(0));
        assertTrue(await(() -> heads() == 0), "its only path is inaccessible: no block device on the host");

        PassResult moved = reconciler.reconcile(desired(2, groups, 1, v -> ACTIVE));
        assertTrue(moved.converged(), moved.failures().toString());
        assertEquals(List.of("nvmet namespace ana_grpid " + ACTIVE + " " + nqn(0) + " namespace 1"), moved.mutations(),
                "moved while enabled; nothing removed or made again");
        assertTrue(await(() -> heads() == 1), "the host saw the namespace's new group optimized");
        assertEquals(1, host.observe().controllers().size(), "over the same connection");
    }

    /** What a failover does first on a standby: one ANA change for every volume of the failed node's domain. */
    @Test
    void oneStateChangePromotesEveryVolumeOfADomain() throws InterruptedException {
        int volumes = 40;
        IntFunction<Integer> half = v -> v % 2 == 0 ? STANDBY_OF_N9 : ACTIVE + 2;
        assertTrue(reconciler.reconcile(desired(1, Map.of(STANDBY_OF_N9, AnaState.INACCESSIBLE, ACTIVE + 2, AnaState.INACCESSIBLE),
                volumes, half)).converged());
        for (int v = 0; v < volumes; v++) {
            host.nvmeConnect(connection(v));
        }
        PassResult promoted = reconciler.reconcile(desired(2, Map.of(STANDBY_OF_N9, AnaState.OPTIMIZED, ACTIVE + 2, AnaState.INACCESSIBLE),
                volumes, half));
        assertEquals(List.of("nvmet ana state optimized port " + PORT + " ana group " + STANDBY_OF_N9), promoted.mutations());
        assertTrue(await(() -> heads() == volumes / 2), "every volume of the group, none of the other: " + heads());
    }

    /** The limit of 127 volumes per port is gone: 3000 namespaces on one port, in 31 groups. */
    @Test
    void onePortConvergesThousandsOfNamespacesInAGroupPerDomain() {
        int volumes = 3000;
        Map<Integer, AnaState> groups = new java.util.HashMap<>();
        groups.put(ACTIVE, AnaState.OPTIMIZED);
        for (int g = STANDBY_OF_N9; g < STANDBY_OF_N9 + 30; g++) {
            groups.put(g, AnaState.INACCESSIBLE);
        }
        IntFunction<Integer> group = v -> v % 2 == 0 ? ACTIVE : STANDBY_OF_N9 + v % 30;
        long start = System.nanoTime();
        PassResult first = reconciler.reconcile(desired(1, groups, volumes, group));
        long firstMs = (System.nanoTime() - start) / 1_000_000;
        assertTrue(first.converged(), first.failures().stream().limit(3).toList().toString());
        start = System.nanoTime();
        PassResult again = reconciler.reconcile(desired(1, groups, volumes, group));
        long againMs = (System.nanoTime() - start) / 1_000_000;
        assertEquals(List.of(), again.mutations());
        ObservedKernel.Port port = again.observed().ports().stream().filter(p -> p.id() == PORT).findFirst().orElseThrow();
        assertEquals(volumes, port.subsystems().size());
        assertEquals(1 + 31, port.anaGroups().size(), "the default group and one per domain");
        System.out.printf("one port, %d namespaces in %d groups: first pass %d ms (%d mutations), next pass %d ms%n",
                volumes, groups.size(), firstMs, first.mutations().size(), againMs);
    }

    private DesiredNode desired(long generation, Map<Integer, AnaState> groups, int volumes, IntFunction<Integer> group) {
        List<DmDevice> dm = new ArrayList<>();
        List<NvmetSubsystem> subsystems = new ArrayList<>();
        for (int v = 0; v < volumes; v++) {
            DmDevice device = new DmDevice(Names.volume("n1", "v" + v), DmTable.of(2048,
                    new DmTarget.Linear(new DeviceRef.Disk("/dev/ram0"), 2048L * (v % 64))));
            dm.add(device);
            UUID uuid = Names.namespaceUuid(nqn(v));
            subsystems.add(new NvmetSubsystem(nqn(v), List.of(HOST), 1, 100, Names.serial(nqn(v)),
                    List.of(new NvmetNamespace(1, device.ref(), uuid, Names.nguid(uuid), group.apply(v))), List.of(PORT)));
        }
        NvmetPort port = NvmetPort.tcp(PORT, "127.0.5.1", 4422).withAnaGroups(groups);
        return new DesiredNode("n1", generation, List.of(port), dm, subsystems, List.of(), List.of());
    }

    private static String nqn(int v) {
        return Names.volumeNqn("v" + v);
    }

    private static NvmeConnection connection(int v) {
        return new NvmeConnection("tcp", "127.0.5.1", 4422, nqn(v), HOST, Names.hostId(HOST), new ConnectTimeouts(5, 10, 1, 2));
    }

    private long heads() {
        return host.observeHost().blockDevices().stream().filter(b -> b.uuid().isPresent()).count();
    }

    private static boolean await(java.util.function.BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < 100; i++) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(50);
        }
        return false;
    }
}
