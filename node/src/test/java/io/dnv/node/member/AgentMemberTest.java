package io.dnv.node.member;

import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.node.NodeInfo;
import io.dnv.core.node.StorageNode;
import io.dnv.core.node.ToAgent;
import io.dnv.core.plan.NodeObjects;
import io.dnv.node.agent.NodeAgent;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The member's side of a storage node: heartbeats to its entity, whatever its agent is doing. */
class AgentMemberTest {

    private static final String ADDRESS = "127.0.4.1";
    private static final NodeEndpoints N1 = new NodeEndpoints("n1", ADDRESS, Optional.of("/dev/ram0"),
            Optional.of(NvmetPort.tcp(1, ADDRESS, 4420)), Optional.empty(), List.of());
    private static final NodeInfo INFO = new NodeInfo(N1, 8L << 20, Set.of("disk"), Map.of(), Set.of());

    @TempDir
    Path dir;

    private final ActorTestKit testKit = ActorTestKit.create("AgentMemberTest");
    private final List<CountDownLatch> held = new ArrayList<>();
    private SimulatedKernel simulated;

    @AfterEach
    void shutdown() {
        held.forEach(CountDownLatch::countDown);
        testKit.shutdownTestKit();
        if (simulated != null) {
            simulated.shutdown();
        }
    }

    /**
     * A pass can take a minute (zeroing a large LD): the member keeps saying the node is alive
     * at the usual pace all the while, or the control plane would take the node for dead.
     */
    @Test
    void heartbeatsKeepTheirPaceWhileAPassWaitsOnTheKernel() throws Exception {
        TroubledKernel kernel = new TroubledKernel(simulatedKernel());
        CountDownLatch release = kernel.hold("nvmetPortCreate");
        held.add(release);
        TestProbe<StorageNode.Command> entity = testKit.createTestProbe();
        testKit.spawn(AgentMember.create(INFO, kernel.kernel(), NodeAgent.Settings.DEFAULT, entity.ref()));

        ActorRef<ToAgent> inbox = heartbeat(entity, h -> true).agent();
        inbox.tell(new ToAgent.Sync(1, N1, Map.of()));
        assertTrue(kernel.entered("nvmetPortCreate").await(10, TimeUnit.SECONDS), "the pass reached the port");
        for (int i = 0; i < 4; i++) {
            entity.expectMessageClass(StorageNode.Heartbeat.class, AgentMember.HEARTBEAT.multipliedBy(2));
        }

        release.countDown();
        heartbeat(entity, h -> h.reached() == 1);
    }

    /**
     * A pass that throws (the parser met a line it does not know) restarts the agent after a
     * backoff; its member hands it the desired state again, and once the cause is gone a pass
     * converges. The member heartbeats all along.
     */
    @Test
    void anAgentWhosePassThrewStartsAgainAndConvergesOnceTheCauseIsGone() {
        TroubledKernel kernel = new TroubledKernel(simulatedKernel());
        kernel.fail("observe", new IllegalStateException("dm status line the parser does not know"));
        TestProbe<StorageNode.Command> entity = testKit.createTestProbe();
        testKit.spawn(AgentMember.create(INFO, kernel.kernel(), NodeAgent.Settings.DEFAULT, entity.ref()));

        heartbeat(entity, h -> true).agent().tell(new ToAgent.Sync(1, N1, Map.of()));
        entity.awaitAssert(Duration.ofSeconds(10), () -> {
            assertTrue(kernel.calls("observe") >= 3, "passes after the first one threw: " + kernel.calls("observe"));
            return null;
        });
        heartbeat(entity, h -> true);

        kernel.heal("observe");
        heartbeat(entity, h -> h.reached() == 1);
    }

    /**
     * Desired state that does not assemble (an ANA group on a port the node does not have)
     * throws in the member: it starts again after a backoff, heartbeats, and converges to the
     * next push, which the control plane sends whole to a member that holds nothing.
     */
    @Test
    void aMemberWhosePushDidNotAssembleStartsAgainAndTakesTheNextPush() {
        TroubledKernel kernel = new TroubledKernel(simulatedKernel());
        TestProbe<StorageNode.Command> entity = testKit.createTestProbe();
        testKit.spawn(AgentMember.create(INFO, kernel.kernel(), NodeAgent.Settings.DEFAULT, entity.ref()));

        ActorRef<ToAgent> inbox = heartbeat(entity, h -> true).agent();
        NodeObjects onMissingPort = new NodeObjects(List.of(), List.of(), List.of(),
                List.of(new NodeObjects.AnaGroup(9, 2, AnaState.OPTIMIZED)));
        inbox.tell(new ToAgent.PutVolume("v1", onMissingPort, 1));
        inbox.tell(new ToAgent.Sync(1, N1, Map.of("v1", 1L)));
        entity.receiveSeveralMessages(3, Duration.ofSeconds(10));

        NodeObjects nothing = new NodeObjects(List.of(), List.of(), List.of(), List.of());
        ActorRef<ToAgent> restarted = heartbeat(entity, h -> true).agent();
        restarted.tell(new ToAgent.PutVolume("v1", nothing, 2));
        restarted.tell(new ToAgent.Sync(2, N1, Map.of("v1", 2L)));
        heartbeat(entity, h -> h.reached() == 2);
    }

    private SimulatedKernel simulatedKernel() {
        simulated = new SimulatedKernel(ADDRESS, new Fabric()).addDisk("/dev/ram0", dir.resolve("d0"), 8L << 20);
        return simulated;
    }

    /** The first heartbeat (within 20 s) that {@code wanted} accepts. */
    private static StorageNode.Heartbeat heartbeat(TestProbe<StorageNode.Command> entity, Predicate<StorageNode.Heartbeat> wanted) {
        List<StorageNode.Command> fished = entity.fishForMessage(Duration.ofSeconds(20),
                m -> m instanceof StorageNode.Heartbeat h && wanted.test(h) ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());
        return (StorageNode.Heartbeat) fished.get(fished.size() - 1);
    }
}
