package io.dnv.core.node;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.dnv.core.CborSerializable;
import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.DiskRange;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.core.plan.NodeObjects;
import org.apache.pekko.actor.typed.ActorRef;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the control plane sends a storage node's agent. A node's desired state is pushed one
 * volume per message (a node carrying hundreds of volumes would not fit one remote message),
 * closed by a Sync that says which volumes, in which version, make up which generation.
 */
public sealed interface ToAgent extends CborSerializable {

    /**
     * One volume's objects on this node, new or changed. {@code version} names this content: the
     * generation with which the entity first sent it.
     */
    record PutVolume(String volumeId, NodeObjects objects, long version) implements ToAgent {}

    /**
     * The volume's objects as sent in {@code fromVersion}, with the brand-new preparations dropped
     * ({@link NodeObjects#created()}): a create's finalize, told in a few bytes instead of the
     * objects again. {@code version} names the result.
     */
    record VolumeCreated(String volumeId, long fromVersion, long version) implements ToAgent {}

    /**
     * The generation is complete: exactly these volumes, in these versions. The agent drops every
     * volume it holds that is not named (that is how a volume leaves a node); if a named one is
     * missing or in another version (a message was lost) it ignores the Sync, and the entity
     * sends everything again. {@code toZero}: the ranges of the disk the node does not know to
     * be zero (see {@link DesiredNode#toZero()}). {@code witnesses}: the node's witness export and
     * its imports of its peers' ({@link io.dnv.core.plan.Witnesses}), a few objects sent whole each time.
     */
    record Sync(long generation, NodeEndpoints endpoints, Map<String, Long> versions, List<DiskRange> toZero,
                NodeObjects witnesses) implements ToAgent {

        public Sync {
            toZero = toZero == null ? List.of() : List.copyOf(toZero);
            witnesses = witnesses == null ? NodeObjects.NONE : witnesses;
        }

        /** Nothing to zero, no witnesses (most tests). */
        public Sync(long generation, NodeEndpoints endpoints, Map<String, Long> versions) {
            this(generation, endpoints, versions, List.of(), NodeObjects.NONE);
        }
    }

    /** The kernel as the agent last observed it. */
    record GetKernel(ActorRef<KernelReport> replyTo) implements ToAgent {}

    record KernelReport(Optional<ObservedKernel> kernel) implements CborSerializable {}

    /**
     * An order the agent carries out at once, beside its passes, and answers: a snapshot's hold
     * of host I/O and its thin snapshots. Not desired state: no generation names it, and an
     * agent that restarts forgets it (and what it held is resumed). Named by kind, as the node's
     * entity passes it on inside {@link StorageNode.Order}.
     */
    @JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "kind")
    @JsonSubTypes({
            @JsonSubTypes.Type(value = HoldIo.class, name = "hold-io"),
            @JsonSubTypes.Type(value = ReleaseIo.class, name = "release-io"),
            @JsonSubTypes.Type(value = SnapThins.class, name = "snap-thins"),
            @JsonSubTypes.Type(value = DeleteThins.class, name = "delete-thins"),
            @JsonSubTypes.Type(value = Hydrate.class, name = "hydrate")})
    sealed interface Order extends ToAgent permits HoldIo, ReleaseIo, SnapThins, DeleteThins, Hydrate {
        ActorRef<OrderDone> replyTo();
    }

    /**
     * Suspend {@code devices} (their I/O in flight drained, new I/O held) under {@code token}.
     * The agent resumes them by itself {@code boundMillis} after it began, so a control plane
     * that dies meanwhile never leaves them held. A hold under the token still in force is
     * answered as it is (its id), not taken again.
     */
    record HoldIo(String token, List<String> devices, long boundMillis, ActorRef<OrderDone> replyTo) implements Order {}

    /**
     * Resume whatever {@code token} holds. Answers {@code intact}: hold {@code holdId} was in
     * force without a break until this release (asked again, the same answer).
     */
    record ReleaseIo(String token, String holdId, ActorRef<OrderDone> replyTo) implements Order {}

    /**
     * Only while hold {@code holdId} of {@code token} is in force: every thin suspended, each
     * {@code create_snap} sent to its pool (an id that exists is done: the volume never hands
     * one out twice), every thin resumed.
     */
    record SnapThins(String token, String holdId, List<ThinSnap> snaps, ActorRef<OrderDone> replyTo) implements Order {}

    record ThinSnap(String pool, String thin, int originId, int snapId) implements CborSerializable {}

    /** A thin {@code delete} in each pool (an id that is gone already is done). */
    record DeleteThins(List<PoolThin> thins, ActorRef<OrderDone> replyTo) implements Order {}

    record PoolThin(String pool, int thinId) implements CborSerializable {}

    /**
     * dm-clone {@code device} told how hard to copy ({@code hydration_threshold}: regions copied
     * at once; {@code hydration_batch_size}: regions per batch); answered with its status line, so
     * the clone learns how far it is. A device that is not (or no longer) a clone is refused.
     */
    record Hydrate(String device, long threshold, long batchSize, ActorRef<OrderDone> replyTo) implements Order {}

    /**
     * How an order went: {@code refusal} empty when done. A hold answers its {@code holdId}; a
     * release whether the hold was {@code intact} and how long it held, in microseconds; a
     * hydrate the device's {@code status} line.
     */
    record OrderDone(Optional<String> refusal, String holdId, boolean intact, long heldMicros, String status)
            implements CborSerializable {

        public OrderDone {
            status = status == null ? "" : status;
        }

        public static OrderDone done() {
            return new OrderDone(Optional.empty(), "", false, 0, "");
        }

        public static OrderDone refused(String why) {
            return new OrderDone(Optional.of(why), "", false, 0, "");
        }

        public static OrderDone held(String holdId) {
            return new OrderDone(Optional.empty(), holdId, false, 0, "");
        }

        public static OrderDone released(boolean intact, long heldMicros) {
            return new OrderDone(Optional.empty(), "", intact, heldMicros, "");
        }

        public static OrderDone status(String status) {
            return new OrderDone(Optional.empty(), "", false, 0, status);
        }
    }
}
