package io.dnv.node.agent;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.kernel.NvmetSubsystem;

import java.util.HashSet;
import java.util.Set;
import java.util.TreeSet;

/**
 * Whether this node may have been failed over behind its back (docs/failover.md, "A node that
 * comes back"). Every import its volumes hold from other nodes went down at once: the node was
 * cut off, and the control plane, which no longer hears it either, may have declared it failed,
 * fenced it and promoted its volumes' standbys meanwhile. Only the control plane knows; the node
 * learns it when it is heard from again, which is the moment its hosts reconnect to it too. So
 * it decides while it is cut off: every ANA group of its volume ports turns inaccessible (a host
 * that reconnects sends it no I/O and sees no error), and it serves again only as the desired
 * state the control plane gives it afterwards says, never in the role it had.
 *
 * <p>Shared by the agent, its passes and its {@link SideWatcher}, which decides: the watcher sets
 * the groups' states itself (a pass may be waiting on the very writes the cut holds), and a pass
 * under way when it did must not set them back.
 */
final class Isolation {

    private volatile boolean isolated;
    /** The generation of the desired state the agent holds: the imports the watcher judges belong to one. */
    private long generation = -1;

    boolean isolated() {
        return isolated;
    }

    /**
     * Cuts the node off, if the imports found down are those of the desired state the agent
     * holds now. The watcher looks at the kernel while the agent may already have taken a new
     * desired state and its pass removed those very imports on purpose: that is not a cut.
     */
    synchronized boolean enter(long judgedGeneration) {
        if (judgedGeneration != generation) {
            return false;
        }
        isolated = true;
        return true;
    }

    /** The agent took desired state {@code generation}: the node serves as it says. Answers whether it was cut off until now. */
    synchronized boolean take(long generation) {
        this.generation = generation;
        boolean was = isolated;
        isolated = false;
        return was;
    }

    /** The ports hosts reach the node's volumes on: those its volume exports are linked to. */
    static Set<Integer> volumePorts(DesiredNode desired) {
        Set<Integer> ports = new TreeSet<>();
        for (NvmetSubsystem s : desired.subsystems()) {
            if (Names.isVolumeNqn(s.nqn())) {
                ports.addAll(s.ports());
            }
        }
        return ports;
    }

    /**
     * The imports of the node's volumes (LDs, other actives' legs) that the desired state names
     * from another node: those that go when the node is cut off, and that fencing refuses. Witness
     * imports are not fenced: one live again after a heal says nothing of what the node may serve.
     */
    static Set<String> remoteImports(DesiredNode desired) {
        Set<String> remote = new HashSet<>();
        for (NvmeConnection c : desired.connections()) {
            if (Names.isInternalNqn(c.subsystemNqn()) && desired.ports().stream().noneMatch(p -> isTarget(p, c))) {
                remote.add(c.key());
            }
        }
        return remote;
    }

    /** An import of this node's own port goes over no link (tests give several kernels one address: by port too). */
    private static boolean isTarget(NvmetPort port, NvmeConnection c) {
        return port.transport().equals(c.transport()) && port.address().equals(c.address()) && port.serviceId() == c.serviceId();
    }
}
