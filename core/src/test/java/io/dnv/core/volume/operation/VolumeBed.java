package io.dnv.core.volume.operation;

import com.typesafe.config.ConfigFactory;
import io.dnv.core.kernel.DmDevice;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeSpec;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/** One Volume entity under Pekko's event-sourced test kit, its peers scripted, its journal in memory. */
final class VolumeBed implements AutoCloseable {

    static final VolumeSpec SPEC = new VolumeSpec(64L << 20, 1, 1, 2, 2);
    static final String HOST_A = "nqn.2024-01.io.test:host-a";
    static final String HOST_B = "nqn.2024-01.io.test:host-b";

    final ActorTestKit kit = ActorTestKit.create(EventSourcedBehaviorTestKit.config()
            .withFallback(ConfigFactory.parseString("pekko.actor.provider = local"))
            .withFallback(ConfigFactory.parseResources("dnv.conf")));
    final ScriptedPeers peers = new ScriptedPeers();
    final TestProbe<ClusterSharding.ShardCommand> shard = kit.createTestProbe();
    final EventSourcedBehaviorTestKit<Volume.Command, Volume.Event, Volume.State> volume;
    final String id;

    VolumeBed(String volumeId) {
        this.id = volumeId;
        // Commands carry private step results (with exceptions) that never leave the entity; the
        // events and the state, which go to the journal, are checked to serialize.
        volume = EventSourcedBehaviorTestKit.create(kit.system(), Volume.create(volumeId, shard.ref(), peers),
                EventSourcedBehaviorTestKit.enabledSerializationSettings().withVerifyCommands(false));
    }

    /** A bed whose volume was created and is READY. */
    static VolumeBed ready(String id) {
        VolumeBed bed = new VolumeBed(id);
        TestProbe<Volume.Result> reply = bed.kit.createTestProbe();
        bed.volume.runCommand(new Volume.Create(bed.id, SPEC, reply.ref()));
        bed.awaitState(st -> st.phase() == Volume.Phase.READY, "READY");
        return bed;
    }

    /** Every SetVolumeObjects sent to {@code node} from the {@code after}th on, in order. */
    List<NodeObjects> objectsSentTo(String node, int after) {
        List<NodeObjects> sent = new ArrayList<>();
        List<ScriptedPeers.Recorded> sets = peers.calls(ScriptedPeers.Call.SET_OBJECTS);
        for (int i = after; i < sets.size(); i++) {
            if (sets.get(i).node().equals(node)) {
                sent.add((NodeObjects) sets.get(i).detail());
            }
        }
        return sent;
    }

    static long size(NodeObjects o, String dmName) {
        return o.dmDevices().stream().filter(d -> d.name().equals(dmName)).map(DmDevice::table).findFirst().orElseThrow().sizeSectors();
    }

    /** Lets held calls go until one is held while the operation is as {@code held} says (the step of a stage). */
    void awaitHeldAt(Predicate<Operation> held, String what) {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (peers.waitingCount() > 0) {
                if (volume.getState().operation().filter(held).isPresent()) {
                    return;
                }
                peers.releaseWaiting();
            }
            sleep(5);
        }
        throw new AssertionError("never held at " + what + "; now " + volume.getState().operation() + ", waiting "
                + peers.waitingCount() + ", journal " + journal());
    }

    Volume.State awaitState(Predicate<Volume.State> done, String what) {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        Volume.State s = volume.getState();
        while (!done.test(s)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not " + what + " within 20 s: " + s);
            }
            sleep(20);
            s = volume.getState();
        }
        return s;
    }

    void awaitCall(ScriptedPeers.Call call, int count) {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (peers.calls(call).size() < count) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no " + count + " calls of " + call + " within 20 s: " + peers.calls);
            }
            sleep(20);
        }
    }

    /** The event types in the journal, in order. */
    List<String> journal() {
        return volume.persistenceTestKit().persistedInStorage(Volume.ENTITY_TYPE_KEY.name() + "|" + id)
                .stream().map(e -> e.getClass().getSimpleName()).toList();
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    @Override
    public void close() {
        kit.shutdownTestKit();
    }
}
