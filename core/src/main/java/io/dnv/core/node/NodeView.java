package io.dnv.core.node;

import io.dnv.core.CborSerializable;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A storage node as the API shows it: registration, capacity (with fragmentation), liveness
 * of its agent and how far its kernel converged.
 *
 * @param state             UNREGISTERED, UP (heartbeat within the last few seconds) or DOWN
 * @param volumes           volumes with kernel objects on this node
 * @param controllerVolumes volumes this node is a controller of: the ANA groups of its volume port
 *                          handed out, counted from the moment a create reserves one
 * @param settling          no heartbeat yet since the control plane started watching the node:
 *                          DOWN may only mean it has not been heard yet
 * @param removing          volumes removed from this node whose removal its agent has not yet
 *                          confirmed; what they reserved stays reserved until then
 * @param zeroing           released LDs the agent is still zeroing, with how far it got
 */
public record NodeView(String id, String state, Optional<NodeInfo> info, Optional<Instant> lastHeartbeat,
                       Capacity capacity, int volumes, int controllerVolumes, long desiredGeneration, long reachedGeneration,
                       List<String> failures, boolean settling, Set<String> removing, List<ZeroingProgress> zeroing)
        implements CborSerializable {

    public NodeView {
        failures = List.copyOf(failures);
        removing = Set.copyOf(removing);
        zeroing = List.copyOf(zeroing);
    }

    /**
     * {@code freeBytes}, {@code largestFreeBytes}, {@code freeExtents}: what a reservation can get,
     * free and known zero; {@code dirtyBytes}: free but not zeroed yet (the disk as it registered,
     * extents released since), offered once the agent zeroed it.
     */
    public record Capacity(long totalBytes, long reservedBytes, long freeBytes, long largestFreeBytes, int freeExtents,
                           long dirtyBytes) implements CborSerializable {}

    public boolean up() {
        return state.equals("UP");
    }
}
