package io.dnv.node.agent;

import io.dnv.core.kernel.ObservedKernel;

import java.util.List;

/**
 * What one reconcile pass did: the mutations it issued (in order), what the kernel refused,
 * what is still waiting on another node (an export not there yet), and the kernel as seen at
 * the end. Converged means the kernel now holds exactly the desired state.
 */
public record PassResult(long generation, List<String> mutations, List<Failure> failures, List<String> waiting,
                         ObservedKernel observed) {

    public PassResult {
        mutations = List.copyOf(mutations);
        failures = List.copyOf(failures);
        waiting = List.copyOf(waiting);
    }

    public boolean converged() {
        return failures.isEmpty() && waiting.isEmpty();
    }
}
