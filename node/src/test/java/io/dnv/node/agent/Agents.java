package io.dnv.node.agent;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.node.kernel.Kernel;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.DispatcherSelector;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The agents of a test's simulated nodes: one per node, on a blocking dispatcher as in production,
 * with fast retries; handed their desired state and waited for until each reached its generation.
 * Starting them again is an agent restart: the old ones stop, new ones re-adopt their kernels.
 */
final class Agents {

    static final NodeAgent.Settings FAST = new NodeAgent.Settings(Duration.ofSeconds(30), Duration.ofMillis(20), Duration.ofMillis(500));
    /** A status is answered after the pass under way, which may sit in a connect's 3 s SYN timeout. */
    private static final Duration ANSWER = Duration.ofSeconds(10);

    private final ActorTestKit testKit;
    private final Map<String, ActorRef<NodeAgent.Command>> agents = new LinkedHashMap<>();
    /** What each node's order worker holds: outlives the agents, as in a storage node's member. */
    final Map<String, HeldDevices> held = new LinkedHashMap<>();
    private int incarnation;

    Agents(ActorTestKit testKit) {
        this.testKit = testKit;
    }

    /** Stops the agents there are and starts one per kernel, each over its node's disk. */
    void start(Map<String, ? extends Kernel> kernels, Map<String, Optional<String>> disks) {
        agents.values().forEach(testKit::stop);
        agents.clear();
        incarnation++;
        kernels.forEach((node, kernel) -> agents.put(node, testKit.spawn(NodeAgent.create(node, disks.get(node), kernel, FAST,
                Optional.empty(), held.computeIfAbsent(node, n -> new HeldDevices())), "agent-" + node + "-" + incarnation,
                DispatcherSelector.blocking())));
    }

    /** Stops one node's agent, as a crash of its machine does (the test powers its kernel off). */
    void stop(String node) {
        testKit.stop(agents.remove(node));
    }

    /** Hands every agent its desired state and waits, up to a minute, until each reached its generation. */
    void converge(Map<String, DesiredNode> desired) {
        desired.forEach((node, d) -> agents.get(node).tell(new NodeAgent.Apply(d)));
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        for (Map.Entry<String, DesiredNode> e : desired.entrySet()) {
            while (true) {
                NodeAgent.Status s = status(e.getKey());
                if (s.reachedGeneration() >= e.getValue().generation()) {
                    break;
                }
                if (System.nanoTime() > deadline) {
                    fail(e.getKey() + " did not converge: " + s.lastPass().map(p -> p.failures() + " " + p.waiting()).orElse("no pass"));
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError(interrupted);
                }
            }
        }
    }

    NodeAgent.Status status(String node) {
        TestProbe<NodeAgent.Status> probe = testKit.createTestProbe();
        agents.get(node).tell(new NodeAgent.GetStatus(probe.ref()));
        return probe.receiveMessage(ANSWER);
    }
}
