package io.dnv.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.dnv.core.node.NodeDirectory;
import io.dnv.core.node.NodeInfo;
import io.dnv.core.failover.FailureDetector;
import io.dnv.core.failover.NodeHealth;
import io.dnv.core.failover.Verdict;
import io.dnv.core.node.StorageNode;
import io.dnv.core.volume.Leg;
import io.dnv.core.volume.SnapshotGroup;
import io.dnv.core.volume.Volume;
import io.dnv.node.agent.NodeAgent;
import io.dnv.node.agent.WitnessWatcher;
import io.dnv.node.kernel.Kernel;
import io.dnv.node.member.AgentMember;
import io.dnv.persistence.Database;
import io.dnv.persistence.PersistenceConfig;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;

/**
 * How a dnv process joins the cluster: a control member hosts the entities (and the journal
 * they need), a storage-node member runs one node's agent. Both reach the entities through
 * sharding; only control members host them.
 */
public final class Members {

    public static final String SYSTEM = "dnv";

    private Members() {}

    /** Management routes on loopback, on a port of the kernel's choosing. */
    static final Config LOOPBACK_MANAGEMENT = ConfigFactory.parseString("host = \"127.0.0.1\"\nport = 0");

    public static ActorSystem<Void> control(String host, int port, List<String> seeds, Database db) {
        return control(host, port, seeds, db, LOOPBACK_MANAGEMENT);
    }

    /** {@code management}: host and port of the management routes (cluster members, shards, readiness). */
    public static ActorSystem<Void> control(String host, int port, List<String> seeds, Database db, Config management) {
        return control(host, port, seeds, db, management, ConfigFactory.empty());
    }

    /** {@code overrides} win over everything else (tests shorten the split-brain resolver's wait). */
    static ActorSystem<Void> control(String host, int port, List<String> seeds, Database db, Config management, Config overrides) {
        Config mgmt = ConfigFactory.parseString("pekko.management.http.hostname = \"" + management.getString("host") + "\"\n"
                + "pekko.management.http.port = " + management.getInt("port"));
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), SYSTEM, overrides.withFallback(
                config(host, port, seeds, List.of("control")).withFallback(mgmt).withFallback(PersistenceConfig.of(db)).withFallback(base())));
        initEntities(system);
        FailureDetector.start(system, failover(system.settings().config()));
        return system;
    }

    /** {@code dnv.failover.suspect-after} and {@code dnv.failover.fail-without-witness}, else {@link Verdict.Settings#DEFAULT}. */
    static Verdict.Settings failover(Config c) {
        Verdict.Settings d = Verdict.Settings.DEFAULT;
        return new Verdict.Settings(
                c.hasPath("dnv.failover.suspect-after") ? c.getDuration("dnv.failover.suspect-after") : d.suspectAfter(),
                c.hasPath("dnv.failover.fail-without-witness") ? c.getDuration("dnv.failover.fail-without-witness") : d.failWithoutWitness());
    }

    /** The sharding proxies start before the member, which talks to its entity at once. */
    public static ActorSystem<Void> storageNode(String host, int port, List<String> seeds, NodeInfo info, Kernel kernel,
                                                NodeAgent.Settings settings) {
        return storageNode(host, port, seeds, info, kernel, settings, ConfigFactory.empty());
    }

    /**
     * {@code overrides} win over everything else. The split-brain resolver decides on whichever
     * member is the cluster's leader, a storage node's as well: a test that shortens its wait
     * shortens it on every member.
     */
    static ActorSystem<Void> storageNode(String host, int port, List<String> seeds, NodeInfo info, Kernel kernel,
                                         NodeAgent.Settings settings, Config overrides) {
        return ActorSystem.create(Behaviors.<Void>setup(ctx -> {
            initEntities(ctx.getSystem());
            Config c = ctx.getSystem().settings().config();
            Duration heartbeat = c.hasPath("dnv.agent.heartbeat-interval") ? c.getDuration("dnv.agent.heartbeat-interval")
                    : AgentMember.HEARTBEAT;
            Duration witnessLook = c.hasPath("dnv.agent.witness-look") ? c.getDuration("dnv.agent.witness-look") : WitnessWatcher.LOOK;
            ctx.spawn(AgentMember.create(info, kernel, settings,
                    ClusterSharding.get(ctx.getSystem()).entityRefFor(StorageNode.ENTITY_TYPE_KEY, info.nodeId()), heartbeat,
                    witnessLook), "member");
            return Behaviors.empty();
        }), SYSTEM, overrides.withFallback(config(host, port, seeds, List.copyOf(info.roles())).withFallback(base())));
    }

    /** On a control member this hosts the entities; elsewhere it starts the sharding proxies. */
    private static void initEntities(ActorSystem<?> system) {
        StorageNode.init(system);
        NodeHealth.init(system);
        NodeDirectory.init(system);
        Leg.init(system);
        Volume.init(system);
        SnapshotGroup.init(system);
    }

    private static Config config(String host, int port, List<String> seeds, List<String> roles) {
        String seedList = seeds.stream().map(s -> "\"" + s + "\"").collect(Collectors.joining(","));
        String roleList = roles.stream().map(r -> "\"" + r + "\"").collect(Collectors.joining(","));
        return ConfigFactory.parseString("pekko.remote.artery.canonical.hostname = \"" + host + "\"\n"
                + "pekko.remote.artery.canonical.port = " + port + "\n"
                + "pekko.cluster.seed-nodes = [" + seedList + "]\n"
                + "pekko.cluster.roles = [" + roleList + "]\n");
    }

    static Config base() {
        return ConfigFactory.parseResources("dnv.conf").withFallback(ConfigFactory.defaultReference());
    }

    public static String address(String host, int port) {
        return "pekko://" + SYSTEM + "@" + host + ":" + port;
    }
}
