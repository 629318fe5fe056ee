package io.dnv.node.agent;

import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A controller name is an instance number the host kernel hands out again once it is free (the
 * lowest first, on Linux as in the simulator): a node whose witness peers change while the
 * cluster forms drops one import and connects the next under the very name it freed. The watcher
 * must read the new import, not keep looking for the old one under that name.
 */
class WitnessWatcherTest {

    private final ActorTestKit testKit = ActorTestKit.create("WitnessWatcherTest");
    private final Fabric fabric = new Fabric();
    private final SimulatedKernel holder = new SimulatedKernel("127.0.4.1", fabric);
    private final SimulatedKernel first = new SimulatedKernel("127.0.4.2", fabric);
    private final SimulatedKernel second = new SimulatedKernel("127.0.4.3", fabric);

    @AfterEach
    void shutdown() {
        testKit.shutdownTestKit();
        holder.shutdown();
        first.shutdown();
        second.shutdown();
    }

    @Test
    void anImportConnectedUnderANameAnotherOneFreedIsRead() {
        TestProbe<WitnessWatcher.Seen> seen = testKit.createTestProbe();
        ActorRef<WitnessWatcher.Command> watcher = testKit.spawn(WitnessWatcher.create(holder, seen.getRef(), Duration.ofMillis(20)));

        String firstName = holder.nvmeConnect(witnessOf(first, "n2"));
        watcher.tell(new WitnessWatcher.Watch(holder.observeHost().controllers()));
        awaitSeen(seen, Names.witnessNqn("n2"));

        holder.nvmeDisconnect(firstName);
        String secondName = holder.nvmeConnect(witnessOf(second, "n3"));
        assertEquals(firstName, secondName, "the host hands the freed instance out again");
        watcher.tell(new WitnessWatcher.Watch(holder.observeHost().controllers()));
        awaitSeen(seen, Names.witnessNqn("n3"));
    }

    /** The target's witness export, made here as the agent would, and the holder's import of it. */
    private NvmeConnection witnessOf(SimulatedKernel target, String nodeId) {
        String nqn = Names.witnessNqn(nodeId);
        target.nvmetPortCreate(NvmetPort.tcp(1, target.name(), 4420));
        target.nvmetSubsystemCreate(nqn, 1, 100, "witness");
        target.nvmetAllowAnyHost(nqn, true);
        target.nvmetLink(1, nqn);
        String hostNqn = Names.hostNqn("n1");
        return new NvmeConnection("tcp", target.name(), 4420, nqn, hostNqn, Names.hostId(hostNqn), new ConnectTimeouts(1, 30, 1, 5));
    }

    /** Until the watcher tells of exactly this witness import, live (it tells only what changed). */
    private static void awaitSeen(TestProbe<WitnessWatcher.Seen> seen, String nqn) {
        seen.fishForMessage(Duration.ofSeconds(5), s -> s.controllers().size() == 1 && s.controllers().get(0).subsystemNqn().equals(nqn)
                && s.controllers().get(0).state().equals("live") ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());
    }

}
