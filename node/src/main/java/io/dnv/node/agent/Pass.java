package io.dnv.node.agent;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.Names;
import io.dnv.node.kernel.Kernel;
import io.dnv.node.kernel.KernelException;
import io.dnv.core.kernel.ObservedKernel;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.Set;

/**
 * The state of one reconcile pass: the kernel as observed at its start, what the pass has
 * created since, and the record of every mutation, refusal and wait. Every kernel mutation
 * goes through {@link #mutate}, so a refusal is recorded with its object and the pass goes on
 * with whatever does not depend on it.
 */
final class Pass {

    final Kernel kernel;
    final DesiredNode desired;
    ObservedKernel observed;
    private Map<String, ObservedKernel.Dm> dmByName;
    final Set<String> createdDm = new HashSet<>();
    final Set<String> blocked = new HashSet<>();
    final List<String> mutations = new ArrayList<>();
    final List<Failure> failures = new ArrayList<>();
    final List<String> waiting = new ArrayList<>();
    /** Desired objects this pass could not bring to their desired state, by name (dm name, NQN, connection key, port). */
    final Set<String> unsettled = new HashSet<>();

    Pass(Kernel kernel, DesiredNode desired) {
        this.kernel = kernel;
        this.desired = desired;
        reobserve();
    }

    interface Action {
        void run();
    }

    /** Runs one kernel mutation; false (and a recorded failure) when the kernel refused it. */
    boolean mutate(String operation, String object, Action action) {
        mutations.add(operation + " " + object);
        try {
            action.run();
            return true;
        } catch (KernelException e) {
            fail(object, operation, e.kernelMessage());
            return false;
        }
    }

    /** A desired object that cannot reach its state this pass (refused, or in a state that cannot change). */
    void fail(String object, String operation, String message) {
        failures.add(new Failure(object, operation, message));
        unsettled.add(object);
    }

    void waitFor(String object, String reason) {
        waiting.add(object + ": " + reason);
        unsettled.add(object);
    }

    void reobserve() {
        observed = kernel.observe();
        dmByName = new HashMap<>();
        observed.dmDevices().forEach(d -> dmByName.put(d.name(), d));
    }

    /** A device as observed at the start of the pass (or at the last look), by name in O(1). */
    Optional<ObservedKernel.Dm> dm(String name) {
        return Optional.ofNullable(dmByName.get(name));
    }

    String nodeId() {
        return desired.nodeId();
    }

    boolean ownsDm(String name) {
        return Names.ownsDm(nodeId(), name);
    }
}
