package io.dnv.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.dnv.core.DomainError;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.node.NodeInfo;
import io.dnv.core.node.NodeView;
import io.dnv.core.node.StorageNode;
import io.dnv.core.testing.RunningEntities;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.core.volume.VolumeView;
import io.dnv.node.agent.NodeAgent;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;
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
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three control members on PostgreSQL, six simulated storage nodes. Attached volumes with
 * bytes on them are extended at once, and the control member hosting most of them is stopped
 * abruptly while the extends run: every extend completes on the survivors, the bytes read back,
 * the host writes the new range, nothing is left suspended and every reserved extent is a side
 * of a volume.
 */
class ExtendCrashTest {

    static final int VOLUMES = 6;
    static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:7d2e4f60-1a3b-4c5d-8e9f-0a1b2c3d4e5f";
    static final VolumeSpec FROM = new VolumeSpec(32L << 20, 1, 1, 2, 2);
    static final long TO = 80L << 20;
    static final Config TEST = ControllerCrashTest.TEST;

    @TempDir
    Path dir;

    @Test
    void everyExtendCompletesOnTheSurvivorsWhenAControlMemberDiesMidway() throws Exception {
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
                String id = "e" + i;
                String address = "127.0.6." + i;
                SimulatedKernel kernel = new SimulatedKernel(address, fabric).addDisk("/dev/ram0", dir.resolve(id), 2L << 30);
                kernels.add(kernel);
                NodeInfo info = new NodeInfo(new NodeEndpoints(id, address, Optional.of("/dev/ram0"),
                        Optional.of(NvmetPort.tcp(1, address, 4420)), Optional.of(NvmetPort.tcp(2, address, 4421)),
                        List.of(NvmetPort.tcp(3, address, 4422))), 2L << 30, Set.of("disk", "ctrl"), Map.of(), kernel.capabilities());
                ActorSystem<Void> node = Members.storageNode("127.0.0.1", 0, List.of(), info, kernel, NodeAgent.Settings.DEFAULT, TEST);
                Cluster.get(node).manager().tell(Join.create(seed));
                systems.add(node);
            }
            ClusterSharding sharding = ClusterSharding.get(first);
            awaitNodesUp(sharding);

            String run = UUID.randomUUID().toString().substring(0, 8);
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < VOLUMES; i++) {
                String id = "grow-" + run + "-" + i;
                ids.add(id);
                sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, id).<Volume.Result>ask(r -> new Volume.Create(id, FROM, r),
                        Duration.ofSeconds(30)).toCompletableFuture().get(60, TimeUnit.SECONDS);
            }
            List<byte[]> before = new ArrayList<>();
            for (String id : ids) {
                await(sharding, id, r -> r.volume().isPresent() && r.volume().get().state().equals("READY"), "READY");
                Volume.AttachResult a = sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, id).<Volume.AttachResult>ask(
                        r -> new Volume.Attach(HOST, r), Duration.ofSeconds(60)).toCompletableFuture().get();
                assertTrue(a.connect().isPresent(), a.error().toString());
                byte[] data = new byte[1 << 20];
                new Random(id.hashCode()).nextBytes(data);
                hosts.write(HOST, view(sharding, id), 4L << 20, data).toCompletableFuture().get(30, TimeUnit.SECONDS);
                before.add(data);
            }

            for (String id : ids) {
                Volume.Result r = sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, id).<Volume.Result>ask(rr -> new Volume.Extend(TO, rr),
                        Duration.ofSeconds(30)).toCompletableFuture().get(60, TimeUnit.SECONDS);
                assertTrue(r.volume().isPresent(), r.error().toString());
            }
            // The member hosting the most of the volumes (sharding decides where; it may be the one
            // asking so far), stopped while their extends run; the test asks a survivor from then on.
            ActorSystem<Void> victim = controls.stream()
                    .max(java.util.Comparator.comparingLong(c -> hosted(c, ids))).orElseThrow();
            List<String> running = new ArrayList<>(RunningEntities.ids(victim, Volume.ENTITY_TYPE_KEY));
            running.retainAll(ids);
            boolean midway = false;
            for (String id : running) {
                midway |= view(sharding, id).operation().isPresent();
            }
            victim.terminate();
            victim.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
            sharding = ClusterSharding.get(controls.stream().filter(c -> c != victim).findFirst().orElseThrow());
            assertTrue(midway, "the stopped member hosted extends still running: " + running);

            long usable = VolumeLayout.of(new VolumeSpec(TO, 1, 1, 2, 2)).usableBytes();
            long sideBytes = 0;
            for (int i = 0; i < ids.size(); i++) {
                String id = ids.get(i);
                VolumeView v = await(sharding, id, r -> r.volume().isPresent() && r.volume().get().sizeBytes() == usable
                        && r.volume().get().operation().isEmpty(), "extended").volume().orElseThrow();
                assertEquals(TO, v.spec().sizeBytes());
                byte[] read = hosts.read(HOST, v, 4L << 20, before.get(i).length).toCompletableFuture().get(30, TimeUnit.SECONDS);
                assertArrayEquals(before.get(i), read, id + ": written before, read after");
                byte[] fresh = new byte[1 << 20];
                new Random(i).nextBytes(fresh);
                hosts.write(HOST, v, usable - fresh.length, fresh).toCompletableFuture().get(30, TimeUnit.SECONDS);
                assertArrayEquals(fresh, hosts.read(HOST, v, usable - fresh.length, fresh.length).toCompletableFuture()
                        .get(30, TimeUnit.SECONDS), id + ": the new range");
                for (VolumeView.LegView leg : v.legs()) {
                    assertEquals(2, leg.groups().size(), id + " has a new group in every leg");
                    for (VolumeView.GroupView g : leg.groups()) {
                        for (VolumeView.Side s : g.sides()) {
                            sideBytes += s.lengthSectors() * 512;
                        }
                    }
                }
            }
            assertEquals(sideBytes, FaultyCluster.reservedBytes(sharding, List.of("e1", "e2", "e3", "e4", "e5", "e6")), "every reserved byte is a side of a volume: nothing stranded");
            for (SimulatedKernel k : kernels) {
                for (ObservedKernel.Dm d : k.observe().dmDevices()) {
                    assertTrue(!d.suspended(), k.name() + " left " + d.name() + " suspended");
                }
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

    private static long hosted(ActorSystem<?> member, List<String> ids) {
        return RunningEntities.ids(member, Volume.ENTITY_TYPE_KEY).stream().filter(ids::contains).count();
    }

    private static VolumeView view(ClusterSharding sharding, String id) throws Exception {
        return await(sharding, id, r -> r.volume().isPresent(), "readable").volume().orElseThrow();
    }

    /** Asks the volume until {@code done} holds; asks that fail while the dead member's shards move are asked again. */
    private static Volume.Result await(ClusterSharding sharding, String id, Predicate<Volume.Result> done, String what) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            try {
                Volume.Result r = sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, id).<Volume.Result>ask(Volume.Get::new,
                        Duration.ofSeconds(5)).toCompletableFuture().get();
                if (done.test(r)) {
                    return r;
                }
                last = r.volume().map(v -> v.state() + "/" + v.step() + " " + v.operation() + " " + v.error().orElse(""))
                        .orElse(r.error().map(DomainError::detail).orElse(""));
            } catch (Exception e) {
                last = e.toString();
            }
            Thread.sleep(250);
        }
        throw new AssertionError(id + " not " + what + ": " + last);
    }

    private static void awaitNodesUp(ClusterSharding sharding) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            int up = 0;
            for (int i = 1; i <= 6; i++) {
                try {
                    up += sharding.entityRefFor(StorageNode.ENTITY_TYPE_KEY, "e" + i).<NodeView>ask(StorageNode.GetNode::new,
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
