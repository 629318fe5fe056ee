package io.dnv.core.plan;

import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.kernel.NvmetSubsystem;
import io.dnv.core.node.NodeEndpoints;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which storage nodes witness which (docs/failover.md, "Detection"), and the kernel objects that
 * takes: every node exports a witness subsystem with no namespace, and imports the witness exports
 * of the {@link #PER_NODE} nodes after it in id order (around the ring), with a short keep-alive
 * ({@link ConnectTimeouts#WITNESS}). So every node is witnessed by the {@link #PER_NODE} nodes
 * before it. Pure, and the same for every caller: the ring changes only when a node registers.
 */
public final class Witnesses {

    /**
     * Two: each witness costs its holder a connection, a controller and a keep-alive a second,
     * and a failure is declared only once every witness heard from lately sees it down, so more
     * would not decide sooner; two still decide when one of them failed at the same time.
     */
    public static final int PER_NODE = 2;

    private Witnesses() {}

    /** Every node's witness objects, by node id; a node without any port exports none. */
    public static Map<String, NodeObjects> plan(Collection<NodeEndpoints> nodes) {
        List<NodeEndpoints> ring = nodes.stream().sorted(Comparator.comparing(NodeEndpoints::nodeId)).toList();
        Map<String, NodeObjects.Builder> out = new LinkedHashMap<>();
        ring.forEach(n -> out.put(n.nodeId(), new NodeObjects.Builder()));
        for (int i = 0; i < ring.size(); i++) {
            NodeEndpoints target = ring.get(i);
            if (target.witnessPort().isEmpty()) {
                continue;
            }
            NvmetPort port = target.witnessPort().get();
            String nqn = Names.witnessNqn(target.nodeId());
            List<String> watchers = new ArrayList<>();
            for (NodeEndpoints watcher : watchersOf(ring, i)) {
                watchers.add(Names.hostNqn(watcher.nodeId()));
                out.get(watcher.nodeId()).connections.add(Planner.connection(target, port, nqn, watcher.nodeId(),
                        ConnectTimeouts.WITNESS));
            }
            CntlidRanges.Range ids = CntlidRanges.witness();
            out.get(target.nodeId()).subsystems.add(new NvmetSubsystem(nqn, watchers.stream().sorted().toList(), ids.min(), ids.max(),
                    Names.serial(nqn), List.of(), List.of(port.id())));
        }
        Map<String, NodeObjects> result = new LinkedHashMap<>();
        out.forEach((id, b) -> result.put(id, b.build()));
        return result;
    }

    /** The nodes before {@code i} around the ring, at most {@link #PER_NODE}, never {@code i} itself. */
    private static List<NodeEndpoints> watchersOf(List<NodeEndpoints> ring, int i) {
        List<NodeEndpoints> watchers = new ArrayList<>();
        for (int d = 1; d <= Math.min(PER_NODE, ring.size() - 1); d++) {
            watchers.add(ring.get(Math.floorMod(i - d, ring.size())));
        }
        return watchers;
    }
}
