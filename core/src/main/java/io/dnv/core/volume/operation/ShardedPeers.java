package io.dnv.core.volume.operation;

import io.dnv.core.failover.NodeHealth;
import io.dnv.core.node.NodeDirectory;
import io.dnv.core.node.NodeView;
import io.dnv.core.node.StorageNode;
import io.dnv.core.node.ToAgent;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.volume.Leg;
import io.dnv.core.volume.Volume;
import org.apache.pekko.Done;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;

/** {@link Peers} through cluster sharding: every call one ask of one entity, bounded by {@link #ASK}. */
public final class ShardedPeers implements Peers {

    static final Duration ASK = Duration.ofSeconds(10);
    static final Duration HEALTH_ASK = Duration.ofSeconds(2);

    private final ClusterSharding sharding;
    private final Duration holdBound;

    public ShardedPeers(ClusterSharding sharding) {
        this(sharding, IoHolds.BOUND);
    }

    /** {@code holdBound}: config {@code dnv.snapshot.hold-bound} ({@link #holdBound(com.typesafe.config.Config)}). */
    public ShardedPeers(ClusterSharding sharding, Duration holdBound) {
        this.sharding = sharding;
        this.holdBound = holdBound;
    }

    /**
     * {@code dnv.snapshot.hold-bound}, else {@link IoHolds#BOUND}: longer only where the kernels
     * are far slower than a server's (the real-kernel bed's TCG guests take seconds per command).
     */
    public static Duration holdBound(com.typesafe.config.Config config) {
        return config.hasPath("dnv.snapshot.hold-bound") ? config.getDuration("dnv.snapshot.hold-bound") : IoHolds.BOUND;
    }

    @Override
    public Duration holdBound() {
        return holdBound;
    }

    @Override
    public CompletionStage<List<NodeView>> nodes() {
        return NodeDirectory.ref(sharding).ask(NodeDirectory.ListNodes::new, ASK)
                .thenCompose(dir -> Stages.all(dir.nodeIds().stream()
                        .map(id -> node(id).<NodeView>ask(StorageNode.GetNode::new, ASK)).toList()));
    }

    @Override
    public CompletionStage<Leg.Placed> placeLeg(String volumeId, int leg, int group, List<String> sideNodes, long ldSectors) {
        return leg(volumeId, leg).ask(r -> new Leg.Place(group, sideNodes, ldSectors, r), ASK);
    }

    @Override
    public CompletionStage<Done> releaseGroup(String volumeId, int leg, int group) {
        return leg(volumeId, leg).ask(r -> new Leg.ReleaseGroup(group, r), ASK);
    }

    @Override
    public CompletionStage<Done> releaseLeg(String volumeId, int leg) {
        return leg(volumeId, leg).ask(Leg.Release::new, ASK);
    }

    @Override
    public CompletionStage<StorageNode.AnaGroupReply> allocateAnaGroup(String node, String volumeId, int portId, String domain) {
        return node(node).ask(r -> new StorageNode.AllocateAnaGroup(volumeId, portId, domain, r), ASK);
    }

    @Override
    public CompletionStage<StorageNode.AnaGroupReply> moveAnaGroup(String node, String volumeId, int portId, String domain) {
        return node(node).ask(r -> new StorageNode.MoveAnaGroup(volumeId, portId, domain, r), ASK);
    }

    @Override
    public CompletionStage<Done> releaseAnaGroup(String node, String volumeId) {
        return node(node).ask(r -> new StorageNode.ReleaseAnaGroup(volumeId, r), ASK);
    }

    @Override
    public CompletionStage<Long> setObjects(String node, String volumeId, NodeObjects objects) {
        return node(node).<StorageNode.Generation>ask(r -> new StorageNode.SetVolumeObjects(volumeId, objects, r), ASK)
                .thenApply(StorageNode.Generation::value);
    }

    @Override
    public CompletionStage<StorageNode.Progress> progress(String node, String volumeId, long generation) {
        return node(node).ask(r -> new StorageNode.AwaitProgress(volumeId, generation, r), ASK);
    }

    @Override
    public CompletionStage<Long> markCreated(String node, String volumeId) {
        return node(node).<StorageNode.Generation>ask(r -> new StorageNode.MarkCreated(volumeId, r), ASK)
                .thenApply(StorageNode.Generation::value);
    }

    /**
     * Asked only of nodes a stage waits for, next to the wait itself: an answer that does not come
     * soon (its entity moving after a control member died) is "not declared", and the stage asks
     * again with its next poll rather than failing.
     */
    @Override
    public CompletionStage<Boolean> failed(String node) {
        return sharding.entityRefFor(NodeHealth.ENTITY_TYPE_KEY, node).<NodeHealth.View>ask(NodeHealth.Get::new, HEALTH_ASK)
                .thenApply(v -> v.status() == NodeHealth.Status.FAILED).exceptionally(notAnswered -> false);
    }

    @Override
    public CompletionStage<ToAgent.OrderDone> holdIo(String node, String token, List<String> devices, Duration bound) {
        return order(node, r -> new ToAgent.HoldIo(token, devices, bound.toMillis(), r));
    }

    @Override
    public CompletionStage<ToAgent.OrderDone> releaseIo(String node, String token, String holdId) {
        return order(node, r -> new ToAgent.ReleaseIo(token, holdId, r));
    }

    @Override
    public CompletionStage<ToAgent.OrderDone> snapThins(String node, String token, String holdId, List<ToAgent.ThinSnap> snaps) {
        return order(node, r -> new ToAgent.SnapThins(token, holdId, snaps, r));
    }

    @Override
    public CompletionStage<ToAgent.OrderDone> deleteThins(String node, List<ToAgent.PoolThin> thins) {
        return order(node, r -> new ToAgent.DeleteThins(thins, r));
    }

    @Override
    public CompletionStage<ToAgent.OrderDone> hydrate(String node, String device, long threshold, long batchSize) {
        return order(node, r -> new ToAgent.Hydrate(device, threshold, batchSize, r));
    }

    @Override
    public CompletionStage<Volume.SnapshotResult> takeSnapshot(String volumeId, String name) {
        return volume(volumeId).ask(r -> new Volume.TakeSnapshot(name, r), ASK);
    }

    @Override
    public CompletionStage<Volume.SnapshotList> snapshots(String volumeId) {
        return volume(volumeId).ask(Volume.ListSnapshots::new, ASK);
    }

    @Override
    public CompletionStage<Volume.SnapshotResult> dropSnapshot(String volumeId, String snapshotId) {
        return volume(volumeId).ask(r -> new Volume.DropSnapshot(snapshotId, r), ASK);
    }

    @Override
    public CompletionStage<Volume.ExportReply> exportSnapshot(String volumeId, String snapshotId, String cloneId, String node) {
        return volume(volumeId).ask(r -> new Volume.ExportSnapshot(snapshotId, cloneId, node, r), ASK);
    }

    @Override
    public CompletionStage<Volume.ExportReply> releaseSnapshotExport(String volumeId, String snapshotId, String cloneId) {
        return volume(volumeId).ask(r -> new Volume.ReleaseSnapshotExport(snapshotId, cloneId, r), ASK);
    }

    private EntityRef<Volume.Command> volume(String volumeId) {
        return sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, volumeId);
    }

    /** Through the node's entity, which passes it on; the agent answers the asker itself. */
    private CompletionStage<ToAgent.OrderDone> order(String node,
                                                     java.util.function.Function<org.apache.pekko.actor.typed.ActorRef<ToAgent.OrderDone>, ToAgent.Order> order) {
        return node(node).ask(r -> new StorageNode.Order(order.apply(r)), ASK);
    }

    private EntityRef<StorageNode.Command> node(String id) {
        return sharding.entityRefFor(StorageNode.ENTITY_TYPE_KEY, id);
    }

    private EntityRef<Leg.Command> leg(String volumeId, int leg) {
        return sharding.entityRefFor(Leg.ENTITY_TYPE_KEY, Leg.entityId(volumeId, leg));
    }
}
