package io.dnv.node.agent;

import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.plan.Fixtures;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A volume whose thin pool runs out of data space (a snapshot holds the old blocks and the host
 * overwrites more than the snapshot reserve) must fail the host's write at once: a write that
 * waited for space (dm-thin's queue_if_no_space, 60 s) would outlive the host's 30 s I/O
 * timeout, and the host's retry on another path could be overtaken by it.
 */
class FullPoolTest {

    private static final String HOST_NQN = "nqn.2014-08.org.nvmexpress:uuid:0c9d4f3e-61a2-4c1b-9e6f-3d2a1b0c9e8f";
    private static final long MIB = 1 << 20;
    /** One active controller on n1, one leg of 8 MiB: a pool of 10 one-MiB blocks (20 % reserve, rounded up). */
    private static final VolumeSpec SPEC = new VolumeSpec(8 * MIB, 1, 0, 1, 2);

    @TempDir
    Path dataDir;

    private final ActorTestKit testKit = ActorTestKit.create("FullPoolTest");
    private final Fabric fabric = new Fabric();
    private final Map<String, NodeEndpoints> nodes = new LinkedHashMap<>();
    private final Map<String, SimulatedKernel> kernels = new LinkedHashMap<>();

    @AfterEach
    void shutdown() {
        testKit.shutdownTestKit();
        // Powering off fails any write still waiting on the pool: nothing outlives the test.
        kernels.values().forEach(SimulatedKernel::shutdown);
    }

    @Test
    void aWriteThatNeedsABlockOfAFullPoolFailsAtOnce() throws Exception {
        Fixtures.sixNodes().values().stream().limit(2).forEach(n -> nodes.put(n.nodeId(), n));
        for (NodeEndpoints n : nodes.values()) {
            kernels.put(n.nodeId(), new SimulatedKernel(n.address(), fabric)
                    .addDisk(n.diskPath().orElseThrow(), dataDir.resolve(n.nodeId() + ".disk"), 64 * MIB));
        }
        SimulatedKernel host = new SimulatedKernel("127.0.2.1", fabric);
        kernels.put("host", host);
        VolumeLayout layout = VolumeLayout.of(SPEC);
        assertEquals(10 * 2048, layout.poolDataSectors());
        Agents agents = new Agents(testKit);
        Map<String, SimulatedKernel> storage = new LinkedHashMap<>(kernels);
        storage.remove("host");
        Map<String, java.util.Optional<String>> disks = new LinkedHashMap<>();
        nodes.forEach((id, n) -> disks.put(id, n.diskPath()));
        agents.start(storage, disks);
        agents.converge(Fixtures.desired(nodes, "full", SPEC, Fixtures.placement(SPEC, layout, true), List.of(HOST_NQN), 1));

        NodeEndpoints n1 = nodes.get("n1");
        String controller = host.nvmeConnect(new NvmeConnection("tcp", n1.address(), n1.port(Fixtures.VOLUME_PORT).serviceId(),
                Names.volumeNqn("full"), HOST_NQN, Names.hostId(HOST_NQN), new ConnectTimeouts(5, 10, 1, 2)));
        SimulatedKernel cn = kernels.get("n1");
        String pool = Names.pool("n1", "full", 0);
        try (SimulatedKernel.Handle volume = host.open(head(host))) {
            volume.write(0, new byte[(int) (8 * MIB)]);
            // A snapshot shares every block: each MiB overwritten now takes a new one, and two are left.
            cn.dmSuspend(Names.thin("n1", "full", 0));
            cn.dmMessage(pool, 0, "create_snap 1 0");
            cn.dmResume(Names.thin("n1", "full", 0));
            volume.write(0, new byte[(int) (2 * MIB)]);
            assertTrue(status(cn, pool).contains(" 10/10 - rw "), status(cn, pool));

            CompletableFuture<Void> write = CompletableFuture.runAsync(() -> {
                try {
                    volume.write(2 * MIB, new byte[4096]);
                } catch (IOException e) {
                    throw new CompletionException(e);
                }
            });
            try {
                write.get(2, TimeUnit.SECONDS);
                fail("a write needing a block of a full pool succeeded");
            } catch (TimeoutException e) {
                fail("the host's write still waits for space after 2 s: " + status(cn, pool));
            } catch (ExecutionException e) {
                assertInstanceOf(IOException.class, e.getCause());
                assertTrue(e.getCause().getMessage().contains("No space left on device"), e.getCause().getMessage());
            }
            assertTrue(status(cn, pool).contains(" 10/10 - out_of_data_space no_discard_passdown error_if_no_space "), status(cn, pool));
            volume.write(0, new byte[4096]);
        }
        host.nvmeDisconnect(controller);
    }

    private static String status(SimulatedKernel k, String dm) {
        return k.observe().dmDevices().stream().filter(d -> d.name().equals(dm)).findFirst().orElseThrow().status();
    }

    private static String head(SimulatedKernel host) {
        UUID uuid = Names.namespaceUuid(Names.volumeNqn("full"));
        return host.observe().namespace(uuid).orElseThrow(() -> new AssertionError("no head for the volume")).path();
    }
}
