package io.dnv.core.node;

import io.dnv.core.CborSerializable;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * A storage node as the API shows it: registration, capacity (with fragmentation), liveness
 * of its agent and how far its kernel converged.
 *
 * @param state UNREGISTERED, UP (heartbeat within the last few seconds) or DOWN
 */
public record NodeView(String id, String state, Optional<NodeInfo> info, Optional<Instant> lastHeartbeat,
                       Capacity capacity, int volumes, long desiredGeneration, long reachedGeneration,
                       List<String> failures) implements CborSerializable {

    public NodeView {
        failures = List.copyOf(failures);
    }

    public record Capacity(long totalBytes, long reservedBytes, long freeBytes, long largestFreeBytes, int freeExtents)
            implements CborSerializable {}

    public boolean up() {
        return state.equals("UP");
    }
}
