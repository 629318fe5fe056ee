package io.dnv.core.node;

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
}
