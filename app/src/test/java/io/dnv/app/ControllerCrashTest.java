package io.dnv.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.node.NodeInfo;
import io.dnv.core.node.NodeView;
import io.dnv.core.node.StorageNode;
import io.dnv.core.DomainError;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.core.volume.VolumeView;
import io.dnv.node.agent.NodeAgent;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;
import io.dnv.persistence.Database;
import io.dnv.persistence.testing.ThrowawayPostgres;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.ShardRegion.ClusterShardingStats;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery;
import org.apache.pekko.cluster.sharding.typed.GetClusterShardingStats;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three control members on PostgreSQL and six simulated storage nodes, each its own actor
 * system with real sockets. 20 volumes are created at once; a control member is stopped
 * abruptly (no leaving, no coordinated shutdown) while they are being created. Every create
 * completes on the survivors, no extent is reserved twice or leaked. The lost member rejoins as
 * a new incarnation; another dies while deletes and attaches are in flight: the deletes finish
 * and release exactly what they held, and every remaining volume is attached and serves bytes.
 */
class ControllerCrashTest {

    static final int VOLUMES = 20;
    /**
     * A node's entity may have lived on the member that died: it answers once the survivors
     * noticed (heartbeats), the resolver downed the member (stable-after) and the shard started
     * elsewhere and recovered. Right after a crash that took longer than 10 s in CI.
     */
    static final Duration AFTER_A_CRASH = Duration.ofSeconds(60);
    static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:3c9d1e2f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
    /** Abrupt: the victim neither leaves nor runs its shutdown; the survivors' resolver downs it. */
    static final Config TEST = ConfigFactory.parseString("""
            pekko.cluster.split-brain-resolver.stable-after = 3s
            pekko.cluster.split-brain-resolver.down-all-when-unstable = off
            pekko.coordinated-shutdown.run-by-actor-system-terminate = off
            pekko.cluster.run-coordinated-shutdown-when-down = off
            """);

    @TempDir
    Path dir;

    @Test
    void everyCreateCompletesOnTheSurvivorsWhenAControllerDiesMidway() throws Exception {
        Database db = ThrowawayPostgres.ownDatabase();
        db.migrate();
        Config management = ConfigFactory.parseString("host = \"127.0.0.1\"\nport = 0");
        List<ActorSystem<?>> systems = new ArrayList<>();
        List<SimulatedKernel> kernels = new ArrayList<>();
        Fabric fabric = new Fabric();
        SimHosts hosts = new SimHosts(fabric);
        try {
            ActorSystem<Void> first = Members.control("127.0.0.1", 0, List.of(), db, management, TEST);
            systems.add(first);
            var seed = Cluster.get(first).selfMember().address();
            Cluster.get(first).manager().tell(Join.create(seed));
            List<ActorSystem<Void>> controls = new ArrayList<>(List.of(first));
            for (int i = 0; i < 2; i++) {
                ActorSystem<Void> c = Members.control("127.0.0.1", 0, List.of(), db, management, TEST);
                Cluster.get(c).manager().tell(Join.create(seed));
                controls.add(c);
                systems.add(c);
            }
            for (int i = 1; i <= 6; i++) {
                String id = "c" + i;
                String address = "127.0.5." + i;
                SimulatedKernel kernel = new SimulatedKernel(address, fabric)
                        .addDisk("/dev/ram0", dir.resolve(id), 4L << 30);
                kernels.add(kernel);
                NodeInfo info = new NodeInfo(new NodeEndpoints(id, address, Optional.of("/dev/ram0"),
                        Optional.of(NvmetPort.tcp(1, address, 4420)), Optional.of(NvmetPort.tcp(2, address, 4421)),
                        List.of(NvmetPort.tcp(3, address, 4422))), 4L << 30, Set.of("disk", "ctrl"), Map.of(), kernel.capabilities());
                ActorSystem<Void> node = Members.storageNode("127.0.0.1", 0, List.of(), info, kernel, NodeAgent.Settings.DEFAULT, TEST);
                Cluster.get(node).manager().tell(Join.create(seed));
                systems.add(node);
            }
            ClusterSharding sharding = ClusterSharding.get(first);
            awaitNodesUp(sharding, 6);

            String run = UUID.randomUUID().toString().substring(0, 8);
            List<String> ids = new ArrayList<>();
            List<CompletableFuture<Volume.Result>> creates = new ArrayList<>();
            for (int i = 0; i < VOLUMES; i++) {
                String id = "crash-" + run + "-" + i;
                ids.add(id);
                creates.add(sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, id).<Volume.Result>ask(
                        r -> new Volume.Create(id, new VolumeSpec(32L << 20, 1, 1, 2, 2), r), Duration.ofSeconds(30)).toCompletableFuture());
            }
            CompletableFuture.allOf(creates.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
            ActorSystem<Void> victim = controls.get(2);
            victim.terminate();
            victim.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);

            List<VolumeView> ready = new ArrayList<>();
            for (String id : ids) {
                ready.add(awaitReady(sharding, id, Duration.ofSeconds(180)));
            }
            Map<String, String> owners = new java.util.HashMap<>();
            long sideBytes = 0;
            for (VolumeView v : ready) {
                for (VolumeView.LegView leg : v.legs()) {
                    for (VolumeView.GroupView g : leg.groups()) {
                        for (VolumeView.Side s : g.sides()) {
                            String other = owners.put(s.node() + ":" + s.startSector(), v.id() + "/leg" + leg.index());
                            assertTrue(other == null, "extent " + s + " reserved twice: " + other + " and " + v.id() + "/leg"
                                    + leg.index());
                            sideBytes += s.lengthSectors() * 512;
                        }
                    }
                }
            }
            assertEquals(sideBytes, reservedBytes(first, 6), "every reserved byte belongs to exactly one volume side: nothing leaked");

            // The lost member comes back as a new incarnation and takes its share again; then another
            // member dies while deletes and attaches are in flight.
            ActorSystem<Void> back = Members.control("127.0.0.1", 0, List.of(), db, management, TEST);
            Cluster.get(back).manager().tell(Join.create(seed));
            systems.add(back);
            awaitControlMembers(first, 3);
            List<VolumeView> deleted = ready.subList(0, 5);
            List<VolumeView> kept = ready.subList(5, ready.size());
            List<CompletableFuture<?>> inFlight = new ArrayList<>();
            for (VolumeView v : deleted) {
                inFlight.add(sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, v.id()).<Volume.Result>ask(Volume.Delete::new,
                        Duration.ofSeconds(30)).toCompletableFuture());
            }
            for (VolumeView v : kept.subList(0, 5)) {
                inFlight.add(sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, v.id()).<Volume.AttachResult>ask(
                        r -> new Volume.Attach(HOST, r), Duration.ofSeconds(5)).toCompletableFuture().exceptionally(t -> null));
            }
            ActorSystem<Void> second = controls.get(1);
            second.terminate();
            second.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
            for (VolumeView v : deleted) {
                awaitGone(sharding, v.id(), Duration.ofSeconds(180));
            }
            long keptBytes = 0;
            for (VolumeView v : kept) {
                for (VolumeView.LegView leg : v.legs()) {
                    for (VolumeView.GroupView g : leg.groups()) {
                        for (VolumeView.Side x : g.sides()) {
                            keptBytes += x.lengthSectors() * 512;
                        }
                    }
                }
            }
            // Each disk node frees a deleted volume's extents once its agent confirmed them gone.
            long afterDeletes = reservedBytes(first, 6);
            for (long until = System.nanoTime() + Duration.ofSeconds(30).toNanos(); afterDeletes != keptBytes && System.nanoTime() < until; ) {
                Thread.sleep(200);
                afterDeletes = reservedBytes(first, 6);
            }
            assertEquals(keptBytes, afterDeletes, "deleted volumes released exactly what they held");
            ready = kept;

            for (VolumeView v : ready) {
                Volume.AttachResult a = sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, v.id()).<Volume.AttachResult>ask(
                        r -> new Volume.Attach(HOST, r), Duration.ofSeconds(60)).toCompletableFuture().get();
                assertTrue(a.connect().isPresent(), a.error().toString());
                VolumeView attached = sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, v.id()).<Volume.Result>ask(Volume.Get::new,
                        Duration.ofSeconds(10)).toCompletableFuture().get().volume().orElseThrow();
                byte[] data = new byte[64 << 10];
                new Random(v.id().hashCode()).nextBytes(data);
                hosts.write(HOST, attached, 1 << 20, data).toCompletableFuture().get(30, TimeUnit.SECONDS);
                assertArrayEquals(data, hosts.read(HOST, attached, 1 << 20, data.length).toCompletableFuture().get(30, TimeUnit.SECONDS));
            }
        } finally {
            hosts.close();
            for (ActorSystem<?> s : systems) {
                s.terminate();
            }
            for (ActorSystem<?> s : systems) {
                s.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
            }
            kernels.forEach(SimulatedKernel::shutdown);
        }
    }

    /**
     * What the storage nodes have reserved, all told. Sharding delivers at most once: a message
     * buffered for a shard while its coordinator moves after a crash can be dropped (the log
     * said so), and a single ask then waits out its whole minute. So each node is asked again
     * every few seconds, as the test's other waits do, within the same minute; if one still does
     * not answer, the failure says where sharding placed the nodes and which members it saw.
     */
    private static long reservedBytes(ActorSystem<?> system, int nodes) throws Exception {
        long reserved = 0;
        for (int i = 1; i <= nodes; i++) {
            long deadline = System.nanoTime() + AFTER_A_CRASH.toNanos();
            while (true) {
                try {
                    reserved += ClusterSharding.get(system).entityRefFor(StorageNode.ENTITY_TYPE_KEY, "c" + i).<NodeView>ask(
                            StorageNode.GetNode::new, Duration.ofSeconds(5)).toCompletableFuture().get().capacity().reservedBytes();
                    break;
                } catch (java.util.concurrent.ExecutionException e) {
                    if (System.nanoTime() > deadline) {
                        throw new AssertionError("storage node c" + i + " did not answer within " + AFTER_A_CRASH.toSeconds()
                                + " s: " + e.getCause() + "; members: " + Cluster.get(system).state().getMembers() + "; unreachable: "
                                + Cluster.get(system).state().getUnreachable() + "; StorageNode shards: " + shardingStats(system), e);
                    }
                }
            }
        }
        return reserved;
    }

    private static String shardingStats(ActorSystem<?> system) {
        try {
            return org.apache.pekko.actor.typed.javadsl.AskPattern.<ClusterShardingQuery, ClusterShardingStats>ask(
                    ClusterSharding.get(system).shardState(),
                    r -> new GetClusterShardingStats(StorageNode.ENTITY_TYPE_KEY, Duration.ofSeconds(5), r),
                    Duration.ofSeconds(10), system.scheduler()).toCompletableFuture().get().getRegions().toString();
        } catch (Exception e) {
            return "(not answered: " + e + ")";
        }
    }

    private static void awaitNodesUp(ClusterSharding sharding, int n) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            int up = 0;
            for (int i = 1; i <= n; i++) {
                try {
                    NodeView v = sharding.entityRefFor(StorageNode.ENTITY_TYPE_KEY, "c" + i).<NodeView>ask(StorageNode.GetNode::new,
                            Duration.ofSeconds(3)).toCompletableFuture().get();
                    up += v.up() ? 1 : 0;
                } catch (Exception notYet) {
                    // sharding still starting
                }
            }
            if (up == n) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("storage nodes did not come up");
    }

    private static void awaitControlMembers(ActorSystem<?> system, int n) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            long up = java.util.stream.StreamSupport.stream(Cluster.get(system).state().getMembers().spliterator(), false)
                    .filter(m -> m.hasRole("control") && m.status() == org.apache.pekko.cluster.MemberStatus.up()).count();
            if (up == n) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the control member did not rejoin");
    }

    private static void awaitGone(ClusterSharding sharding, String id, Duration wait) throws Exception {
        awaitVolume(sharding, id, wait, r -> r.error().orElse(null) instanceof DomainError.NotFound, "deleted");
    }

    private static VolumeView awaitReady(ClusterSharding sharding, String id, Duration wait) throws Exception {
        return awaitVolume(sharding, id, wait, r -> r.volume().isPresent() && r.volume().get().state().equals("READY"), "READY")
                .volume().orElseThrow();
    }

    /** Asks the volume until {@code done} holds (a member may be down meanwhile: failed asks are retried). */
    private static Volume.Result awaitVolume(ClusterSharding sharding, String id, Duration wait,
                                             java.util.function.Predicate<Volume.Result> done, String what) throws Exception {
        long deadline = System.nanoTime() + wait.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            try {
                Volume.Result r = sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, id).<Volume.Result>ask(Volume.Get::new,
                        Duration.ofSeconds(5)).toCompletableFuture().get();
                if (done.test(r)) {
                    return r;
                }
                last = r.volume().map(v -> v.state() + "/" + v.step() + " " + v.error().orElse("")).orElse(r.error().map(DomainError::detail).orElse(""));
            } catch (Exception e) {
                last = e.toString();
            }
            Thread.sleep(250);
        }
        throw new AssertionError(id + " not " + what + " after " + wait.toSeconds() + " s: " + last);
    }
}
