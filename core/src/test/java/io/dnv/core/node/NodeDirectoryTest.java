package io.dnv.core.node;

import com.typesafe.config.ConfigFactory;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.apache.pekko.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The directory of registered nodes, alone (no sharding), on the in-memory journal. */
class NodeDirectoryTest {

    private final ActorTestKit kit = ActorTestKit.create("NodeDirectoryTest", ConfigFactory.parseString("pekko.actor.provider = local")
            .withFallback(PersistenceTestKitPlugin.getInstance().config())
            .withFallback(PersistenceTestKitSnapshotPlugin.config())
            .withFallback(ConfigFactory.parseResources("dnv.conf"))
            .withFallback(ConfigFactory.load()));

    @AfterEach
    void stop() {
        kit.shutdownTestKit();
    }

    /**
     * A write the journal refused restarts the directory from its journal after a backoff,
     * instead of stopping it: the node whose write failed is not listed (its node asks again),
     * the nodes after it are.
     */
    @Test
    void aFailedWriteRestartsTheDirectoryAndTheNextNodesAreListed() {
        PersistenceTestKit.create(kit.system()).failNextPersisted("NodeDirectory|nodes");
        ActorRef<NodeDirectory.Command> directory = kit.spawn(NodeDirectory.create());
        TestProbe<Done> written = kit.createTestProbe();
        directory.tell(new NodeDirectory.Add("n1", written.ref()));

        TestProbe<NodeDirectory.State> lists = kit.createTestProbe();
        lists.awaitAssert(Duration.ofSeconds(10), () -> {
            directory.tell(new NodeDirectory.Add("n2", written.ref()));
            directory.tell(new NodeDirectory.ListNodes(lists.ref()));
            assertEquals(List.of("n2"), lists.receiveMessage(Duration.ofMillis(500)).nodeIds());
            return null;
        });
    }
}
