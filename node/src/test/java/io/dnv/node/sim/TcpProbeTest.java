package io.dnv.node.sim;

import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.node.sim.nvme.Fabric;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A userspace probe of a connect's target: answered or not, and holding no connect of its kernel meanwhile. */
class TcpProbeTest {

    private static final String NQN = "nqn.2024-01.io.dnv:ld:probe";
    private final Fabric fabric = new Fabric();
    private final SimulatedKernel host = new SimulatedKernel("127.0.3.1", fabric);
    private final SimulatedKernel dead = new SimulatedKernel("127.0.3.2", fabric);
    private final SimulatedKernel live = new SimulatedKernel("127.0.3.3", fabric);

    @AfterEach
    void shutdown() {
        host.shutdown();
        dead.shutdown();
        live.shutdown();
    }

    @Test
    void aListeningPortAndARefusalAnswerASilentMachineDoesNotAndHoldsNoConnectMeanwhile() throws Exception {
        for (SimulatedKernel target : new SimulatedKernel[] {dead, live}) {
            target.nvmetPortCreate(NvmetPort.tcp(1, target.name(), 4420));
            target.nvmetSubsystemCreate(NQN, 1, 100, "probe");
            target.nvmetAllowAnyHost(NQN, true);
            target.nvmetLink(1, NQN);
        }
        assertTrue(host.answers(to(live, 4420), Duration.ofSeconds(3)), "a listening port accepts");
        assertTrue(host.answers(to(live, 4499), Duration.ofSeconds(3)), "nothing listening refuses: an answer");

        dead.powerOff();
        long start = System.nanoTime();
        CompletableFuture<Boolean> probe = CompletableFuture.supplyAsync(() -> host.answers(to(dead, 4420), Duration.ofSeconds(3)));
        Thread.sleep(100);
        String controller = host.nvmeConnect(to(live, 4420));
        long connectedMillis = (System.nanoTime() - start) / 1_000_000;
        assertFalse(probe.get(10, TimeUnit.SECONDS), "a machine that is off does not answer");
        long probedMillis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(probedMillis >= 3000, "the probe gave up before its timeout: " + probedMillis + " ms");
        assertTrue(connectedMillis < 2000, "the connect waited for the probe: " + connectedMillis + " ms");
        assertEquals(1, host.observeHost().controllers().stream().filter(c -> c.name().equals(controller)).count());
    }

    private NvmeConnection to(SimulatedKernel target, int port) {
        String hostNqn = Names.hostNqn("probe-host");
        return new NvmeConnection("tcp", target.name(), port, NQN, hostNqn, Names.hostId(hostNqn), new ConnectTimeouts(5, 30, 1, 5));
    }
}
