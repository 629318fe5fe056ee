package io.dnv.http;

import io.dnv.core.CborSerializable;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * Faults injected into simulated storage nodes, for a user to watch the failover happen
 * (`./dnv dev`): present only when the nodes run simulated kernels.
 *
 * <ul>
 *   <li>{@code crash}: the node's kernel stops (its links go silent, no RST: peers notice by their
 *       own keep-alive) and its agent is gone;</li>
 *   <li>{@code restart-agent}: the agent stops and starts again while its kernel serves I/O; it
 *       re-adopts the kernel;</li>
 *   <li>{@code partition}: the node stays up, and no frame passes between it and any other node or
 *       control member any more, neither on the storage fabric (I/O on its links is held, as TCP
 *       holds it) nor on the cluster transport;</li>
 *   <li>{@code heal}: a crashed kernel boots again over its disks, a partitioned node's links carry
 *       frames again, and the node's agent runs.</li>
 * </ul>
 */
public interface SimulatedFaults {

    List<String> KINDS = List.of("crash", "restart-agent", "partition", "heal");

    /** The node as the fault left it; empty when there is no such node. */
    CompletionStage<Optional<NodeState>> inject(String nodeId, String kind);

    record NodeState(String nodeId, String fault, boolean kernelOn, boolean agentRunning, boolean partitioned)
            implements CborSerializable {}
}
