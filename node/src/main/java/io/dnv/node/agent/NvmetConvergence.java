package io.dnv.node.agent;

import io.dnv.core.kernel.AnaGroups;
import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.Nqn;
import io.dnv.core.kernel.NvmetNamespace;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.kernel.NvmetSubsystem;
import io.dnv.core.kernel.ObservedKernel;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * nvmet: the node's ports with their ANA groups, the subsystems it exports (namespace, allowed
 * hosts, port links), and the removal of exports no desired state names. An agent owns the
 * ports it was given and the subsystems linked only to them (or backed by its dm devices);
 * it never touches another agent's objects in a shared kernel.
 */
final class NvmetConvergence {

    private final Pass pass;
    private final DeviceResolver devices;
    private final Isolation isolation;
    private final Set<String> hostsCreated = new HashSet<>();

    NvmetConvergence(Pass pass, DeviceResolver devices, Isolation isolation) {
        this.pass = pass;
        this.devices = devices;
        this.isolation = isolation;
    }

    /**
     * Ports and their ANA groups. While the node is cut off ({@link Isolation}) every group of a
     * volume port is inaccessible: asked when the port is compared, not when the pass began, as a
     * pass may have waited for most of the cut on the writes it holds.
     */
    void convergePorts() {
        Set<Integer> volumePorts = Isolation.volumePorts(pass.desired);
        for (NvmetPort want : pass.desired.ports()) {
            Optional<ObservedKernel.Port> live = port(want.id());
            if (live.isEmpty()) {
                if (!pass.mutate("nvmet port create", "port " + want.id(), () -> pass.kernel.nvmetPortCreate(want))) {
                    continue;
                }
            } else if (!sameListener(want, live.get())) {
                pass.fail("port " + want.id(), "nvmet port check",
                        "listens on " + live.get().address() + ":" + live.get().serviceId() + ", desired "
                                + want.address() + ":" + want.serviceId() + "; an address cannot change under live exports");
                continue;
            }
            Map<Integer, AnaState> liveGroups = live.map(ObservedKernel.Port::anaGroups).orElse(Map.of(AnaGroups.DEFAULT, AnaState.OPTIMIZED));
            boolean inaccessible = volumePorts.contains(want.id()) && isolation.isolated();
            want.anaGroups().forEach((group, desiredState) -> {
                AnaState state = inaccessible ? AnaState.INACCESSIBLE : desiredState;
                String object = "port " + want.id() + " ana group " + group;
                if (!liveGroups.containsKey(group)
                        && !pass.mutate("nvmet ana group create", object, () -> pass.kernel.nvmetAnaGroupCreate(want.id(), group))) {
                    return;
                }
                if (liveGroups.get(group) != state) {
                    pass.mutate("nvmet ana state " + state.configfs(), object, () -> pass.kernel.nvmetAnaState(want.id(), group, state));
                }
            });
        }
    }

    /** Each export on its own, side by side ({@link Lanes}). */
    void convergeSubsystems(Lanes lanes) {
        List<List<NvmetSubsystem>> each = new ArrayList<>();
        for (NvmetSubsystem want : pass.desired.subsystems()) {
            if (pass.focus.includes(want.nqn())) {
                each.add(List.of(want));
            }
        }
        lanes.run(each, this::converge);
    }

    private void converge(NvmetSubsystem want) {
        String nqn = want.nqn();
        Optional<ObservedKernel.Subsystem> live = subsystem(nqn);
        if (live.isEmpty()) {
            // Created only once every namespace's device exists, so the namespace goes in with it:
            // an empty, unlinked subsystem names no port or device of this node, and an agent that
            // cannot tell it made it would never collect it (a delete right behind a create left one).
            Optional<NvmetNamespace> missing = want.namespaces().stream().filter(ns -> devices.path(ns.device()).isEmpty()).findFirst();
            if (missing.isPresent()) {
                pass.waitFor(nqn, "namespace " + missing.get().nsid() + ": " + missing.get().device().symbol() + " does not exist yet");
                return;
            }
            if (!pass.mutate("nvmet subsystem create", nqn,
                    () -> pass.kernel.nvmetSubsystemCreate(nqn, want.cntlidMin(), want.cntlidMax(), want.serial()))) {
                return;
            }
        } else if (live.get().cntlidMin() != want.cntlidMin() || live.get().cntlidMax() != want.cntlidMax()
                || !live.get().serial().equals(want.serial())) {
            pass.fail(nqn, "nvmet subsystem check", "has cntlid " + live.get().cntlidMin() + "-"
                    + live.get().cntlidMax() + " serial " + live.get().serial() + ", desired " + want.cntlidMin() + "-"
                    + want.cntlidMax() + " serial " + want.serial() + "; these cannot change under live controllers");
            return;
        }
        List<String> liveHosts = live.map(ObservedKernel.Subsystem::allowedHosts).orElse(List.of());
        if (live.map(ObservedKernel.Subsystem::allowAnyHost).orElse(false)) {
            pass.mutate("nvmet allow_any_host 0", nqn, () -> pass.kernel.nvmetAllowAnyHost(nqn, false));
        }
        for (String host : want.allowedHosts()) {
            if (liveHosts.contains(host)) {
                continue;
            }
            if (ensureHost(host)) {
                pass.mutate("nvmet allow host " + host, nqn, () -> pass.kernel.nvmetAllowHost(nqn, host));
            } else {
                pass.unsettled.add(nqn); // the export does not admit its host yet
            }
        }
        boolean disallowed = false;
        for (String host : liveHosts) {
            if (!want.allowedHosts().contains(host)) {
                disallowed |= pass.mutate("nvmet disallow host " + host, nqn, () -> pass.kernel.nvmetDisallowHost(nqn, host));
            }
        }
        if (disallowed && Names.isInternalNqn(nqn) && live.isPresent()) {
            fence(nqn, live.get());
        }
        List<ObservedKernel.Namespace> liveNamespaces = live.map(ObservedKernel.Subsystem::namespaces).orElse(List.of());
        boolean namespacesReady = true;
        for (NvmetNamespace ns : want.namespaces()) {
            namespacesReady &= converge(nqn, ns, liveNamespaces.stream().filter(n -> n.nsid() == ns.nsid()).findFirst());
        }
        for (ObservedKernel.Namespace ns : liveNamespaces) {
            if (want.namespaces().stream().noneMatch(n -> n.nsid() == ns.nsid())) {
                pass.mutate("nvmet namespace remove " + ns.nsid(), nqn, () -> pass.kernel.nvmetNamespaceRemove(nqn, ns.nsid()));
            }
        }
        if (!namespacesReady) {
            return; // exporting before the namespace is there would show hosts an empty subsystem
        }
        for (int portId : want.ports()) {
            if (port(portId).map(p -> !p.subsystems().contains(nqn)).orElse(true)) {
                pass.mutate("nvmet link port " + portId, nqn, () -> pass.kernel.nvmetLink(portId, nqn));
            }
        }
        for (ObservedKernel.Port p : ownPorts()) {
            if (p.subsystems().contains(nqn) && !want.ports().contains(p.id())) {
                pass.mutate("nvmet unlink port " + p.id(), nqn, () -> pass.kernel.nvmetUnlink(p.id(), nqn));
            }
        }
    }

    /**
     * A host taken off an internal export (a failed controller's LD, a leg exported to it) must
     * not write through it again (dataplane.md, "Failover and fencing"). Linux keeps a live
     * connection when its host leaves the allow-list; unlinking the subsystem from its port drops
     * every connection (the others reconnect), and a suspend and resume of each namespace's
     * device waits for I/O already on its way, so nothing of the fenced host lands afterwards.
     * In that order: suspending first would let the dropped host's held I/O land at the resume.
     */
    private void fence(String nqn, ObservedKernel.Subsystem live) {
        for (ObservedKernel.Port p : ownPorts()) {
            if (p.subsystems().contains(nqn)) {
                boolean relinked = pass.mutate("nvmet unlink port " + p.id() + " (fence)", nqn, () -> pass.kernel.nvmetUnlink(p.id(), nqn))
                        && pass.mutate("nvmet link port " + p.id() + " (fence)", nqn, () -> pass.kernel.nvmetLink(p.id(), nqn));
                if (!relinked) {
                    return;
                }
            }
        }
        for (ObservedKernel.Namespace ns : live.namespaces()) {
            String dm = ns.devicePath().startsWith("/dev/mapper/") ? ns.devicePath().substring("/dev/mapper/".length()) : null;
            if (dm != null && pass.dm(dm).isPresent()) {
                boolean drained = pass.mutate("dm suspend (fence)", dm, () -> pass.kernel.dmSuspend(dm))
                        && pass.mutate("dm resume (fence)", dm, () -> pass.kernel.dmResume(dm));
                if (!drained) {
                    pass.unsettled.add(nqn);
                }
            }
        }
    }

    /**
     * A namespace's device path and identity cannot change while it is enabled: replace it whole.
     * Its ANA group can, and is moved in place: hosts keep the path and learn the group's state
     * (a failover moves a promoted standby into the node's active group this way).
     */
    private boolean converge(String nqn, NvmetNamespace want, Optional<ObservedKernel.Namespace> live) {
        Optional<String> path = devices.path(want.device());
        if (path.isEmpty()) {
            pass.waitFor(nqn, "namespace " + want.nsid() + ": " + want.device().symbol() + " does not exist yet");
            return false;
        }
        String object = nqn + " namespace " + want.nsid();
        int failuresBefore = pass.failures.size();
        try {
            return convergeNamespace(nqn, want, live, path.get(), object);
        } finally {
            if (pass.failures.size() > failuresBefore) {
                pass.unsettled.add(nqn);
            }
        }
    }

    private boolean convergeNamespace(String nqn, NvmetNamespace want, Optional<ObservedKernel.Namespace> live, String devicePath,
                                      String object) {
        Optional<String> path = Optional.of(devicePath);
        if (live.isPresent()) {
            ObservedKernel.Namespace ns = live.get();
            boolean same = ns.devicePath().equals(path.get()) && ns.uuid().equals(want.uuid())
                    && ns.nguid().equalsIgnoreCase(want.nguid());
            if (same) {
                if (ns.anaGroup() != want.anaGroup() && !deviceInPlace(want)) {
                    // A promoted standby's namespace joins its optimized group only once its error
                    // device became the stripe: hosts would read and write the error target.
                    pass.waitFor(nqn, "namespace " + want.nsid() + " stays in ANA group " + ns.anaGroup() + " until "
                            + want.device().symbol() + " is in place");
                    return true;
                }
                return (ns.anaGroup() == want.anaGroup() || pass.mutate("nvmet namespace ana_grpid " + want.anaGroup(), object,
                        () -> pass.kernel.nvmetNamespaceAnaGroup(nqn, want.nsid(), want.anaGroup())))
                        && (ns.enabled() || pass.mutate("nvmet namespace enable", object,
                        () -> pass.kernel.nvmetNamespaceEnable(nqn, want.nsid(), true)));
            }
            if (!pass.mutate("nvmet namespace remove", object, () -> pass.kernel.nvmetNamespaceRemove(nqn, want.nsid()))) {
                return false;
            }
        }
        return pass.mutate("nvmet namespace create", object, () -> pass.kernel.nvmetNamespaceCreate(nqn, want.nsid(),
                path.get(), want.uuid(), want.nguid(), want.anaGroup()))
                && pass.mutate("nvmet namespace enable", object, () -> pass.kernel.nvmetNamespaceEnable(nqn, want.nsid(), true));
    }

    /** Whether this pass left the namespace's device as desired (not blocked below, not refused). */
    private boolean deviceInPlace(NvmetNamespace want) {
        return !(want.device() instanceof io.dnv.core.kernel.DeviceRef.Dm dm)
                || !(pass.blocked.contains(dm.name()) || pass.unsettled.contains(dm.name()));
    }

    /** One host entry for all the exports that allow it, whichever lane gets there first. */
    private synchronized boolean ensureHost(String host) {
        if (pass.observed.hosts().contains(host) || hostsCreated.contains(host)) {
            return true;
        }
        boolean ok = pass.mutate("nvmet host create", host, () -> pass.kernel.nvmetHostCreate(host));
        if (ok) {
            hostsCreated.add(host);
        }
        return ok;
    }

    /** Unexports every subsystem this node owns that no desired state names. */
    void removeGarbageSubsystems() {
        Set<String> desired = new HashSet<>();
        pass.desired.subsystems().forEach(s -> desired.add(s.nqn()));
        for (ObservedKernel.Subsystem s : pass.observed.subsystems()) {
            if (!desired.contains(s.nqn()) && owns(s)) {
                remove(s);
            }
        }
    }

    private void remove(ObservedKernel.Subsystem s) {
        String nqn = s.nqn();
        for (ObservedKernel.Port p : ownPorts()) {
            if (p.subsystems().contains(nqn)) {
                pass.mutate("nvmet unlink port " + p.id(), nqn, () -> pass.kernel.nvmetUnlink(p.id(), nqn));
            }
        }
        for (ObservedKernel.Namespace ns : s.namespaces()) {
            pass.mutate("nvmet namespace remove " + ns.nsid(), nqn, () -> pass.kernel.nvmetNamespaceRemove(nqn, ns.nsid()));
        }
        for (String host : s.allowedHosts()) {
            pass.mutate("nvmet disallow host " + host, nqn, () -> pass.kernel.nvmetDisallowHost(nqn, host));
        }
        pass.mutate("nvmet subsystem remove", nqn, () -> pass.kernel.nvmetSubsystemRemove(nqn));
    }

    /** ANA groups no export uses any more, and host entries no subsystem allows any more. */
    void removeGarbageGroupsAndHosts() {
        for (NvmetPort want : pass.desired.ports()) {
            port(want.id()).ifPresent(live -> {
                Set<Integer> inUse = groupsInUse(live);
                live.anaGroups().keySet().stream()
                        .filter(g -> g != AnaGroups.DEFAULT && !want.anaGroups().containsKey(g) && !inUse.contains(g))
                        .forEach(g -> pass.mutate("nvmet ana group remove", "port " + want.id() + " ana group " + g,
                                () -> pass.kernel.nvmetAnaGroupRemove(want.id(), g)));
            });
        }
        Set<String> referenced = new HashSet<>();
        pass.observed.subsystems().forEach(s -> referenced.addAll(s.allowedHosts()));
        pass.desired.subsystems().forEach(s -> referenced.addAll(s.allowedHosts()));
        for (String host : pass.observed.hosts()) {
            // An entry that is no NQN was not made by an agent, and the kernel port refuses to name it.
            if (!referenced.contains(host) && Nqn.valid(host)) {
                pass.mutate("nvmet host remove", host, () -> pass.kernel.nvmetHostRemove(host));
            }
        }
    }

    /** The ANA groups the namespaces of the port's exports are in. */
    private Set<Integer> groupsInUse(ObservedKernel.Port port) {
        Set<Integer> groups = new HashSet<>();
        port.subsystems().forEach(nqn -> pass.subsystem(nqn).ifPresent(s -> s.namespaces().forEach(ns -> groups.add(ns.anaGroup()))));
        return groups;
    }

    private boolean owns(ObservedKernel.Subsystem s) {
        if (!s.nqn().startsWith(Names.NQN_PREFIX)) {
            return false;
        }
        if (s.nqn().equals(Names.witnessNqn(pass.nodeId()))) {
            return true;   // no namespace names this node, but the NQN does (left unlinked by a crash, say)
        }
        List<ObservedKernel.Port> linked = pass.observed.ports().stream().filter(p -> p.subsystems().contains(s.nqn())).toList();
        Set<Integer> own = ownPortIds();
        if (!linked.isEmpty() && linked.stream().allMatch(p -> own.contains(p.id()))) {
            return true;
        }
        return s.namespaces().stream().anyMatch(ns -> ns.devicePath().startsWith("/dev/mapper/" + Names.dmPrefix(pass.nodeId())));
    }

    private Set<Integer> ownPortIds() {
        Set<Integer> ids = new HashSet<>();
        pass.desired.ports().forEach(p -> ids.add(p.id()));
        return ids;
    }

    private List<ObservedKernel.Port> ownPorts() {
        Set<Integer> own = ownPortIds();
        return pass.observed.ports().stream().filter(p -> own.contains(p.id())).toList();
    }

    private Optional<ObservedKernel.Port> port(int id) {
        return pass.observed.ports().stream().filter(p -> p.id() == id).findFirst();
    }

    private Optional<ObservedKernel.Subsystem> subsystem(String nqn) {
        return pass.subsystem(nqn);
    }

    private static boolean sameListener(NvmetPort want, ObservedKernel.Port live) {
        return want.transport().equals(live.transport()) && want.addressFamily().equals(live.addressFamily())
                && want.address().equals(live.address()) && want.serviceId() == live.serviceId();
    }
}
