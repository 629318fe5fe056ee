package io.dnv.node.agent;

import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.ObservedKernel;

import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * NVMe-oF imports: one controller per desired connection. A controller that is reconnecting
 * is left to the kernel (its ctrl_loss_tmo decides); one that is gone is connected again.
 * Imports no desired state names are disconnected after the devices above them are gone.
 */
final class ConnectionConvergence {

    private final Pass pass;

    ConnectionConvergence(Pass pass) {
        this.pass = pass;
    }

    /** Connects what is missing; true when anything was connected (namespaces must be looked up again). */
    boolean connect() {
        boolean connected = false;
        for (NvmeConnection c : pass.desired.connections()) {
            String key = c.key();
            if (pass.focus.includes(key) && live(key).isEmpty()) {
                connected |= pass.mutate("nvme connect", key, () -> pass.kernel.nvmeConnect(c));
            }
        }
        return connected;
    }

    void disconnectGarbage() {
        Set<String> ownHostNqns = new HashSet<>();
        ownHostNqns.add(Names.hostNqn(pass.nodeId()));
        pass.desired.connections().forEach(c -> ownHostNqns.add(c.hostNqn()));
        Set<String> desiredKeys = new HashSet<>();
        pass.desired.connections().forEach(c -> desiredKeys.add(c.key()));
        for (ObservedKernel.Controller ctrl : pass.observed.controllers()) {
            boolean desired = desiredKeys.contains(ctrl.connectionKey());
            if (!desired && ownHostNqns.contains(ctrl.hostNqn()) && !ctrl.state().equals("deleting")) {
                pass.mutate("nvme disconnect", ctrl.name() + " (" + ctrl.subsystemNqn() + ")",
                        () -> pass.kernel.nvmeDisconnect(ctrl.name()));
            }
        }
    }

    private Optional<ObservedKernel.Controller> live(String connectionKey) {
        return pass.controllers(connectionKey).stream().filter(ctrl -> !ctrl.state().equals("deleting")).findFirst();
    }
}
