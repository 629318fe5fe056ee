package io.dnv.app;

import io.dnv.http.SimulatedFaults;
import io.dnv.node.sim.SimulatedKernel;
import org.apache.pekko.actor.typed.ActorSystem;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The faults `POST /v1/sim/nodes/{id}/faults` injects into `./dnv dev` ({@link SimulatedFaults}).
 * A crash powers the kernel off first (its links go silent) and then ends the node's member, so
 * its agent never acts on the kernel again; a restarted agent is a new member over the same
 * kernel. Faults on one node run one at a time, off the HTTP threads.
 */
final class DevFaults implements SimulatedFaults {

    private final DevCommand.DevSystem dev;
    /** Members a fault told to stop: gone, or on their way out. */
    private final java.util.Set<ActorSystem<?>> stopped = java.util.concurrent.ConcurrentHashMap.newKeySet();

    DevFaults(DevCommand.DevSystem dev) {
        this.dev = dev;
    }

    @Override
    public CompletionStage<Optional<NodeState>> inject(String nodeId, String kind) {
        int index = -1;
        for (int i = 0; i < dev.infos.size(); i++) {
            if (dev.infos.get(i).nodeId().equals(nodeId)) {
                index = i;
            }
        }
        if (index < 0) {
            return CompletableFuture.completedFuture(Optional.empty());
        }
        int node = index;
        return CompletableFuture.supplyAsync(() -> Optional.of(apply(node, kind)));
    }

    /**
     * Answers at once (202): a member's orderly stop (leaving the cluster, handing off) takes
     * longer than a request may, so a new member for the node starts in the background once the
     * old one is gone; two agents never act on one kernel.
     */
    private NodeState apply(int index, String kind) {
        synchronized (dev.kernels.get(index)) {
            SimulatedKernel kernel = dev.kernels.get(index);
            switch (kind) {
                case "crash" -> {
                    kernel.powerOff();
                    stop(dev.nodes.get(index));
                }
                case "restart-agent" -> {
                    ActorSystem<?> old = dev.nodes.get(index);
                    stop(old);
                    replaceWhenGone(index, old);
                }
                case "heal" -> {
                    kernel.powerOn();
                    ActorSystem<?> current = dev.nodes.get(index);
                    if (stopped.contains(current)) {
                        replaceWhenGone(index, current);
                    }
                }
                default -> throw new IllegalArgumentException("no fault " + kind);
            }
            return new NodeState(dev.infos.get(index).nodeId(), kind, kernel.isOn(), running(index));
        }
    }

    private void replaceWhenGone(int index, ActorSystem<?> old) {
        old.getWhenTerminated().thenRun(() -> {
            synchronized (dev.kernels.get(index)) {
                if (dev.nodes.get(index) == old) {
                    dev.nodes.set(index, dev.startMember(index));
                }
            }
        });
    }

    private void stop(ActorSystem<?> member) {
        stopped.add(member);
        member.terminate();
    }

    private boolean running(int index) {
        return !stopped.contains(dev.nodes.get(index));
    }
}
