package io.dnv.node.sim.nvme;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The network between simulated kernels: which nvmet port listens at which address, and which
 * pairs of kernels cannot reach each other. Addresses are names, not sockets. One per test world.
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

    private final Map<Address, Listener> listeners = new HashMap<>();
    private final Set<Set<String>> cuts = new HashSet<>();
    private final List<Nvmet> targets = new ArrayList<>();

    public Fabric() {
    }

    /**
     * Drops every connection between the two kernels, both ways, and refuses new ones until
     * {@link #heal}. Hosts see their controllers go to connecting at once (the simulation does not
     * wait for keep-alive timeouts); targets free the controllers and their cntlids.
     */
    public void cut(String kernelA, String kernelB) {
        if (kernelA.equals(kernelB)) {
            throw new IllegalArgumentException("a kernel has no link to itself to cut: " + kernelA);
        }
        List<Nvmet> snapshot;
        synchronized (this) {
            cuts.add(Set.of(kernelA, kernelB));
            snapshot = List.copyOf(targets);
        }
        // Outside our lock: Nvmet takes its own lock and calls back into us.
        for (Nvmet t : snapshot) {
            if (t.kernelName().equals(kernelA)) {
                t.dropConnectionsFrom(kernelB);
            } else if (t.kernelName().equals(kernelB)) {
                t.dropConnectionsFrom(kernelA);
            }
        }
    }

    public synchronized void heal(String kernelA, String kernelB) {
        cuts.remove(Set.of(kernelA, kernelB));
    }

    /** A kernel connecting to its own ports (a controller node importing its own LD) goes over no link. */
    synchronized boolean isCut(String kernelA, String kernelB) {
        return !kernelA.equals(kernelB) && cuts.contains(Set.of(kernelA, kernelB));
    }

    synchronized void register(Nvmet target) {
        targets.add(target);
    }

    /** Starts listening; refused when another port (of any kernel) already listens there. */
    synchronized boolean listen(Address address, Nvmet target, int portId) {
        Listener current = listeners.get(address);
        if (current != null) {
            return current.equals(new Listener(target, portId));
        }
        listeners.put(address, new Listener(target, portId));
        return true;
    }

    synchronized void unlisten(Address address, Nvmet target, int portId) {
        listeners.remove(address, new Listener(target, portId));
    }

    synchronized Optional<Listener> lookup(Address address) {
        return Optional.ofNullable(listeners.get(address));
    }
}
