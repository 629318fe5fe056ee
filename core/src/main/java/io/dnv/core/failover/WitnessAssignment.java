package io.dnv.core.failover;

import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.node.NodeInfo;
import io.dnv.core.node.NodeView;
import io.dnv.core.node.StorageNode;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.plan.Witnesses;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Keeps every registered node's witness objects ({@link Witnesses}) as the registered nodes
 * say, from the failure detector's looks at them: a node is told its objects when they change,
 * and again every {@link FailureDetector#REPEAT} in case it lost them (its entity persists them
 * and ignores a repeat). Every node registered stays in the ring, up or not: a failed node's
 * witnesses see it come back, and a ring that moved on every failure would change survivors'
 * desired state in the middle of their fencing.
 */
final class WitnessAssignment {

    private final ClusterSharding sharding;
    private final Map<String, NodeObjects> told = new HashMap<>();
    private final Map<String, Instant> toldAt = new HashMap<>();

    WitnessAssignment(ClusterSharding sharding) {
        this.sharding = sharding;
    }

    void update(List<NodeView> nodes, Instant now) {
        List<NodeEndpoints> registered = nodes.stream().map(NodeView::info).flatMap(Optional::stream).map(NodeInfo::endpoints).toList();
        Witnesses.plan(registered).forEach((nodeId, objects) -> {
            if (!objects.equals(told.get(nodeId)) || toldAt.get(nodeId).isBefore(now.minus(FailureDetector.REPEAT))) {
                told.put(nodeId, objects);
                toldAt.put(nodeId, now);
                sharding.entityRefFor(StorageNode.ENTITY_TYPE_KEY, nodeId).tell(new StorageNode.SetWitnesses(objects));
            }
        });
    }
}
