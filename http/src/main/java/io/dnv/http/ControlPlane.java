package io.dnv.http;

import io.dnv.core.kernel.ObservedKernel;
import io.dnv.core.node.NodeDirectory;
import io.dnv.core.failover.NodeHealth;
import io.dnv.core.node.NodeView;
import io.dnv.core.node.StorageNode;
import io.dnv.core.node.ToAgent;
import io.dnv.core.volume.Placer;
import io.dnv.core.volume.Snapshot;
import io.dnv.core.volume.SnapshotView;
import io.dnv.core.volume.VolumeSource;
import io.dnv.core.volume.SnapshotGroup;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.core.volume.VolumeView;
import io.dnv.http.readside.ReadSide;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Sink;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * What the API asks of the cluster: entity commands through sharding, the volume list from the
 * read side's table, a volume's journal from the read journal.
 */
public final class ControlPlane {

    static final Duration ASK = Duration.ofSeconds(15);
    /** An attach answers once every controller exports to the host, which waits on the agents. */
    static final Duration ATTACH = Duration.ofSeconds(60);
    /** A node entity that does not answer this fast counts as not knowing the volume in place. */
    static final Duration STATUS = Duration.ofSeconds(2);

    public record Page<T>(List<T> items, Optional<String> nextPageToken) {}

    public record JournalEvent(long sequenceNr, Instant time, String type, Object event) {}

    private final ActorSystem<?> system;
    private final ClusterSharding sharding;
    private final JdbcReadJournal journal;
    private final ReadSide readSide;

    public ControlPlane(ActorSystem<?> system, ReadSide readSide) {
        this.system = system;
        this.readSide = readSide;
        this.sharding = ClusterSharding.get(system);
        this.journal = PersistenceQuery.get(system).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    }

    CompletionStage<Volume.Result> create(String name, VolumeSpec spec) {
        return volume(name).ask(r -> new Volume.Create(name, spec, r), ASK);
    }

    /**
     * A clone (docs/clone.md): refused at once when its source is not there or not READY, when
     * the size asked is below the source's, or when no node has dm-clone for its first active;
     * else created as any volume, with its source.
     */
    CompletionStage<Volume.Result> createClone(CreateVolumeRequest req) {
        VolumeSource source = req.source().orElseThrow();
        CompletionStage<Optional<Long>> sourceBytes = source.snapshotId().isPresent()
                ? snapshot(source.snapshotId().get()).thenApply(r -> r.snapshot().filter(x -> x.state().equals("READY"))
                        .map(SnapshotView::sizeBytes))
                : get(source.volumeId()).thenApply(r -> r.volume().filter(v -> v.state().equals("READY")).map(VolumeView::sizeBytes));
        return sourceBytes.thenCompose(bytes -> {
            if (bytes.isEmpty()) {
                return CompletableFuture.completedFuture(refused(new io.dnv.core.DomainError.Invalid("source", "no READY "
                        + source.snapshotId().map(id -> "snapshot " + id).orElse("volume " + source.volumeId()))));
            }
            VolumeSpec spec = req.spec(bytes.get());
            return nodes(Api.MAX_PAGE, Optional.empty()).thenCompose(nodes -> {
                Optional<String> refusal = Placer.firstActiveRefusal(req.name(), nodes.items(), Set.of(Placer.DM_CLONE));
                return refusal.<CompletionStage<Volume.Result>>map(why -> CompletableFuture.completedFuture(
                                refused(io.dnv.core.DomainError.Conflict.of(why))))
                        .orElseGet(() -> volume(req.name()).ask(r -> new Volume.Create(req.name(), spec, Optional.of(source), r), ASK));
            });
        });
    }

    private static Volume.Result refused(io.dnv.core.DomainError e) {
        return new Volume.Result(Optional.empty(), Optional.of(e));
    }

    CompletionStage<Volume.Result> get(String id) {
        return volume(id).ask(Volume.Get::new, ASK);
    }

    /**
     * The volume with what its nodes' agents observed: the entity says what is wanted, only the
     * agents can say whether the kernels hold it (after a restart a READY volume is not in
     * place until they re-assembled it).
     */
    CompletionStage<Volume.Result> inspect(String id) {
        return get(id).thenCompose(r -> r.volume().filter(v -> !v.nodes().isEmpty()).map(v -> {
            List<CompletableFuture<StorageNode.VolumeStatus>> asks = v.nodes().stream()
                    .map(node -> sharding.entityRefFor(StorageNode.ENTITY_TYPE_KEY, node).<StorageNode.VolumeStatus>ask(
                                    reply -> new StorageNode.GetVolumeStatus(id, reply), STATUS)
                            .exceptionally(t -> new StorageNode.VolumeStatus(node, false, node + ": no answer within "
                                    + STATUS.toMillis() + " ms", List.of(), List.of()))
                            .toCompletableFuture()).toList();
            return CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new)).thenApply(done -> {
                List<StorageNode.VolumeStatus> statuses = asks.stream().map(CompletableFuture::join).toList();
                List<String> notInPlace = statuses.stream().filter(st -> !st.inPlace()).map(StorageNode.VolumeStatus::why).toList();
                List<String> degraded = statuses.stream().flatMap(st -> st.degraded().stream()).toList();
                List<VolumeView.PoolView> pools = statuses.stream()
                        .flatMap(st -> st.pools().stream().map(p -> VolumeView.PoolView.of(st.nodeId(), p)))
                        .sorted(java.util.Comparator.comparingInt(VolumeView.PoolView::leg)).toList();
                return new Volume.Result(Optional.of(v.withKernel(new VolumeView.KernelView(notInPlace.isEmpty(), notInPlace, degraded,
                        pools))),
                        Optional.empty());
            });
        }).orElseGet(() -> CompletableFuture.completedFuture(r)));
    }

    CompletionStage<Volume.Result> delete(String id, boolean withSnapshots) {
        return volume(id).ask(r -> new Volume.Delete(r, withSnapshots), ASK);
    }

    CompletionStage<Volume.SnapshotResult> takeSnapshot(String volumeId, String name) {
        return volume(volumeId).ask(r -> new Volume.TakeSnapshot(name, r), ASK);
    }

    CompletionStage<Volume.SnapshotList> snapshots(String volumeId) {
        return volume(volumeId).ask(Volume.ListSnapshots::new, ASK);
    }

    /** One ask: the snapshot's id names its volume; an id that names none is not found. */
    CompletionStage<Volume.SnapshotResult> snapshot(String snapshotId) {
        return Snapshot.volumeOf(snapshotId).map(v -> volume(v).<Volume.SnapshotResult>ask(r -> new Volume.GetSnapshot(snapshotId, r), ASK))
                .orElseGet(() -> CompletableFuture.completedFuture(noSnapshot(snapshotId)));
    }

    CompletionStage<Volume.SnapshotResult> deleteSnapshot(String snapshotId) {
        return Snapshot.volumeOf(snapshotId).map(v -> volume(v).<Volume.SnapshotResult>ask(r -> new Volume.DropSnapshot(snapshotId, r), ASK))
                .orElseGet(() -> CompletableFuture.completedFuture(noSnapshot(snapshotId)));
    }

    private static Volume.SnapshotResult noSnapshot(String snapshotId) {
        return new Volume.SnapshotResult(Optional.empty(), Optional.of(new io.dnv.core.DomainError.NotFound("no snapshot " + snapshotId)));
    }

    /** Answers once every member joined: the whole join may take a member's ask each, at once. */
    CompletionStage<SnapshotGroup.Result> createGroup(String name, List<String> volumeIds) {
        return group(name, r -> new SnapshotGroup.Create(name, volumeIds, r));
    }

    CompletionStage<SnapshotGroup.Result> group(String id) {
        return group(id, SnapshotGroup.Get::new);
    }

    CompletionStage<SnapshotGroup.Result> deleteGroup(String id) {
        return group(id, SnapshotGroup.Delete::new);
    }

    CompletionStage<List<JournalEvent>> groupEvents(String id) {
        return journal(SnapshotGroup.ENTITY_TYPE_KEY.name() + "|" + id);
    }

    /** A group's id is its name: one that is no snapshot name is no group (asking would create an entity for it). */
    private CompletionStage<SnapshotGroup.Result> group(String id,
                                                        java.util.function.Function<org.apache.pekko.actor.typed.ActorRef<SnapshotGroup.Result>, SnapshotGroup.Command> command) {
        if (!Snapshot.isName(id)) {
            return CompletableFuture.completedFuture(new SnapshotGroup.Result(Optional.empty(),
                    Optional.of(new io.dnv.core.DomainError.NotFound("no snapshot group " + id))));
        }
        return sharding.entityRefFor(SnapshotGroup.ENTITY_TYPE_KEY, id).ask(command::apply, ASK);
    }

    CompletionStage<Volume.Result> extend(String id, long sizeBytes) {
        return volume(id).ask(r -> new Volume.Extend(sizeBytes, r), ASK);
    }

    CompletionStage<Volume.AttachResult> attach(String id, String host) {
        return volume(id).ask(r -> new Volume.Attach(host, r), ATTACH);
    }

    CompletionStage<Volume.Result> detach(String id, String host) {
        return volume(id).ask(r -> new Volume.Detach(host, r), ATTACH);
    }

    /**
     * Volumes in id order from volume_list, which the read side's projection keeps: a change
     * shows here a moment after the entity made it (docs/api.md, list consistency).
     */
    CompletionStage<Page<VolumeView>> volumes(int limit, Optional<String> after) {
        return CompletableFuture.supplyAsync(() -> readSide.volumes().page(limit + 1, after), readSide.blocking())
                .thenApply(views -> {
                    List<VolumeView> items = views.subList(0, Math.min(limit, views.size()));
                    Optional<String> next = views.size() > limit
                            ? Optional.of(PageToken.encode(items.get(items.size() - 1).id())) : Optional.empty();
                    return new Page<>(List.copyOf(items), next);
                });
    }

    CompletionStage<List<JournalEvent>> events(String id) {
        return journal(Volume.ENTITY_TYPE_KEY.name() + "|" + id);
    }

    private CompletionStage<List<JournalEvent>> journal(String persistenceId) {
        return journal.currentEventsByPersistenceId(persistenceId, 0L, Long.MAX_VALUE)
                .map(ControlPlane::event).runWith(Sink.seq(), system).thenApply(List::copyOf);
    }

    /** The node's health as the control plane decided it, with the evidence and the failover's progress. */
    CompletionStage<NodeHealth.View> health(String id) {
        return sharding.entityRefFor(NodeHealth.ENTITY_TYPE_KEY, id).ask(NodeHealth.Get::new, ASK);
    }

    CompletionStage<NodeView> node(String id) {
        return sharding.entityRefFor(StorageNode.ENTITY_TYPE_KEY, id).ask(StorageNode.GetNode::new, ASK);
    }

    CompletionStage<Page<NodeView>> nodes(int limit, Optional<String> after) {
        return NodeDirectory.ref(sharding).ask(NodeDirectory.ListNodes::new, ASK).thenCompose(dir -> page(
                dir.nodeIds().stream().filter(id -> after.map(a -> id.compareTo(a) > 0).orElse(true)).toList(), limit, this::node));
    }

    /**
     * How many storage nodes are up now with all their free capacity offered, none of it still
     * being zeroed (for start-up banners and tests: a new disk is offered as its agent zeroes it).
     */
    public CompletionStage<Long> nodesReady() {
        return nodes(Api.MAX_PAGE, Optional.empty()).thenApply(p -> p.items().stream()
                .filter(n -> n.up() && n.capacity().dirtyBytes() == 0).count());
    }

    CompletionStage<Optional<ObservedKernel>> kernel(String nodeId) {
        return sharding.entityRefFor(StorageNode.ENTITY_TYPE_KEY, nodeId)
                .<ToAgent.KernelReport>ask(StorageNode.GetKernel::new, ASK).thenApply(ToAgent.KernelReport::kernel);
    }

    private static <T> CompletionStage<Page<T>> page(List<String> ids, int limit, java.util.function.Function<String, CompletionStage<T>> load) {
        List<String> chunk = ids.subList(0, Math.min(limit, ids.size()));
        List<CompletableFuture<T>> asks = new ArrayList<>();
        chunk.forEach(id -> asks.add(load.apply(id).toCompletableFuture()));
        Optional<String> next = ids.size() > limit ? Optional.of(PageToken.encode(chunk.get(chunk.size() - 1))) : Optional.empty();
        return CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new))
                .thenApply(v -> new Page<>(asks.stream().map(CompletableFuture::join).toList(), next));
    }

    private static JournalEvent event(EventEnvelope e) {
        return new JournalEvent(e.sequenceNr(), Instant.ofEpochMilli(e.timestamp()), e.event().getClass().getSimpleName(), e.event());
    }

    private org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef<Volume.Command> volume(String id) {
        return sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, id);
    }
}
