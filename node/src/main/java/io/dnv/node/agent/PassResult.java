package io.dnv.node.agent;

import io.dnv.core.kernel.ObservedKernel;
import io.dnv.core.node.ZeroingProgress;

import java.util.List;
import java.util.Set;

/**
 * What one reconcile pass did: the mutations it issued (in order), what the kernel refused,
 * what is still waiting on another node (an export not there yet), and the kernel as seen at
 * the end. Converged means the kernel now holds exactly the desired state; {@code unsettled}
 * names the desired objects that are not there yet, so a volume whose objects are all settled
 * is done even while another volume on the node still waits. {@code whole}: the pass compared
 * every desired object, not only what changed since the pass before. {@code zeroing}: how far each
 * released LD the node still holds bytes of is zeroed, as of the end of the pass: those whose
 * device is there (it goes once done) and those whose device went before (a power cycle), zeroed
 * on the disk; a volume with one is not gone from the node yet. {@code degraded}: raid1 groups
 * that serve with a side down, failed or recovering, each line starting with the group's dm name;
 * they do not keep a pass from converging (the node is as right as it can be while a disk node
 * is away), but the agent looks again soon.
 */
public record PassResult(long generation, List<String> mutations, List<Failure> failures, List<String> waiting,
                         Set<String> unsettled, ObservedKernel observed, boolean whole, List<ZeroingProgress> zeroing,
                         List<String> degraded) {

    public PassResult {
        mutations = List.copyOf(mutations);
        failures = List.copyOf(failures);
        waiting = List.copyOf(waiting);
        unsettled = Set.copyOf(unsettled);
        zeroing = List.copyOf(zeroing);
        degraded = List.copyOf(degraded);
    }

    /** The same pass, showing the kernel as {@code observed} (a look taken after it). */
    PassResult seeing(ObservedKernel observed) {
        return new PassResult(generation, mutations, failures, waiting, unsettled, observed, whole, zeroing, degraded);
    }

    public boolean converged() {
        return failures.isEmpty() && waiting.isEmpty();
    }
}
