package io.dnv.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.dnv.core.DomainError;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.node.NodeInfo;
import io.dnv.core.node.NodeView;
import io.dnv.core.node.StorageNode;
import io.dnv.core.testing.RunningEntities;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.core.volume.VolumeView;
import io.dnv.node.agent.NodeAgent;
import io.dnv.node.sim.KernelLatencies;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;
import io.dnv.node.sim.nvme.NvmeHost;
import io.dnv.persistence.Database;
import io.dnv.persistence.testing.ThrowawayPostgres;
import org.apache.pekko.actor.typed.ActorSystem;
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
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three control members on PostgreSQL, six simulated storage nodes. The node of an attached
 * volume's active crashes; while its failover waits for the disk nodes to fence it (FENCE_WAIT:
 * their kernels take 3 s here to unlink a subsystem from a port, which drops its connections),
 * the control member running the volume is stopped abruptly. The failover goes on where it was
 * on a surviving member: the standby serves, a new standby is placed, the host's write held
 * through all of it lands, and every byte acknowledged before reads back.
 */
class FailoverMemberCrashTest {

    static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:0d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a";
    static final VolumeSpec SPEC = new VolumeSpec(32L << 20, 1, 1, 2, 2);
    static final Config TEST = ControllerCrashTest.TEST;
    /** Fencing drops a failed node's connections by unlinking its subsystems from their ports: slow here, to catch it. */
    static final KernelLatencies SLOW_UNLINK = KernelLatencies.NONE.with(KernelLatencies.Op.PORT_UNLINK, Duration.ofSeconds(3));

    @TempDir
    Path dir;

    @Test
    void aControlMemberStoppedWhileTheFailoverFencesTheFailoverEndsOnAnother() throws Exception {
        Database db = ThrowawayPostgres.ownDatabase();
        db.migrate();
        Config management = ConfigFactory.parseString("host = \"127.0.0.1\"\nport = 0");
        List<ActorSystem<?>> systems = new ArrayList<>();
        List<SimulatedKernel> kernels = new ArrayList<>();
        List<ActorSystem<Void>> nodes = new ArrayList<>();
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
                String id = "m" + i;
                String address = "127.0.7." + i;
                SimulatedKernel kernel = new SimulatedKernel(address, fabric, SLOW_UNLINK, NvmeHost.DEFAULT_IO_TIMEOUT)
                        .addDisk("/dev/ram0", dir.resolve(id), 1L << 30);
                kernels.add(kernel);
                NodeInfo info = new NodeInfo(new NodeEndpoints(id, address, Optional.of("/dev/ram0"),
                        Optional.of(NvmetPort.tcp(1, address, 4420)), Optional.of(NvmetPort.tcp(2, address, 4421)),
                        List.of(NvmetPort.tcp(3, address, 4422))), 1L << 30, Set.of("disk", "ctrl"), Map.of(), kernel.capabilities());
                ActorSystem<Void> node = Members.storageNode("127.0.0.1", 0, List.of(), info, kernel, NodeAgent.Settings.DEFAULT, TEST);
                Cluster.get(node).manager().tell(Join.create(seed));
                systems.add(node);
                nodes.add(node);
            }
            ClusterSharding sharding = ClusterSharding.get(first);
            awaitNodesUp(sharding);

            String id = "fomc-" + UUID.randomUUID().toString().substring(0, 8);
            sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, id).<Volume.Result>ask(r -> new Volume.Create(id, SPEC, r),
                    Duration.ofSeconds(30)).toCompletableFuture().get(60, TimeUnit.SECONDS);
            await(sharding, id, v -> v.state().equals("READY"), "READY");
            Volume.AttachResult attached = sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, id).<Volume.AttachResult>ask(
                    r -> new Volume.Attach(HOST, r), Duration.ofSeconds(60)).toCompletableFuture().get();
            assertTrue(attached.connect().isPresent(), attached.error().toString());
            VolumeView ready = await(sharding, id, v -> v.operation().isEmpty(), "attached");
            byte[] before = new byte[1 << 20];
            new Random(1).nextBytes(before);
            hosts.write(HOST, ready, 0, before).toCompletableFuture().get(30, TimeUnit.SECONDS);
            String active = role(ready, "ACTIVE");
            String standby = role(ready, "STANDBY");

            // The active's machine dies: its kernel goes silent, its agent with it.
            int index = Integer.parseInt(active.substring(1)) - 1;
            kernels.get(index).powerOff();
            nodes.get(index).terminate();
            byte[] held = new byte[1 << 20];
            new Random(2).nextBytes(held);
            CompletableFuture<Void> write = hosts.write(HOST, ready, 4L << 20, held).toCompletableFuture();

            await(sharding, id, v -> v.operation().filter(op -> op.kind().equals("failover")
                    && op.stage().equals("fence_wait")).isPresent(), "fencing");
            ActorSystem<Void> victim = controls.stream().filter(c -> RunningEntities.ids(c, Volume.ENTITY_TYPE_KEY).contains(id))
                    .findFirst().orElseThrow(() -> new AssertionError("no member runs " + id));
            assertEquals("fence_wait", view(sharding, id).operation().orElseThrow().stage(), "still fencing when its member stops");
            victim.terminate();
            victim.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
            ClusterSharding survivor = ClusterSharding.get(controls.stream().filter(c -> c != victim).findFirst().orElseThrow());

            VolumeView done = await(survivor, id, v -> v.operation().isEmpty() && v.lastFailover().isPresent(), "failed over");
            assertEquals(standby, role(done, "ACTIVE"));
            String fresh = role(done, "STANDBY");
            assertNotEquals(active, fresh);
            assertNotEquals(standby, fresh);
            VolumeView.FailoverView f = done.lastFailover().orElseThrow();
            assertEquals(active, f.failedNode());
            assertEquals(List.of("fence", "fence_wait", "promote", "promote_apply", "promote_wait", "standby_choose", "standby_reserve",
                    "standby_apply", "standby_wait"), f.stages().stream().map(VolumeView.StageTiming::stage).toList(),
                    "resumed where it was, each stage once: " + f);
            System.out.printf("TIME failover with its control member stopped at fence_wait: %d ms, fence_wait %d ms%n", f.millis(),
                    f.stages().get(1).millis());

            write.get(120, TimeUnit.SECONDS);
            assertArrayEquals(before, hosts.read(HOST, done, 0, before.length).toCompletableFuture().get(30, TimeUnit.SECONDS));
            assertArrayEquals(held, hosts.read(HOST, done, 4L << 20, held.length).toCompletableFuture().get(30, TimeUnit.SECONDS));
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

    private static String role(VolumeView v, String role) {
        return v.controllers().stream().filter(c -> c.role().equals(role)).map(VolumeView.Controller::node).findFirst()
                .orElseThrow(() -> new AssertionError("no " + role + ": " + v));
    }

    private static VolumeView view(ClusterSharding sharding, String id) throws Exception {
        return await(sharding, id, v -> true, "readable");
    }

    /** Asks the volume until {@code done} holds; asks that fail while a dead member's shards move are asked again. */
    private static VolumeView await(ClusterSharding sharding, String id, Predicate<VolumeView> done, String what) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            try {
                Volume.Result r = sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, id).<Volume.Result>ask(Volume.Get::new,
                        Duration.ofSeconds(5)).toCompletableFuture().get();
                if (r.volume().isPresent() && done.test(r.volume().get())) {
                    return r.volume().get();
                }
                last = r.volume().map(v -> v.state() + " " + v.operation() + " " + v.lastFailover()).orElse(r.error()
                        .map(DomainError::detail).orElse(""));
            } catch (Exception e) {
                last = e.toString();
            }
            Thread.sleep(50);
        }
        throw new AssertionError(id + " not " + what + ": " + last);
    }

    private static void awaitNodesUp(ClusterSharding sharding) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            int up = 0;
            for (int i = 1; i <= 6; i++) {
                try {
                    up += sharding.entityRefFor(StorageNode.ENTITY_TYPE_KEY, "m" + i).<NodeView>ask(StorageNode.GetNode::new,
                            Duration.ofSeconds(3)).toCompletableFuture().get().up() ? 1 : 0;
                } catch (Exception notYet) {
                    // sharding still starting
                }
            }
            if (up == 6) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("storage nodes did not come up");
    }
}
