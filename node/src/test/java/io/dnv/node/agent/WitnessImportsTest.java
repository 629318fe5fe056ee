package io.dnv.node.agent;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.plan.DesiredNodes;
import io.dnv.core.plan.Fixtures;
import io.dnv.core.plan.Witnesses;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Three nodes witnessing each other (docs/failover.md, "Detection"): each exports a witness
 * subsystem with no namespace, which the nvmet of Linux 6.1 admits connections to like any other,
 * and imports the other two's. A peer that goes silent reads connecting and stays so (reconnecting
 * every second, for ever) without keeping any pass from converging, and reads live again as soon
 * as its witness export is back; a node whose peer is away when it connects leaves that import
 * out and converges all the same.
 */
class WitnessImportsTest {

    @TempDir
    Path dataDir;

    private final ActorTestKit testKit = ActorTestKit.create("WitnessImportsTest");
    private final Fabric fabric = new Fabric();
    private final Map<String, NodeEndpoints> nodes = new LinkedHashMap<>();
    private final Map<String, SimulatedKernel> kernels = new LinkedHashMap<>();
    private final Agents agents = new Agents(testKit);
    private long generation;

    @BeforeEach
    void threeNodes() {
        Fixtures.sixNodes().values().stream().limit(3).forEach(n -> nodes.put(n.nodeId(), n));
        Map<String, Optional<String>> disks = new LinkedHashMap<>();
        for (NodeEndpoints n : nodes.values()) {
            kernels.put(n.nodeId(), new SimulatedKernel(n.address(), fabric)
                    .addDisk(n.diskPath().orElseThrow(), dataDir.resolve(n.nodeId() + ".disk"), 8L << 20));
            disks.put(n.nodeId(), n.diskPath());
        }
        agents.start(kernels, disks);
        agents.converge(desired(List.copyOf(nodes.keySet())));
    }

    @AfterEach
    void shutdown() {
        testKit.shutdownTestKit();
        kernels.values().forEach(SimulatedKernel::shutdown);
    }

    @Test
    void aSilentPeerReadsConnectingUntilItsWitnessIsBackAndKeepsNoPassFromConverging() throws Exception {
        for (String n : nodes.keySet()) {
            ObservedKernel.Subsystem export = kernels.get(n).observe().subsystems().stream()
                    .filter(s -> s.nqn().equals(Names.witnessNqn(n))).findFirst().orElseThrow();
            assertTrue(export.namespaces().isEmpty());
            assertEquals(2, export.allowedHosts().size());
            assertEquals(List.of("live", "live"), witnessStates(n), n);
        }

        kernels.get("n3").powerOff();
        long off = System.nanoTime();
        await("n1's witness of n3 connecting", () -> state("n1", "n3").equals("connecting"));
        System.out.printf("TIME witness of a silent peer connecting after %d ms (keep-alive 1 s)%n", (System.nanoTime() - off) / 1_000_000);
        agents.converge(desired(List.of("n1", "n2")));
        Thread.sleep(3000);
        assertEquals("connecting", state("n1", "n3"), "the controller stays while its peer is away: the witness keeps reading down");

        // A node starting over while n3 is away: it converges without n3's witness.
        kernels.get("n1").powerCycle();
        agents.converge(desired(List.of("n1")));
        assertEquals(List.of(Names.witnessNqn("n2")), kernels.get("n1").observeHost().controllers().stream()
                .map(ObservedKernel.Controller::subsystemNqn).filter(Names::isWitnessNqn).toList());

        kernels.get("n3").powerOn();
        long on = System.nanoTime();
        agents.converge(desired(List.of("n3")));
        await("n2's witness of n3 live again", () -> state("n2", "n3").equals("live"));
        System.out.printf("TIME witness of a peer back live %d ms after its export was%n", (System.nanoTime() - on) / 1_000_000);
        // n1 left its import of n3 out when it started over: its agent tries it again when it is
        // due, long before its resync (30 s), with nothing new to apply and its kernel unchanged.
        await("n1's witness of n3, left out while n3 was away, connected", () -> state("n1", "n3").equals("live"));
        System.out.printf("TIME witness left out connected %d ms after the peer's export was back%n", (System.nanoTime() - on) / 1_000_000);
    }

    /** Every node's witness objects, nothing else; the nodes named are handed them at a new generation. */
    private Map<String, DesiredNode> desired(List<String> to) {
        generation++;
        Map<String, DesiredNode> desired = new LinkedHashMap<>();
        Witnesses.plan(nodes.values()).forEach((n, objects) -> {
            if (to.contains(n)) {
                desired.put(n, DesiredNodes.assemble(nodes.get(n), generation, List.of(objects)));
            }
        });
        return desired;
    }

    private List<String> witnessStates(String node) {
        return kernels.get(node).observeHost().controllers().stream().filter(c -> Names.isWitnessNqn(c.subsystemNqn()))
                .map(ObservedKernel.Controller::state).toList();
    }

    private String state(String holder, String peer) {
        return kernels.get(holder).observeHost().controllers().stream()
                .filter(c -> c.subsystemNqn().equals(Names.witnessNqn(peer))).map(ObservedKernel.Controller::state).findFirst().orElse("none");
    }

    private static void await(String what, java.util.function.BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail(what + " within 10 s");
            }
            Thread.sleep(20);
        }
    }
}
