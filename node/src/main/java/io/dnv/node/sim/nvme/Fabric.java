package io.dnv.node.sim.nvme;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The network between simulated kernels: which nvmet port listens at which address, which kernel
 * owns an address, and which pairs of kernels cannot reach each other. Addresses are names, not
 * sockets. One per test world.
 *
 * <p>A link that goes does not close anything: frames are dropped both ways, as when a switch
 * port or a whole machine goes. Each end notices only by its own timers (the host's keep-alive and
 * I/O timeouts, the target's keep-alive timer), and a frame held meanwhile (an I/O, a completion,
 * an AEN, the FIN of a connection one end tore down) arrives when the link returns, as TCP
 * retransmits it; a connection one end tore down meanwhile answers with RST then. Three things
 * make a link silent: a cut between two kernels, a partition of one kernel from all others, and a
 * kernel that is powered off (a dead machine: connects to its addresses get no answer either).
 */
public final class Fabric {

    /** What a connect addresses: transport, traddr, trsvcid. */
    record Address(String transport, String traddr, int trsvcid) {
        @Override
        public String toString() {
            return transport + ":" + traddr + ":" + trsvcid;
        }
    }

    /** A listening nvmet port. */
    record Listener(Nvmet target, int portId) {}

    /** One end of this kernel's connections, told when a link to another kernel goes silent or returns. */
    interface Endpoint {
        String kernelName();

        /** Called outside the fabric's lock; the endpoint compares {@link #silent} with what it knew. */
        void linksChanged();
    }

    private final Map<Address, Listener> listeners = new HashMap<>();
    /**
     * Which kernel last listened at an address, kept when it stops: whether a connect there is
     * refused (a live machine, nothing listening) or unanswered (a machine gone silent). By the
     * whole address, not the IP: tests give several kernels one IP.
     */
    private final Map<Address, String> owners = new HashMap<>();
    private final Set<Set<String>> cuts = new HashSet<>();
    private final Set<String> partitioned = new HashSet<>();
    private final Set<String> poweredOff = new HashSet<>();
    private final List<Endpoint> endpoints = new ArrayList<>();

    public Fabric() {
    }

    /** Drops every frame between the two kernels, both ways, until {@link #heal}. */
    public void cut(String kernelA, String kernelB) {
        if (kernelA.equals(kernelB)) {
            throw new IllegalArgumentException("a kernel has no link to itself to cut: " + kernelA);
        }
        synchronized (this) {
            cuts.add(Set.of(kernelA, kernelB));
        }
        changed(Set.of(kernelA, kernelB));
    }

    public void heal(String kernelA, String kernelB) {
        synchronized (this) {
            cuts.remove(Set.of(kernelA, kernelB));
        }
        changed(Set.of(kernelA, kernelB));
    }

    /** The kernel stays up but no frame reaches it or leaves it, to or from any other kernel. */
    public void partition(String kernel) {
        synchronized (this) {
            partitioned.add(kernel);
        }
        changed(null);
    }

    /** Ends a {@link #partition}. */
    public void rejoin(String kernel) {
        synchronized (this) {
            partitioned.remove(kernel);
        }
        changed(null);
    }

    /** A powered-off kernel answers nothing, not even a refusal; a kernel that boots answers again. */
    public void power(String kernel, boolean on) {
        synchronized (this) {
            if (on) {
                poweredOff.remove(kernel);
            } else {
                poweredOff.add(kernel);
            }
        }
        changed(null);
    }

    /** Frames between the two kernels are dropped. A kernel talking to its own ports goes over no link. */
    public synchronized boolean silent(String kernelA, String kernelB) {
        if (kernelA.equals(kernelB)) {
            return false;
        }
        return cuts.contains(Set.of(kernelA, kernelB)) || partitioned.contains(kernelA) || partitioned.contains(kernelB)
                || poweredOff.contains(kernelA) || poweredOff.contains(kernelB);
    }

    /** Whether a connect from {@code kernel} to {@code address} gets no answer at all (a SYN timeout). */
    synchronized boolean unanswered(String kernel, Address address) {
        String owner = owners.get(address);
        return owner != null && silent(kernel, owner);
    }

    synchronized void register(Endpoint endpoint) {
        endpoints.add(endpoint);
    }

    synchronized void unregister(Endpoint endpoint) {
        endpoints.remove(endpoint);
    }

    /** Starts listening; refused when another port (of any kernel) already listens there. */
    synchronized boolean listen(Address address, Nvmet target, int portId) {
        Listener current = listeners.get(address);
        if (current != null) {
            return current.equals(new Listener(target, portId));
        }
        listeners.put(address, new Listener(target, portId));
        owners.put(address, target.kernelName());
        return true;
    }

    synchronized void unlisten(Address address, Nvmet target, int portId) {
        listeners.remove(address, new Listener(target, portId));
    }

    synchronized Optional<Listener> lookup(Address address) {
        return Optional.ofNullable(listeners.get(address));
    }

    /** Tells the endpoints of {@code kernels} (every endpoint when null), outside our lock: they call back in. */
    private void changed(Set<String> kernels) {
        List<Endpoint> told;
        synchronized (this) {
            told = endpoints.stream().filter(e -> kernels == null || kernels.contains(e.kernelName())).toList();
        }
        told.forEach(Endpoint::linksChanged);
    }
}
