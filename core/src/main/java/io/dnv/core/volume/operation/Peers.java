package io.dnv.core.volume.operation;

import io.dnv.core.node.NodeView;
import io.dnv.core.node.StorageNode;
import io.dnv.core.node.ToAgent;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.volume.Leg;
import io.dnv.core.volume.Volume;
import org.apache.pekko.Done;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * What a volume operation asks of the rest of the cluster: the storage nodes and the legs.
 * Every call is idempotent, so a stage that is retried (after a timeout, or after the control
 * member running it died) asks again without harm. Production asks the sharded entities
 * ({@link ShardedPeers}); the operations' unit tests answer by hand, at the moment they choose.
 */
public interface Peers {

    /** Every registered node as it reports itself now. */
    CompletionStage<List<NodeView>> nodes();

    /** How long an agent holds host I/O at most for a snapshot ({@link IoHolds}). */
    default java.time.Duration holdBound() {
        return IoHolds.BOUND;
    }

    /** The leg reserves raid1 group {@code group} on {@code sideNodes}: 0 at create, the next one at an extend. */
    CompletionStage<Leg.Placed> placeLeg(String volumeId, int leg, int group, List<String> sideNodes, long ldSectors);

    CompletionStage<Done> releaseLeg(String volumeId, int leg);

    /** The leg gives back its group {@code group} (its last), which no node's objects named yet. */
    CompletionStage<Done> releaseGroup(String volumeId, int leg, int group);

    /** The volume's controller on {@code node} takes its place in the group of its ANA domain there. */
    CompletionStage<StorageNode.AnaGroupReply> allocateAnaGroup(String node, String volumeId, int portId, String domain);

    /** A failover: the volume's controller on {@code node} moves to the group of its new domain there. */
    CompletionStage<StorageNode.AnaGroupReply> moveAnaGroup(String node, String volumeId, int portId, String domain);

    CompletionStage<Done> releaseAnaGroup(String node, String volumeId);

    /** The node persists the volume's objects (none: remove them); answers the generation that holds them. */
    CompletionStage<Long> setObjects(String node, String volumeId, NodeObjects objects);

    /** Whether the node's agent has the volume's objects in place as of {@code generation}, and if not, why. */
    CompletionStage<StorageNode.Progress> progress(String node, String volumeId, long generation);

    /** Whether the control plane declared the node failed (its NodeHealth); not answered soon: false, asked again later. */
    CompletionStage<Boolean> failed(String node);

    /** The node drops the volume's brand-new preparations (zeroing, nosync, create_thin) for good. */
    CompletionStage<Long> markCreated(String node, String volumeId);

    // Orders the node's agent carries out at once (ToAgent.Order): a refusal is an answer, not a failure.

    /** The agent suspends {@code devices} under {@code token}, and resumes them by itself after {@code bound}. */
    CompletionStage<ToAgent.OrderDone> holdIo(String node, String token, List<String> devices, Duration bound);

    /** The agent resumes what {@code token} holds; answers whether hold {@code holdId} was intact until now. */
    CompletionStage<ToAgent.OrderDone> releaseIo(String node, String token, String holdId);

    /** While hold {@code holdId} is in force there: each thin suspended, snapshotted in its pool, resumed. */
    CompletionStage<ToAgent.OrderDone> snapThins(String node, String token, String holdId, List<ToAgent.ThinSnap> snaps);

    CompletionStage<ToAgent.OrderDone> deleteThins(String node, List<ToAgent.PoolThin> thins);

    /**
     * dm-clone {@code device} there told its throttle ({@code hydration_threshold},
     * {@code hydration_batch_size}); answers its status line.
     */
    CompletionStage<ToAgent.OrderDone> hydrate(String node, String device, long threshold, long batchSize);

    // A clone's asks of its source volume (docs/clone.md)

    /** The source takes (or answers, by its name) a snapshot for a clone. */
    CompletionStage<Volume.SnapshotResult> takeSnapshot(String volumeId, String name);

    CompletionStage<Volume.SnapshotList> snapshots(String volumeId);

    CompletionStage<Volume.SnapshotResult> dropSnapshot(String volumeId, String snapshotId);

    /** The source exports its snapshot to the clone's {@code node} (only there, for that clone). */
    CompletionStage<Volume.ExportReply> exportSnapshot(String volumeId, String snapshotId, String cloneId, String node);

    CompletionStage<Volume.ExportReply> releaseSnapshotExport(String volumeId, String snapshotId, String cloneId);
}
