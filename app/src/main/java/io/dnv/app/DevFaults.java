package io.dnv.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.dnv.http.SimulatedFaults;
import io.dnv.node.sim.SimulatedKernel;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.remote.RARP;
import org.apache.pekko.remote.transport.ThrottlerTransportAdapter;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The faults `POST /v1/sim/nodes/{id}/faults` injects into `./dnv dev` ({@link SimulatedFaults}).
 * A crash powers the kernel off first (its links go silent), silences the node's member (the
 * others drop what it sends, as for a partition) and then ends it, so its agent never acts on the
 * kernel again and nothing of its orderly stop is heard; a restarted agent is a new member over
 * the same kernel. Faults on one node run one at a time, off the HTTP threads.
 *
 * <p>A partition cuts the node off while everything on it runs: the simulated fabric drops every
 * frame between its kernel and the others ({@code Fabric.partition}: I/O on its links is held, not
 * failed), and the cluster transport drops every frame between its member and the others. That is
 * Artery's test mode (on in `./dnv dev` only, {@link #TRANSPORT_TEST_MODE}): each transport, told to
 * blackhole an address, drops what it would send there on its control stream and everything it
 * receives from there, which is how Pekko's own multi-node tests partition members. Both ends are
 * told, so the member's ordinary messages (its agent's heartbeats) are dropped too, on arrival.
 *
 * <p>A member the cluster removes (the split-brain resolver downs a member that stays unreachable,
 * on both sides of the partition) ends, and a new one starts in its place, as systemd starts the
 * agent process again ({@link MemberExit#REMOVED}); while the node is partitioned, the new one is
 * cut off as well before it tries to join. {@code heal} ends the partition: every blackhole goes,
 * the node's current member is told to join again if it is no member yet.
 */
final class DevFaults implements SimulatedFaults {

    /** What `./dnv dev`'s members need for a partition: Artery's blackholes. Never on in production. */
    static final Config TRANSPORT_TEST_MODE = ConfigFactory.parseString("pekko.remote.artery.advanced.test-mode = on");

    private final DevCommand.DevSystem dev;
    /** Members a fault told to stop: gone, or on their way out. */
    private final Set<ActorSystem<?>> stopped = ConcurrentHashMap.newKeySet();
    /** Partitioned nodes (by index), each with the addresses of its members cut off so far. Guarded by this. */
    private final Map<Integer, Set<Address>> partitioned = new HashMap<>();
    /** Crashed nodes (by index), each with the address of its member silenced. Guarded by this. */
    private final Map<Integer, Address> crashed = new HashMap<>();

    /**
     * One fault at a time per node; not the kernel's own lock, which its operations hold and a
     * crash must not wait for.
     */
    private final Map<Integer, Object> turns = new ConcurrentHashMap<>();

    DevFaults(DevCommand.DevSystem dev) {
        this.dev = dev;
    }

    private Object turn(int index) {
        return turns.computeIfAbsent(index, i -> new Object());
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
        synchronized (turn(index)) {
            SimulatedKernel kernel = dev.kernels.get(index);
            switch (kind) {
                case "crash" -> {
                    // Both at the same moment on a real machine: the member first, its silence is
                    // asked of the transports at once, where the kernel's power-off waits its turn.
                    ActorSystem<?> member = dev.nodes.get(index);
                    silence(index, member);
                    long t = System.nanoTime();
                    kernel.powerOff();
                    long ms = (System.nanoTime() - t) / 1_000_000;
                    if (ms > 100) {
                        System.err.println("dnv dev: node " + dev.infos.get(index).nodeId() + "'s kernel took " + ms + " ms to power off");
                    }
                    stop(member);
                }
                case "restart-agent" -> {
                    ActorSystem<?> old = dev.nodes.get(index);
                    stop(old);
                    replaceWhenGone(index, old);
                }
                case "partition" -> partition(index);
                case "heal" -> {
                    kernel.powerOn();
                    unsilence(index);
                    rejoin(index);
                    ActorSystem<?> current = dev.nodes.get(index);
                    if (stopped.contains(current)) {
                        replaceWhenGone(index, current);
                    }
                }
                default -> throw new IllegalArgumentException("no fault " + kind);
            }
            return new NodeState(dev.infos.get(index).nodeId(), kind, kernel.isOn(), running(index), isPartitioned(index));
        }
    }

    /**
     * A member of node {@code index} started, not joined yet: cut off from the others if its node
     * is partitioned, and the others' new member from every partitioned node's. Once the cluster
     * removes it, a new one takes its place.
     */
    synchronized void started(int index, ActorSystem<?> member) {
        partitioned.forEach((node, addresses) -> {
            if (node == index) {
                addresses.add(address(member));
                others(index).forEach(o -> blackhole(member, o));
            } else {
                blackhole(member, dev.nodes.get(node));
            }
        });
        member.getWhenTerminated().thenRun(() -> {
            Optional<CoordinatedShutdown.Reason> why = CoordinatedShutdown.get(member).getShutdownReason();
            if (!dev.closing && !stopped.contains(member) && MemberExit.code(why) == MemberExit.REMOVED) {
                System.err.println("dnv dev: the cluster removed node " + dev.infos.get(index).nodeId() + "'s member ("
                        + why.map(Object::toString).orElse("") + "); a new one starts in its place");
                replaceWhenGone(index, member);
            }
        });
    }

    private synchronized void partition(int index) {
        if (partitioned.containsKey(index)) {
            return;
        }
        dev.fabric.partition(dev.kernels.get(index).name());
        ActorSystem<?> member = dev.nodes.get(index);
        partitioned.put(index, new HashSet<>(Set.of(address(member))));
        others(index).forEach(o -> blackhole(member, o));
    }

    /**
     * A crashed machine says nothing more, not even its member's goodbye: an orderly stop leaves
     * the cluster and ends its actors over seconds, and meanwhile the member would go on sending
     * its node's heartbeats. The others drop everything from it, at once, as a real crash does.
     */
    private synchronized void silence(int index, ActorSystem<?> member) {
        crashed.put(index, address(member));
        others(index).forEach(o -> blackhole(member, o));
    }

    /** The node powers on again: its next member is heard (the crashed one is gone by then). */
    private synchronized void unsilence(int index) {
        Address gone = crashed.remove(index);
        if (gone != null) {
            others(index).forEach(o -> throttle(o, gone, ThrottlerTransportAdapter.unthrottledThrottleMode()));
        }
    }

    /** Ends a partition of the node: its links carry frames again, its member joins if it is no member yet. */
    private synchronized void rejoin(int index) {
        Set<Address> cut = partitioned.remove(index);
        if (cut == null) {
            return;
        }
        dev.fabric.rejoin(dev.kernels.get(index).name());
        List<ActorSystem<?>> others = others(index);
        for (ActorSystem<?> o : others) {
            cut.forEach(a -> throttle(o, a, ThrottlerTransportAdapter.unthrottledThrottleMode()));
        }
        ActorSystem<?> member = dev.nodes.get(index);
        others.forEach(o -> throttle(member, address(o), ThrottlerTransportAdapter.unthrottledThrottleMode()));
        MemberStatus status = Cluster.get(member).selfMember().status();
        if (!status.equals(MemberStatus.up()) && !status.equals(MemberStatus.weaklyUp())) {
            Cluster.get(member).manager().tell(Join.create(Cluster.get(dev.control).selfMember().address()));
        }
    }

    /** Every member but node {@code index}'s: the control member and the other nodes' current ones. */
    private List<ActorSystem<?>> others(int index) {
        List<ActorSystem<?>> others = new ArrayList<>();
        others.add(dev.control);
        for (int i = 0; i < dev.nodes.size(); i++) {
            if (i != index) {
                others.add(dev.nodes.get(i));
            }
        }
        return others;
    }

    /** Both ends drop what goes between the two members. */
    private static void blackhole(ActorSystem<?> a, ActorSystem<?> b) {
        throttle(a, address(b), ThrottlerTransportAdapter.blackholeThrottleMode());
        throttle(b, address(a), ThrottlerTransportAdapter.blackholeThrottleMode());
    }

    private static void throttle(ActorSystem<?> member, Address to, ThrottlerTransportAdapter.ThrottleMode mode) {
        ((RARP) RARP.get(member.classicSystem())).provider().transport()
                .managementCommand(new ThrottlerTransportAdapter.SetThrottle(to, ThrottlerTransportAdapter.bothDirection(), mode));
    }

    private static Address address(ActorSystem<?> member) {
        return Cluster.get(member).selfMember().address();
    }

    private void replaceWhenGone(int index, ActorSystem<?> old) {
        old.getWhenTerminated().thenRun(() -> {
            synchronized (turn(index)) {
                if (!dev.closing && dev.nodes.get(index) == old) {
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

    private synchronized boolean isPartitioned(int index) {
        return partitioned.containsKey(index);
    }
}
