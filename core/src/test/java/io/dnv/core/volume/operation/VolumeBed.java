package io.dnv.core.volume.operation;

import com.typesafe.config.ConfigFactory;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeSpec;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;

import java.time.Duration;
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
