package io.dnv.node.agent;

import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.node.kernel.KernelException;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * NVMe-oF imports: one controller per desired connection. A controller that is reconnecting
 * is left to the kernel (its ctrl_loss_tmo decides); one that is gone is connected again, unless
 * its target did not answer lately ({@link Unreachable}). An import that is one side of a raid1
 * group serving from another side is reported as degraded, not waited for; a witness import
 * ({@link Names#witnessNqn}) whose peer does not answer is neither: the peer being away is what
 * it would show, and no pass waits on a dead peer. Every import left out so is looked at by the
 * next passes whatever their focus; its target is probed beside them, and the agent passes again
 * once it answers ({@link Unreachable}).
 * Imports no desired state names are disconnected after the devices above them are gone.
 */
final class ConnectionConvergence {

    private final Pass pass;
    private final Unreachable unreachable;
    private final Raid1Sides raid1Sides;

    ConnectionConvergence(Pass pass, Unreachable unreachable, Raid1Sides raid1Sides) {
        this.pass = pass;
        this.unreachable = unreachable;
        this.raid1Sides = raid1Sides;
    }

    /** Connects what is missing; true when anything was connected (namespaces must be looked up again). */
    boolean connect() {
        boolean connected = false;
        for (NvmeConnection c : pass.desired.connections()) {
            String key = c.key();
            if (pass.focus.includes(key) || unreachable.isLeftOut(key)) {
                if (live(key).isEmpty()) {
                    connected |= connect(c);
                } else {
                    unreachable.settled(key);
                }
            }
        }
        return connected;
    }

    private boolean connect(NvmeConnection c) {
        String target = Unreachable.target(c);
        if (unreachable.failedLately(target)) {
            notConnected(c, target + " did not answer lately; connected once a probe of it is answered");
            return false;
        }
        pass.mutations.add("nvme connect " + c.key());
        try {
            pass.kernel.nvmeConnect(c);
            unreachable.reached(target);
            unreachable.settled(c.key());
            return true;
        } catch (KernelException e) {
            if (!Unreachable.isNetworkError(e.kernelMessage())) {
                pass.fail(c.key(), "nvme connect", e.kernelMessage());
                return false;
            }
            unreachable.failed(target);
            unanswered(c, "import from " + target + " not connected: " + e.kernelMessage(),
                    () -> pass.fail(c.key(), "nvme connect", e.kernelMessage()));
            return false;
        }
    }

    private void notConnected(NvmeConnection c, String why) {
        unanswered(c, "import not connected: " + why, () -> pass.waitFor(c.key(), why));
    }

    /**
     * An import whose target does not answer: a witness (its silence is the news, nothing to
     * wait for), a side its raid1 group serves without (reported degraded), a standby's
     * preparation for a promotion ({@link #reportPreparedDown}), or {@code otherwise}.
     */
    private void unanswered(NvmeConnection c, String why, Runnable otherwise) {
        unreachable.leftOut(c);
        if (Names.isWitnessNqn(c.subsystemNqn())) {
            return;
        }
        Optional<String> group = raid1Sides.servingGroupOf(pass, c.key());
        if (group.isPresent()) {
            pass.degraded(group.get(), why);
        } else if (pass.prepared.slice(c).isEmpty()) {
            otherwise.run();
        }
    }

    /**
     * Every pass, whatever its focus: each import a standby holds for a promotion
     * ({@link PreparedImports}) that is not live while its target did not answer lately is
     * reported degraded, and the slices over it wait for nothing.
     */
    void reportPreparedDown() {
        for (NvmeConnection c : pass.desired.connections()) {
            Optional<String> slice = pass.prepared.slice(c);
            String target = Unreachable.target(c);
            if (slice.isPresent() && live(c.key()).isEmpty() && unreachable.failedLately(target)) {
                pass.preparedDown.add(Names.namespaceUuid(c.subsystemNqn()));
                pass.degraded(slice.get(), "prepared for a promotion; its import from " + target + " is not connected (no answer lately)");
            }
        }
    }

    void disconnectGarbage() {
        for (ObservedKernel.Controller ctrl : garbage()) {
            pass.mutate("nvme disconnect", ctrl.name() + " (" + ctrl.subsystemNqn() + ")",
                    () -> pass.kernel.nvmeDisconnect(ctrl.name()));
        }
    }

    boolean anyGarbage() {
        return !garbage().isEmpty();
    }

    /** This node's imports no desired state names. */
    private List<ObservedKernel.Controller> garbage() {
        Set<String> ownHostNqns = new HashSet<>();
        ownHostNqns.add(Names.hostNqn(pass.nodeId()));
        pass.desired.connections().forEach(c -> ownHostNqns.add(c.hostNqn()));
        Set<String> desiredKeys = new HashSet<>();
        pass.desired.connections().forEach(c -> desiredKeys.add(c.key()));
        List<ObservedKernel.Controller> garbage = new ArrayList<>();
        for (ObservedKernel.Controller ctrl : pass.observed.controllers()) {
            boolean desired = desiredKeys.contains(ctrl.connectionKey());
            if (!desired && ownHostNqns.contains(ctrl.hostNqn()) && !ctrl.state().equals("deleting")) {
                garbage.add(ctrl);
            }
        }
        return garbage;
    }

    private Optional<ObservedKernel.Controller> live(String connectionKey) {
        return pass.controllers(connectionKey).stream().filter(ctrl -> !ctrl.state().equals("deleting")).findFirst();
    }
}
