package io.dnv.http.readside;

import com.typesafe.config.ConfigFactory;
import io.dnv.core.node.NodeDirectory;
import io.dnv.core.node.StorageNode;
import io.dnv.core.volume.Leg;
import io.dnv.core.volume.Volume;
import io.dnv.persistence.Database;
import io.dnv.persistence.PersistenceConfig;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;

import java.util.concurrent.TimeUnit;

/**
 * A one-member cluster with the entities on a database and no storage nodes: a volume created
 * here fails placement at once (CreateFailed) and can be deleted, which is all the read side
 * needs to see events.
 */
public final class ControlMember {

    private ControlMember() {}

    public static ActorSystem<Void> start(Database db, String name) {
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), name, ConfigFactory.parseString("""
                        pekko.remote.artery.canonical.port = 0
                        pekko.cluster.roles = ["control"]
                        pekko.loglevel = WARNING
                        pekko.stdout-loglevel = OFF
                        """)
                .withFallback(ConfigFactory.parseResources("dnv.conf"))
                .withFallback(PersistenceConfig.of(db))
                .withFallback(ConfigFactory.defaultReference()));
        Cluster cluster = Cluster.get(system);
        cluster.manager().tell(Join.create(cluster.selfMember().address()));
        StorageNode.init(system);
        NodeDirectory.init(system);
        Leg.init(system);
        Volume.init(system);
        return system;
    }

    public static void stop(ActorSystem<?> system) throws Exception {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
}
