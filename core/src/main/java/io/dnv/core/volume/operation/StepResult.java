package io.dnv.core.volume.operation;

import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.Placer;

import java.util.List;
import java.util.Map;

/**
 * What one step of an operation came back with. The entity hands it, with the attempt it was
 * started in, to the operation's current stage; a result of another attempt is dropped.
 */
public sealed interface StepResult {

    /** Placement found nodes. */
    record Chosen(Placer.Choice choice, Map<String, NodeEndpoints> endpoints) implements StepResult {}

    /** Nothing fits, or a reservation was refused (everything it got already given back). */
    record Refused(String reason) implements StepResult {}

    /** Cannot decide yet (for instance, nodes not heard from since a control-plane restart). */
    record Deferred(String waitingFor) implements StepResult {}

    /** Every leg and controller reserved what the choice named. */
    record Reserved(Placement placement) implements StepResult {}

    /** Every involved node persisted its objects; each agent must reach its generation. */
    record Applied(Map<String, Long> generations) implements StepResult {}

    /**
     * What is not in place yet, per node; empty: everything is. {@code failed}: nodes waited for
     * that the control plane declared failed (the volume fails over from them, or, creating,
     * places itself again without them).
     */
    record Awaited(List<String> waitingFor, List<String> failed) implements StepResult {
        public Awaited {
            waitingFor = List.copyOf(waitingFor);
            failed = List.copyOf(failed);
        }

        public boolean settled() {
            return waitingFor.isEmpty();
        }
    }

    /** Every node's agent holds its devices: the hold each answered, by node. */
    record Held(Map<String, String> holds) implements StepResult {}

    /** Every hold was released; {@code lapsed}: the nodes whose hold was not intact until then; the longest hold. */
    record Released(List<String> lapsed, long heldMillis) implements StepResult {}

    /** A clone's source snapshot is READY. */
    record Sourced(String snapshotId) implements StepResult {}

    /** A clone's first active has the source snapshot's legs. */
    record Imported(io.dnv.core.volume.Volume.ExportedSnapshot exported) implements StepResult {}

    /** The step's asks were all acknowledged. */
    record Done() implements StepResult {}
}
