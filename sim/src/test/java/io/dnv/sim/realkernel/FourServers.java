package io.dnv.sim.realkernel;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.node.agent.NodeAgent;
import io.dnv.node.linux.CommandRunner;
import io.dnv.node.linux.LinuxKernel;
import io.dnv.sim.vm.GuestChannel;
import io.dnv.sim.vm.GuestPair;
import io.dnv.sim.vm.GuestServer;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.DispatcherSelector;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The bed the agent-driven real-kernel tests share: two guests with four storage servers, two
 * per kernel as separate machines would be (own ports, host NQNs and disks): a1 and a2 in guest
 * A, b1 and b2 in guest B, each a disk and a controller node; their agents run here, driving
 * the guests through LinuxKernel.
 */
final class FourServers implements AutoCloseable {

    static final int DISK_MIB = 128;
    /** A pass over a TCG guest takes seconds; the agents retry within two. */
    private static final NodeAgent.Settings SETTINGS = new NodeAgent.Settings(Duration.ofMinutes(5), Duration.ofMillis(200),
            Duration.ofSeconds(2));
    /** A status is answered after the pass under way. */
    private static final Duration ANSWER = Duration.ofSeconds(120);

    final GuestPair guests;
    final Map<String, NodeEndpoints> nodes = new LinkedHashMap<>();
    final Map<String, LinuxKernel> kernels = new LinkedHashMap<>();
    private final ActorTestKit testKit;
    private final Map<String, ActorRef<NodeAgent.Command>> agents = new LinkedHashMap<>();
    private int incarnation;

    private FourServers(String name, GuestPair guests, Duration commandTimeout) {
        this.testKit = ActorTestKit.create(name);
        this.guests = guests;
        server("a1", GuestPair.ADDRESS_A, guests.a(), "/dev/ram0", 0, commandTimeout);
        server("a2", GuestPair.ADDRESS_A, guests.a(), "/dev/ram1", 10, commandTimeout);
        server("b1", GuestPair.ADDRESS_B, guests.b(), "/dev/ram0", 0, commandTimeout);
        server("b2", GuestPair.ADDRESS_B, guests.b(), "/dev/ram1", 10, commandTimeout);
    }

    /** Boots both guests (two RAM disks each) and names the four servers; no agent runs yet. */
    static FourServers boot(String name, Duration commandTimeout) throws Exception {
        GuestPair guests = GuestPair.boot(GuestPair.Images.fromSystemProperties(), 2, DISK_MIB);
        System.out.printf("TIME boot of both guests %.1f s%n", guests.bootTime().toMillis() / 1000.0);
        return new FourServers(name, guests, commandTimeout);
    }

    private void server(String id, String address, CommandRunner guest, String disk, int offset, Duration commandTimeout) {
        GuestServer s = GuestServer.of(id, address, guest, disk, offset, commandTimeout);
        nodes.put(id, s.endpoints());
        kernels.put(id, s.kernel());
    }

    GuestChannel a() {
        return guests.a();
    }

    GuestChannel b() {
        return guests.b();
    }

    /** Starts an agent per server; started again, the old ones stop and the new ones re-adopt their kernels. */
    void startAgents() {
        agents.values().forEach(testKit::stop);
        agents.clear();
        incarnation++;
        for (String node : nodes.keySet()) {
            agents.put(node, testKit.spawn(NodeAgent.create(node, nodes.get(node).diskPath(), kernels.get(node), SETTINGS),
                    "agent-" + node + "-" + incarnation, DispatcherSelector.blocking()));
        }
    }

    /** Hands every agent its desired state and waits, up to three minutes, until each reached its generation. */
    void converge(Map<String, DesiredNode> desired) {
        desired.forEach((node, d) -> agents.get(node).tell(new NodeAgent.Apply(d)));
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        for (Map.Entry<String, DesiredNode> e : desired.entrySet()) {
            while (true) {
                NodeAgent.Status s = status(e.getKey());
                if (s.reachedGeneration() >= e.getValue().generation()) {
                    break;
                }
                if (System.nanoTime() > deadline) {
                    fail(e.getKey() + " did not converge: " + s.lastPass().map(p -> p.failures() + " " + p.waiting()).orElse("no pass"));
                }
                sleep(200);
            }
        }
    }

    NodeAgent.Status status(String node) {
        TestProbe<NodeAgent.Status> probe = testKit.createTestProbe();
        agents.get(node).tell(new NodeAgent.GetStatus(probe.ref()));
        return probe.receiveMessage(ANSWER);
    }

    @Override
    public void close() {
        testKit.shutdownTestKit();
        guests.close();
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
