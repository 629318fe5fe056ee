package io.dnv.node.agent;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.DeviceRef;
import io.dnv.core.kernel.DmDevice;
import io.dnv.core.kernel.DmTable;
import io.dnv.core.kernel.DmTarget;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the agent reports when the kernel refuses, how it retries, and that a newer generation wins. */
class NodeAgentTest {

    @TempDir
    Path dir;

    private final ActorTestKit testKit = ActorTestKit.create("NodeAgentTest");
    private SimulatedKernel kernel;

    @AfterEach
    void shutdown() {
        testKit.shutdownTestKit();
        if (kernel != null) {
            kernel.shutdown();
        }
    }

    @Test
    void aRefusalIsReportedWithObjectOperationAndKernelWordsAndRetriedWithBackoffUntilANewGenerationFixesIt() {
        kernel = new SimulatedKernel("127.0.3.1", new Fabric()).addDisk("/dev/ram0", dir.resolve("d0"), 8L << 20);
        ActorRef<NodeAgent.Command> agent = testKit.spawn(NodeAgent.create("n1", kernel,
                new NodeAgent.Settings(Duration.ofSeconds(30), Duration.ofMillis(50), Duration.ofMillis(400))), DispatcherSelector.blocking());
        List<NvmetPort> ports = List.of(NvmetPort.tcp(1, "127.0.3.1", 4420));
        DmDevice pastTheEnd = new DmDevice("dnv-n1-ld-v-0-0-0",
                DmTable.of(4096, new DmTarget.Linear(new DeviceRef.Disk("/dev/ram0"), 16383)));
        agent.tell(new NodeAgent.Apply(new DesiredNode("n1", 1, ports, List.of(pastTheEnd), List.of(), List.of())));

        NodeAgent.Status failing = awaitStatus(agent, s -> s.failedPasses() >= 3);
        assertEquals(-1, failing.reachedGeneration());
        Failure f = failing.lastPass().orElseThrow().failures().get(0);
        assertEquals("dnv-n1-ld-v-0-0-0", f.object());
        assertEquals("dm create", f.operation());
        assertTrue(f.message().contains("too small for target"), f.message());

        DmDevice fits = new DmDevice("dnv-n1-ld-v-0-0-0", DmTable.of(4096, new DmTarget.Linear(new DeviceRef.Disk("/dev/ram0"), 0)));
        agent.tell(new NodeAgent.Apply(new DesiredNode("n1", 2, ports, List.of(fits), List.of(), List.of())));
        NodeAgent.Status ok = awaitStatus(agent, s -> s.reachedGeneration() == 2);
        assertEquals(0, ok.failedPasses());
        assertTrue(kernel.observe().dm("dnv-n1-ld-v-0-0-0").isPresent());

        // An older generation arriving late changes nothing.
        agent.tell(new NodeAgent.Apply(new DesiredNode("n1", 1, ports, List.of(), List.of(), List.of())));
        assertEquals(2, awaitStatus(agent, s -> true).desiredGeneration());
        assertTrue(kernel.observe().dm("dnv-n1-ld-v-0-0-0").isPresent());
    }

    private NodeAgent.Status awaitStatus(ActorRef<NodeAgent.Command> agent, java.util.function.Predicate<NodeAgent.Status> done) {
        TestProbe<NodeAgent.Status> probe = testKit.createTestProbe();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            agent.tell(new NodeAgent.GetStatus(probe.ref()));
            NodeAgent.Status s = probe.receiveMessage();
            if (done.test(s)) {
                return s;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("agent never reached the expected status: " + s);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }
}
