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
import io.dnv.core.volume.SnapshotGroup;
import io.dnv.core.volume.SnapshotGroupView;
import io.dnv.core.volume.SnapshotView;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeSource;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.core.volume.VolumeView;
import io.dnv.node.agent.NodeAgent;
import io.dnv.node.sim.KernelLatencies;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;
import io.dnv.node.sim.nvme.NvmeHost;
import io.dnv.persistence.Database;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;

import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Control members and six simulated storage nodes in one JVM, each node's kernel behind a
 * {@link FaultyKernel} (so a test refuses or slows what it likes), and simulated hosts on their
 * fabric; volumes and snapshots asked of the entities through sharding, answers awaited.
 */
final class FaultyCluster implements AutoCloseable {

    final List<ActorSystem<Void>> controls = new ArrayList<>();
    final Map<String, SimulatedKernel> kernels = new LinkedHashMap<>();
    final Map<String, FaultyKernel> faulty = new LinkedHashMap<>();
    final SimHosts hosts;
    private final List<ActorSystem<?>> systems = new ArrayList<>();
    private final Database db;
    private final Config management = ConfigFactory.parseString("host = \"127.0.0.1\"\nport = 0");
    private ClusterSharding sharding;
    private ActorSystem<?> asking;

    /** {@code controls} members on {@code db}; node {@code prefix}1..6 on 127.0.{@code net}.1..6. */
    FaultyCluster(int controlMembers, Database db, KernelLatencies latencies, String prefix, int net) throws Exception {
        this.db = db;
        db.migrate();
        Fabric fabric = new Fabric();
        hosts = new SimHosts(fabric);
        var dir = Files.createTempDirectory("dnv-faulty-cluster");
        for (int i = 0; i < controlMembers; i++) {
            ActorSystem<Void> c = Members.control("127.0.0.1", 0, List.of(), db, management, ControllerCrashTest.TEST);
            Cluster.get(c).manager().tell(Join.create(Cluster.get(controls.isEmpty() ? c : controls.get(0)).selfMember().address()));
            controls.add(c);
        }
        systems.addAll(controls);
        var seed = Cluster.get(controls.get(0)).selfMember().address();
        for (int i = 1; i <= 6; i++) {
            String id = prefix + i;
            String address = "127.0." + net + "." + i;
            SimulatedKernel kernel = new SimulatedKernel(address, fabric, latencies, NvmeHost.DEFAULT_IO_TIMEOUT)
                    .addDisk("/dev/ram0", dir.resolve(id), 2L << 30);
            kernels.put(id, kernel);
            faulty.put(id, new FaultyKernel(kernel));
            NodeInfo info = new NodeInfo(new NodeEndpoints(id, address, Optional.of("/dev/ram0"),
                    Optional.of(NvmetPort.tcp(1, address, 4420)), Optional.of(NvmetPort.tcp(2, address, 4421)),
                    List.of(NvmetPort.tcp(3, address, 4422))), 2L << 30, Set.of("disk", "ctrl"), Map.of(), kernel.capabilities());
            ActorSystem<Void> node = Members.storageNode("127.0.0.1", 0, List.of(), info, faulty.get(id).kernel(),
                    NodeAgent.Settings.DEFAULT, ControllerCrashTest.TEST);
            Cluster.get(node).manager().tell(Join.create(seed));
            systems.add(node);
        }
        askThrough(controls.get(0));
        awaitNodesUp();
    }

    /**
     * Stops {@code member} abruptly (it neither leaves nor shuts down: the survivors' resolver
     * downs it), asks through a survivor from then on, and starts a fresh control member in its
     * place, so a test can stop one member after another.
     */
    void replace(ActorSystem<Void> member) throws Exception {
        member.terminate();
        member.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        // By identity: a typed ActorSystem is an ActorRef, equal to every other system of the same name in this JVM.
        if (!controls.removeIf(c -> c == member)) {
            throw new IllegalArgumentException(member + " is no control member of this cluster");
        }
        if (live().isEmpty()) {
            throw new IllegalStateException("no control member left: " + controls.stream()
                    .map(c -> Cluster.get(c).selfMember() + " terminated=" + c.getWhenTerminated().toCompletableFuture().isDone()).toList());
        }
        ActorSystem<Void> survivor = live().get(0);
        askThrough(survivor);
        System.out.println("stopped control member " + Cluster.get(member).selfMember().address() + "; asking through "
                + Cluster.get(survivor).selfMember().address());
        ActorSystem<Void> fresh = Members.control("127.0.0.1", 0, List.of(), db, management, ControllerCrashTest.TEST);
        Cluster.get(fresh).manager().tell(Join.create(Cluster.get(survivor).selfMember().address()));
        controls.add(fresh);
        systems.add(fresh);
    }

    /**
     * The control members still running: on a machine busy enough to hold up heartbeats for
     * seconds, the survivors' resolver may down a member the test did not stop.
     */
    List<ActorSystem<Void>> live() {
        return controls.stream().filter(c -> {
            MemberStatus status = Cluster.get(c).selfMember().status();
            return status == MemberStatus.up() || status == MemberStatus.joining() || status == MemberStatus.weaklyUp();
        }).toList();
    }

    /** From now on ask through {@code member} (the one asked before was stopped). */
    void askThrough(ActorSystem<?> member) {
        asking = member;
        sharding = ClusterSharding.get(member);
    }

    /** The member asked through was downed: ask through one still running. */
    private void askThroughLive() {
        if (live().stream().noneMatch(c -> c == asking) && !live().isEmpty()) {
            System.out.println("control member " + Cluster.get(asking).selfMember().address() + " is gone: asking through another");
            askThrough(live().get(0));
        }
    }

    ClusterSharding sharding() {
        return sharding;
    }

    void create(String id, VolumeSpec spec) throws Exception {
        sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, id).<Volume.Result>ask(r -> new Volume.Create(id, spec, r),
                Duration.ofSeconds(30)).toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    /** Once READY, attached to {@code host}: the volume as it is then. */
    VolumeView attached(String id, String host) throws Exception {
        await(id, r -> r.volume().isPresent() && r.volume().get().state().equals("READY"), "READY");
        Volume.AttachResult a = sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, id).<Volume.AttachResult>ask(
                r -> new Volume.Attach(host, r), Duration.ofSeconds(60)).toCompletableFuture().get();
        if (a.connect().isEmpty()) {
            throw new AssertionError("attach " + id + ": " + a.error());
        }
        return view(id);
    }

    /** Asks for a clone of volume {@code source} of the source's shape; the answer once the create is recorded. */
    Volume.Result clone(String id, String source, VolumeSpec spec) throws Exception {
        return sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, id).<Volume.Result>ask(r -> new Volume.Create(id, spec,
                Optional.of(VolumeSource.ofVolume(source)), r), Duration.ofSeconds(30)).toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    /** The bytes every storage node has reserved, summed. */
    long reservedBytes() throws Exception {
        return reservedBytes(sharding, kernels.keySet());
    }

    /** The bytes these storage nodes have reserved, summed; each asked until it answers, for as long as a crash may take. */
    static long reservedBytes(ClusterSharding sharding, java.util.Collection<String> nodeIds) throws Exception {
        long reserved = 0;
        for (String id : nodeIds) {
            long deadline = System.nanoTime() + ControllerCrashTest.AFTER_A_CRASH.toNanos();
            while (true) {
                try {
                    reserved += sharding.entityRefFor(StorageNode.ENTITY_TYPE_KEY, id).<NodeView>ask(StorageNode.GetNode::new,
                            Duration.ofSeconds(5)).toCompletableFuture().get().capacity().reservedBytes();
                    break;
                } catch (java.util.concurrent.ExecutionException e) {
                    if (System.nanoTime() > deadline) {
                        throw new AssertionError("storage node " + id + " did not answer", e);
                    }
                }
            }
        }
        return reserved;
    }

    Volume.SnapshotResult takeSnapshot(String volumeId, String name) throws Exception {
        return sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, volumeId).<Volume.SnapshotResult>ask(
                r -> new Volume.TakeSnapshot(name, r), Duration.ofSeconds(30)).toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    /** Takes a snapshot; answers it once READY or FAILED and the volume runs no operation. */
    SnapshotView snapshot(String volumeId, String name) throws Exception {
        Volume.SnapshotResult r = takeSnapshot(volumeId, name);
        String id = r.snapshot().orElseThrow(() -> new AssertionError(r.error().toString())).id();
        SnapshotView s = awaitSnapshot(id, x -> !x.state().equals("CREATING"));
        await(volumeId, x -> x.volume().isPresent() && x.volume().get().operation().isEmpty(), "done");
        return s;
    }

    List<SnapshotView> snapshots(String volumeId) throws Exception {
        return sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, volumeId).<Volume.SnapshotList>ask(Volume.ListSnapshots::new,
                Duration.ofSeconds(10)).toCompletableFuture().get().snapshots();
    }

    SnapshotView awaitSnapshot(String snapshotId, Predicate<SnapshotView> done) throws Exception {
        String volumeId = snapshotId.substring(0, snapshotId.indexOf('.'));
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            try {
                Volume.SnapshotResult r = sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, volumeId).<Volume.SnapshotResult>ask(
                        rr -> new Volume.GetSnapshot(snapshotId, rr), Duration.ofSeconds(5)).toCompletableFuture().get();
                if (r.snapshot().isPresent() && done.test(r.snapshot().get())) {
                    return r.snapshot().get();
                }
                last = r.toString();
            } catch (Exception e) {
                last = e.toString();
                askThroughLive();
            }
            Thread.sleep(50);
        }
        throw new AssertionError(snapshotId + " not done: " + last);
    }

    /** Asks for snapshot group {@code name} of {@code volumeIds}: the answer comes once every member joined. */
    SnapshotGroup.Result createGroup(String name, List<String> volumeIds) throws Exception {
        return sharding.entityRefFor(SnapshotGroup.ENTITY_TYPE_KEY, name).<SnapshotGroup.Result>ask(
                r -> new SnapshotGroup.Create(name, volumeIds, r), Duration.ofSeconds(30)).toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    /** Asks the group until {@code done} holds; asks that fail while a dead member's shards move are asked again. */
    SnapshotGroup.Result awaitGroup(String name, Predicate<SnapshotGroup.Result> done) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            try {
                SnapshotGroup.Result r = sharding.entityRefFor(SnapshotGroup.ENTITY_TYPE_KEY, name).<SnapshotGroup.Result>ask(
                        SnapshotGroup.Get::new, Duration.ofSeconds(5)).toCompletableFuture().get();
                if (done.test(r)) {
                    return r;
                }
                last = r.toString();
            } catch (Exception e) {
                last = e.toString();
                askThroughLive();
            }
            Thread.sleep(50);
        }
        throw new AssertionError("snapshot group " + name + " not done: " + last);
    }

    /** Takes a snapshot group; answers it once READY or FAILED. */
    SnapshotGroupView group(String name, List<String> volumeIds) throws Exception {
        SnapshotGroup.Result r = createGroup(name, volumeIds);
        if (r.group().isEmpty()) {
            throw new AssertionError("group " + name + " refused: " + r.error());
        }
        return awaitGroup(name, x -> x.group().map(g -> g.state().equals("READY") || g.state().equals("FAILED")).orElse(false))
                .group().orElseThrow();
    }

    VolumeView view(String id) throws Exception {
        return await(id, r -> r.volume().isPresent(), "readable").volume().orElseThrow();
    }

    /** Asks the volume until {@code done} holds; asks that fail while a dead member's shards move are asked again. */
    Volume.Result await(String id, Predicate<Volume.Result> done, String what) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            try {
                Volume.Result r = sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, id).<Volume.Result>ask(Volume.Get::new,
                        Duration.ofSeconds(5)).toCompletableFuture().get();
                if (done.test(r)) {
                    return r;
                }
                last = r.volume().map(v -> v.state() + " " + v.operation()).orElse(r.error().map(DomainError::detail).orElse(""));
            } catch (Exception e) {
                last = e.toString();
                askThroughLive();
            }
            Thread.sleep(100);
        }
        throw new AssertionError(id + " not " + what + ": " + last);
    }

    /** Waits up to 10 s until no kernel has a device suspended. */
    void awaitNothingSuspended() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        List<String> suspended;
        do {
            suspended = new ArrayList<>();
            for (SimulatedKernel k : kernels.values()) {
                for (ObservedKernel.Dm d : k.observe().dmDevices()) {
                    if (d.suspended()) {
                        suspended.add(k.name() + " " + d.name());
                    }
                }
            }
            if (suspended.isEmpty()) {
                return;
            }
            Thread.sleep(100);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("left suspended: " + suspended);
    }

    private void awaitNodesUp() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            int up = 0;
            for (String id : kernels.keySet()) {
                try {
                    up += sharding.entityRefFor(StorageNode.ENTITY_TYPE_KEY, id).<NodeView>ask(StorageNode.GetNode::new,
                            Duration.ofSeconds(3)).toCompletableFuture().get().up() ? 1 : 0;
                } catch (Exception notYet) {
                    // sharding still starting
                }
            }
            if (up == kernels.size()) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("storage nodes did not come up");
    }

    @Override
    public void close() throws Exception {
        hosts.close();
        for (ActorSystem<?> s : systems) {
            s.terminate();
        }
        for (ActorSystem<?> s : systems) {
            s.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
        kernels.values().forEach(SimulatedKernel::shutdown);
    }
}
