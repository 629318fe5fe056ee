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
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the agent reports when the kernel refuses, how it retries, and that a newer generation wins. */
class NodeAgentTest {

    @TempDir
    Path dir;

    private static final List<NvmetPort> PORTS = List.of(NvmetPort.tcp(1, "127.0.3.1", 4420));

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
        kernel = kernelWithOneDisk();
        ActorRef<NodeAgent.Command> agent = testKit.spawn(NodeAgent.create("n1", Optional.of("/dev/ram0"), kernel,
                new NodeAgent.Settings(Duration.ofSeconds(30), Duration.ofMillis(50), Duration.ofMillis(400))), DispatcherSelector.blocking());
        DmDevice pastTheEnd = new DmDevice("dnv-n1-ld-v-0-0-0",
                DmTable.of(4096, new DmTarget.Linear(new DeviceRef.Disk("/dev/ram0"), 16383)));
        agent.tell(new NodeAgent.Apply(new DesiredNode("n1", 1, PORTS, List.of(pastTheEnd), List.of(), List.of())));

        NodeAgent.Status failing = awaitStatus(agent, s -> s.failedPasses() >= 3);
        assertEquals(-1, failing.reachedGeneration());
        Failure f = failing.lastPass().orElseThrow().failures().get(0);
        assertEquals("dnv-n1-ld-v-0-0-0", f.object());
        assertEquals("dm create", f.operation());
        assertTrue(f.message().contains("too small for target"), f.message());

        DmDevice fits = new DmDevice("dnv-n1-ld-v-0-0-0", DmTable.of(4096, new DmTarget.Linear(new DeviceRef.Disk("/dev/ram0"), 0)));
        agent.tell(new NodeAgent.Apply(new DesiredNode("n1", 2, PORTS, List.of(fits), List.of(), List.of())));
        NodeAgent.Status ok = awaitStatus(agent, s -> s.reachedGeneration() == 2);
        assertEquals(0, ok.failedPasses());
        assertTrue(kernel.observe().dm("dnv-n1-ld-v-0-0-0").isPresent());

        // An older generation arriving late changes nothing.
        agent.tell(new NodeAgent.Apply(new DesiredNode("n1", 1, PORTS, List.of(), List.of(), List.of())));
        assertEquals(2, awaitStatus(agent, s -> true).desiredGeneration());
        assertTrue(kernel.observe().dm("dnv-n1-ld-v-0-0-0").isPresent());
    }

    /**
     * The first generation passes at once; two that arrive within the spacing after it share one
     * pass, started when the spacing is up, which applies the newer of them.
     */
    @Test
    void generationsArrivingWithinTheSpacingAfterAPassShareTheNextPass() {
        kernel = kernelWithOneDisk();
        TestProbe<NodeAgent.Status> statuses = testKit.createTestProbe();
        Duration spacing = Duration.ofSeconds(3);
        ActorRef<NodeAgent.Command> agent = testKit.spawn(NodeAgent.create("n1", Optional.of("/dev/ram0"), kernel,
                new NodeAgent.Settings(Duration.ofSeconds(30), Duration.ofMillis(50), Duration.ofMillis(400), spacing),
                Optional.of(statuses.ref())), DispatcherSelector.blocking());

        long sent = System.nanoTime();
        agent.tell(new NodeAgent.Apply(new DesiredNode("n1", 1, PORTS, lds(1), List.of(), List.of())));
        assertEquals(1, passedAtLeast(statuses, 1).generation());
        assertTrue(System.nanoTime() - sent < spacing.toNanos(), "the first generation waited for the spacing");

        agent.tell(new NodeAgent.Apply(new DesiredNode("n1", 2, PORTS, lds(2), List.of(), List.of())));
        // Long enough for a pass of generation 2 to start if it were not spaced, far within the spacing.
        sleep(Duration.ofMillis(300));
        agent.tell(new NodeAgent.Apply(new DesiredNode("n1", 3, PORTS, lds(3), List.of(), List.of())));
        PassResult next = passedAtLeast(statuses, 2);
        assertEquals(3, next.generation(), "generation 2 had a pass of its own");
        assertEquals(List.of("dm create dnv-n1-ld-v-0-0-1", "dm create dnv-n1-ld-v-0-0-2"), next.mutations());
    }

    /**
     * Generations arriving more often than the spacing still get a pass every spacing: the
     * spacing counts from the last pass, not from the last generation, so a steady stream never
     * holds passes back for as long as it lasts.
     */
    @Test
    void aSteadyStreamOfGenerationsStillPassesEverySpacing() {
        kernel = kernelWithOneDisk();
        Set<Long> passedGenerations = ConcurrentHashMap.newKeySet();
        ActorRef<NodeAgent.Status> listener = testKit.spawn(Behaviors.receiveMessage(st -> {
            st.lastPass().ifPresent(p -> passedGenerations.add(p.generation()));
            return Behaviors.same();
        }));
        ActorRef<NodeAgent.Command> agent = testKit.spawn(NodeAgent.create("n1", Optional.of("/dev/ram0"), kernel,
                new NodeAgent.Settings(Duration.ofSeconds(30), Duration.ofMillis(50), Duration.ofMillis(400), Duration.ofMillis(400)),
                Optional.of(listener)), DispatcherSelector.blocking());

        for (long generation = 1; generation <= 20; generation++) {
            agent.tell(new NodeAgent.Apply(new DesiredNode("n1", generation, PORTS, lds(1), List.of(), List.of())));
            sleep(Duration.ofMillis(100));
        }
        // 2 s of generations: about five passes 400 ms apart; one (the first) if each generation restarted the spacing.
        assertTrue(passedGenerations.size() >= 3, "passes during the stream, at generations " + passedGenerations);
    }

    /** A node on 127.0.3.1 with one 8 MiB disk, /dev/ram0. */
    private SimulatedKernel kernelWithOneDisk() {
        return new SimulatedKernel("127.0.3.1", new Fabric()).addDisk("/dev/ram0", dir.resolve("d0"), 8L << 20);
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** One linear LD of 1 MiB per index below {@code count}, side by side on the disk. */
    private static List<DmDevice> lds(int count) {
        return IntStream.range(0, count).mapToObj(i -> new DmDevice("dnv-n1-ld-v-0-0-" + i,
                DmTable.of(2048, new DmTarget.Linear(new DeviceRef.Disk("/dev/ram0"), i * 2048L)))).toList();
    }

    /** The first pass the agent reports at {@code generation} or later. */
    /**
     * A pass that changed the kernel is reported at once, showing the kernel as the pass last looked
     * at it, and then again, showing it as it is now: the control plane hears of the generation
     * before the look at the end, and the node's view still tells the truth a look later.
     */
    @Test
    void aPassIsReportedBeforeItsLookAtTheEndAndAgainWithIt() {
        kernel = kernelWithOneDisk();
        TestProbe<NodeAgent.Status> statuses = testKit.createTestProbe();
        ActorRef<NodeAgent.Command> agent = testKit.spawn(NodeAgent.create("n1", Optional.of("/dev/ram0"), kernel,
                new NodeAgent.Settings(Duration.ofSeconds(30), Duration.ofMillis(50), Duration.ofMillis(400)),
                Optional.of(statuses.ref())), DispatcherSelector.blocking());
        DmDevice a = new DmDevice("dnv-n1-ld-a-0-0-0", DmTable.of(2048, new DmTarget.Linear(new DeviceRef.Disk("/dev/ram0"), 0)));
        DmDevice b = new DmDevice("dnv-n1-ld-b-0-0-0", DmTable.of(2048, new DmTarget.Linear(new DeviceRef.Disk("/dev/ram0"), 2048)));
        agent.tell(new NodeAgent.Apply(new DesiredNode("n1", 1, PORTS, List.of(a), List.of(), List.of())));
        statuses.fishForMessage(Duration.ofSeconds(10), st -> st.lastPass().map(p -> p.observed().dm(a.name()).isPresent()).orElse(false)
                ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());

        agent.tell(new NodeAgent.Apply(new DesiredNode("n1", 2, PORTS, List.of(a, b), List.of(), List.of())));
        NodeAgent.Status reached = statuses.fishForMessage(Duration.ofSeconds(10),
                st -> st.reachedGeneration() == 2 ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore()).get(0);
        PassResult pass = reached.lastPass().orElseThrow();
        assertEquals(List.of("dm create " + b.name()), pass.mutations());
        assertTrue(pass.observed().dm(b.name()).isEmpty(), "reported before the look at the end");

        PassResult looked = statuses.receiveMessage(Duration.ofSeconds(10)).lastPass().orElseThrow();
        assertEquals(pass.mutations(), looked.mutations(), "the same pass");
        assertTrue(looked.observed().dm(b.name()).isPresent(), "and then the kernel as it is now");
        statuses.expectNoMessage(Duration.ofMillis(300));
    }

    private static PassResult passedAtLeast(TestProbe<NodeAgent.Status> statuses, long generation) {
        NodeAgent.Status s = statuses.fishForMessage(Duration.ofSeconds(20),
                st -> st.lastPass().filter(p -> p.generation() >= generation).isPresent()
                ? FishingOutcomes.complete()
                : FishingOutcomes.continueAndIgnore()).get(0);
        return s.lastPass().orElseThrow();
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
            sleep(Duration.ofMillis(20));
        }
    }
}
