package io.dnv.core.node;

import io.dnv.core.CborSerializable;
import io.dnv.core.kernel.AnaGroups;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A storage node as the API shows it: registration, capacity (with fragmentation), liveness
 * of its agent and how far its kernel converged.
 *
 * @param state             UNREGISTERED, UP (heartbeat within the last few seconds) or DOWN
 * @param volumes           volumes with kernel objects on this node
 * @param controllerVolumes volumes this node is a controller of, counted from the moment a create
 *                          reserves their place in an ANA group
 * @param anaGroups         the ANA groups of its volume ports handed out, one per failover domain
 * @param settling          no heartbeat yet since the control plane started watching the node:
 *                          DOWN may only mean it has not been heard yet
 * @param removing          volumes removed from this node whose removal its agent has not yet
 *                          confirmed; what they reserved stays reserved until then
 * @param zeroing           released LDs the agent is still zeroing, with how far it got
 * @param imports           the NVMe-oF imports its agent holds, by target address and state
 *                          (witnesses of other nodes' data paths)
 */
public record NodeView(String id, String state, Optional<NodeInfo> info, Optional<Instant> lastHeartbeat,
                       Capacity capacity, int volumes, int controllerVolumes, List<AnaGroup> anaGroups,
                       long desiredGeneration, long reachedGeneration,
                       List<String> failures, boolean settling, Set<String> removing, List<ZeroingProgress> zeroing,
                       Map<String, StorageNode.Imports> imports)
        implements CborSerializable {

    public NodeView {
        anaGroups = List.copyOf(anaGroups);
        failures = List.copyOf(failures);
        removing = Set.copyOf(removing);
        zeroing = List.copyOf(zeroing);
        imports = imports == null ? Map.of() : Map.copyOf(imports);
    }

    public NodeView(String id, String state, Optional<NodeInfo> info, Optional<Instant> lastHeartbeat,
                    Capacity capacity, int volumes, int controllerVolumes, List<AnaGroup> anaGroups,
                    long desiredGeneration, long reachedGeneration,
                    List<String> failures, boolean settling, Set<String> removing, List<ZeroingProgress> zeroing) {
        this(id, state, info, lastHeartbeat, capacity, volumes, controllerVolumes, anaGroups, desiredGeneration, reachedGeneration,
                failures, settling, removing, zeroing, Map.of());
    }

    /**
     * {@code freeBytes}, {@code largestFreeBytes}, {@code freeExtents}: what a reservation can get,
     * free and known zero; {@code dirtyBytes}: free but not zeroed yet (the disk as it registered,
     * extents released since), offered once the agent zeroed it.
     */
    public record Capacity(long totalBytes, long reservedBytes, long freeBytes, long largestFreeBytes, int freeExtents,
                           long dirtyBytes) implements CborSerializable {}

    /** An ANA group of a port: the failover domain its volumes share ({@link AnaGroups}) and how many there are. */
    public record AnaGroup(int portId, int group, String domain, int volumes) implements CborSerializable {}

    public boolean up() {
        return state.equals("UP");
    }

    /** Whether a controller of {@code domain} finds a group on port {@code portId}: its domain's, or a free one. */
    public boolean hasAnaGroupFor(int portId, String domain) {
        Map<Integer, String> taken = new HashMap<>();
        anaGroups.stream().filter(g -> g.portId() == portId).forEach(g -> taken.put(g.group(), g.domain()));
        return AnaGroups.groupFor(domain, taken).isPresent();
    }
}
