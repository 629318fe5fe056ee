package io.dnv.node.sim.nvme;

import io.dnv.core.kernel.AnaGroups;
import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.Nqn;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.node.kernel.KernelException;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.node.sim.block.BlockDevices;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The NVMe-oF target of one simulated kernel, with the semantics of Linux 6.1's nvmet configfs:
 * every method is one mkdir, rmdir, attribute write or symlink, refused with the errno Linux
 * gives, and a refused call changes nothing. Namespaces serve real bytes from devices of this
 * kernel's {@link BlockDevices}.
 */
public final class Nvmet implements Fabric.Endpoint {

    private static final Set<String> TRANSPORTS = Set.of("tcp", "rdma", "fc", "loop");
    private static final Set<String> ADDRESS_FAMILIES = Set.of("ipv4", "ipv6", "ib", "fc", "loop");
    private static final int SERIAL_MAX = 20;

    private final String kernelName;
    private final BlockDevices devices;
    private final Fabric fabric;
    private final KernelLog log = new KernelLog();
    /** Linux 6.1 has one cntlid IDA for all subsystems of the kernel, limited per subsystem to its range. */
    private final Ida cntlids = new Ida();

    private final Map<Integer, NvmetPortState> ports = new TreeMap<>();
    // Listed in NQN order; looked up, on every I/O's path choice too, by NQN: NQNs share long
    // prefixes, which made each tree lookup a string comparison of dozens of characters per level.
    private final Map<String, NvmetSubsystemState> subsystems = new TreeMap<>();
    private final Map<String, NvmetSubsystemState> subsystemsByNqn = new HashMap<>();
    private final Set<String> hosts = new TreeSet<>();
    private final List<NvmetController> controllers = new ArrayList<>();

    /** nvmet's I/O work: a request held below nvmet (a suspended device) holds one of these, not the host. */
    private final ExecutorService io;
    /** nvmet_wq: keep-alive timers. */
    private final ScheduledThreadPoolExecutor timers;

    public Nvmet(String kernelName, BlockDevices devices, Fabric fabric) {
        this.kernelName = kernelName;
        this.devices = devices;
        this.fabric = fabric;
        this.io = Executors.newCachedThreadPool(daemon("nvmet-io-" + kernelName));
        this.timers = new ScheduledThreadPoolExecutor(1, daemon("nvmet-wq-" + kernelName));
        timers.setRemoveOnCancelPolicy(true);
        timers.setKeepAliveTime(1, TimeUnit.SECONDS);
        timers.allowCoreThreadTimeOut(true);
        fabric.register(this);
    }

    private static ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    @Override
    public String kernelName() {
        return kernelName;
    }

    /** This kernel's log (dmesg), where nvmet explains refused connects. */
    public List<String> dmesg() {
        return log.lines();
    }

    // ports

    /**
     * mkdir ports/&lt;id&gt; and write its address. The port's {@code anaGroups} are not applied
     * here: groups are separate directories ({@link #anaGroupCreate}, {@link #anaState}).
     */
    public synchronized void portCreate(NvmetPort port) {
        String object = "ports/" + port.id();
        if (port.id() < 0 || port.id() > 0xffff) {
            throw new KernelException(object, "mkdir", Errno.EINVAL);
        }
        if (ports.containsKey(port.id())) {
            throw new KernelException(object, "mkdir", Errno.EEXIST);
        }
        if (!TRANSPORTS.contains(port.transport())) {
            throw new KernelException(object + "/addr_trtype", "write", Errno.EINVAL);
        }
        if (!ADDRESS_FAMILIES.contains(port.addressFamily())) {
            throw new KernelException(object + "/addr_adrfam", "write", Errno.EINVAL);
        }
        ports.put(port.id(), new NvmetPortState(port));
    }

    /** rmdir ports/&lt;id&gt;: configfs refuses while it holds subsystem links or created ANA groups. */
    public synchronized void portRemove(int portId) {
        NvmetPortState p = port(portId, "rmdir");
        if (!p.subsystems.isEmpty() || p.groups.size() > 1) {
            throw new KernelException("ports/" + portId, "rmdir", Errno.ENOTEMPTY);
        }
        ports.remove(portId);
    }

    public synchronized void anaGroupCreate(int portId, int group) {
        String object = "ports/" + portId + "/ana_groups/" + group;
        NvmetPortState p = port(portId, "mkdir");
        if (p.groups.containsKey(group)) {
            throw new KernelException(object, "mkdir", Errno.EEXIST);
        }
        if (!AnaGroups.isCreated(group)) {
            throw new KernelException(object, "mkdir", Errno.EINVAL);
        }
        p.groups.put(group, p.anaState(group));
        notifyPort(p);
    }

    public synchronized void anaGroupRemove(int portId, int group) {
        String object = "ports/" + portId + "/ana_groups/" + group;
        NvmetPortState p = port(portId, "rmdir");
        if (group == AnaGroups.DEFAULT) {
            throw new KernelException(object, "rmdir", Errno.EPERM);
        }
        if (!p.groups.containsKey(group)) {
            throw new KernelException(object, "rmdir", Errno.ENOENT);
        }
        p.groups.remove(group);
        notifyPort(p);
    }

    /** Write ana_groups/&lt;g&gt;/ana_state; connected hosts get an AEN and re-read the ANA log. */
    public synchronized void anaState(int portId, int group, AnaState state) {
        String object = "ports/" + portId + "/ana_groups/" + group + "/ana_state";
        NvmetPortState p = port(portId, "write");
        if (!p.groups.containsKey(group)) {
            throw new KernelException(object, "write", Errno.ENOENT);
        }
        if (state == null) {
            throw new KernelException(object, "write", Errno.EINVAL);
        }
        p.groups.put(group, state);
        notifyPort(p);
    }

    // hosts (and subsystems): directories named by their NQN. A name that is not an NQN is refused
    // with EINVAL; Linux 6.1 takes any name without '/' and resolves one with '/' as a path (out of
    // nvmet with ".."): stricter on purpose, so nobody depends on either.

    public synchronized void hostCreate(String hostNqn) {
        if (!Nqn.valid(hostNqn)) {
            throw new KernelException("hosts/" + hostNqn, "mkdir", Errno.EINVAL);
        }
        if (!hosts.add(hostNqn)) {
            throw new KernelException("hosts/" + hostNqn, "mkdir", Errno.EEXIST);
        }
    }

    /** rmdir hosts/&lt;nqn&gt;: configfs refuses (EBUSY) while an allowed_hosts symlink points at it. */
    public synchronized void hostRemove(String hostNqn) {
        if (!hosts.contains(hostNqn)) {
            throw new KernelException("hosts/" + hostNqn, "rmdir", Errno.ENOENT);
        }
        if (subsystems.values().stream().anyMatch(s -> s.allowedHosts.contains(hostNqn))) {
            throw new KernelException("hosts/" + hostNqn, "rmdir", Errno.EBUSY);
        }
        hosts.remove(hostNqn);
    }

    // subsystems

    /** mkdir subsystems/&lt;nqn&gt; (attr_allow_any_host reads 0), then the cntlid range and serial; null/empty serial keeps the random one. */
    public synchronized void subsystemCreate(String nqn, int cntlidMin, int cntlidMax, String serial) {
        String object = "subsystems/" + nqn;
        if (subsystemsByNqn.containsKey(nqn)) {
            throw new KernelException(object, "mkdir", Errno.EEXIST);
        }
        // Linux refuses the discovery NQN here; it is no NQN of the form Nqn takes either.
        if (!Nqn.valid(nqn)) {
            throw new KernelException(object, "mkdir", Errno.EINVAL);
        }
        // attr_cntlid_min/max are u16, nonzero, and each store insists min < max.
        if (cntlidMin < 1 || cntlidMax > 0xffff || cntlidMin >= cntlidMax) {
            throw new KernelException(object + "/attr_cntlid_min", "write", Errno.EINVAL);
        }
        String sn = serial == null || serial.isEmpty() ? randomSerial() : serial;
        if (sn.length() > SERIAL_MAX || !sn.chars().allMatch(c -> c >= 0x20 && c <= 0x7e)) {
            throw new KernelException(object + "/attr_serial", "write", Errno.EINVAL);
        }
        NvmetSubsystemState created = new NvmetSubsystemState(nqn, cntlidMin, cntlidMax, sn);
        subsystems.put(nqn, created);
        subsystemsByNqn.put(nqn, created);
    }

    /**
     * rmdir subsystems/&lt;nqn&gt;: configfs refuses while a port's symlink points at it (EBUSY,
     * checked first), then while namespaces or allowed_hosts links are inside (ENOTEMPTY).
     */
    public synchronized void subsystemRemove(String nqn) {
        NvmetSubsystemState s = subsystem(nqn, "rmdir");
        if (ports.values().stream().anyMatch(p -> p.subsystems.contains(nqn))) {
            throw new KernelException("subsystems/" + nqn, "rmdir", Errno.EBUSY);
        }
        if (!s.namespaces.isEmpty() || !s.allowedHosts.isEmpty()) {
            throw new KernelException("subsystems/" + nqn, "rmdir", Errno.ENOTEMPTY);
        }
        subsystems.remove(nqn);
        subsystemsByNqn.remove(nqn);
    }

    public synchronized void allowAnyHost(String nqn, boolean allow) {
        NvmetSubsystemState s = subsystem(nqn, "write");
        if (allow && !s.allowedHosts.isEmpty()) {
            log.log("nvmet: Can't set allow_any_host when explicit hosts are set!");
            throw new KernelException("subsystems/" + nqn + "/attr_allow_any_host", "write", Errno.EINVAL);
        }
        s.allowAnyHost = allow;
    }

    /** ln -s hosts/&lt;host&gt; subsystems/&lt;nqn&gt;/allowed_hosts/. */
    public synchronized void allowHost(String nqn, String hostNqn) {
        String object = "subsystems/" + nqn + "/allowed_hosts/" + hostNqn;
        NvmetSubsystemState s = subsystem(nqn, "symlink");
        if (!hosts.contains(hostNqn)) {
            throw new KernelException(object, "symlink", Errno.ENOENT);
        }
        if (s.allowAnyHost) {
            log.log("nvmet: can't add hosts when allow_any_host is set!");
            throw new KernelException(object, "symlink", Errno.EINVAL);
        }
        if (s.allowedHosts.contains(hostNqn)) {
            throw new KernelException(object, "symlink", Errno.EEXIST);
        }
        s.allowedHosts.add(hostNqn);
    }

    /** Removes the allow-list entry; live connections of that host stay up (fencing must also unlink). */
    public synchronized void disallowHost(String nqn, String hostNqn) {
        NvmetSubsystemState s = subsystem(nqn, "unlink");
        if (!s.allowedHosts.remove(hostNqn)) {
            throw new KernelException("subsystems/" + nqn + "/allowed_hosts/" + hostNqn, "unlink", Errno.ENOENT);
        }
    }

    // namespaces

    /**
     * mkdir namespaces/&lt;nsid&gt; (if missing) and write device_path, device_uuid, device_nguid,
     * ana_grpid. nvmet refuses these writes while the namespace is enabled (EBUSY); a null uuid
     * keeps nvmet's random one, a null nguid reads as zeroes.
     */
    public synchronized void namespaceCreate(String nqn, int nsid, String devicePath, UUID uuid, String nguid,
                                             int anaGroup) {
        String object = "subsystems/" + nqn + "/namespaces/" + nsid;
        NvmetSubsystemState s = subsystem(nqn, "mkdir");
        // nsid is a u32 in configfs: 0 and 0xffffffff (-1 here) are refused, as is anything negative.
        if (nsid <= 0) {
            log.log("nvmet: invalid nsid " + Integer.toUnsignedString(nsid));
            throw new KernelException(object, "mkdir", Errno.EINVAL);
        }
        NvmetNamespaceState existing = s.namespaces.get(nsid);
        if (existing != null && (existing.enabled || existing.device != null)) {
            throw new KernelException(object + "/device_path", "write", Errno.EBUSY);
        }
        if (devicePath == null || devicePath.isEmpty()) {
            throw new KernelException(object + "/device_path", "write", Errno.EINVAL);
        }
        if (!AnaGroups.isGroup(anaGroup)) {
            throw new KernelException(object + "/ana_grpid", "write", Errno.EINVAL);
        }
        int stored = AnaGroups.stored(anaGroup);
        String ng = nguid == null ? "00000000-0000-0000-0000-000000000000" : nguid;
        if (!validNguid(ng)) {
            throw new KernelException(object + "/device_nguid", "write", Errno.EINVAL);
        }
        UUID u = uuid != null ? uuid : existing != null ? existing.uuid : UUID.randomUUID();
        if (existing == null) {
            s.namespaces.put(nsid, new NvmetNamespaceState(nsid, devicePath, u, ng, stored));
        } else {
            existing.devicePath = devicePath;
            existing.uuid = u;
            existing.nguid = ng;
            existing.anaGroup = stored;
        }
    }

    /**
     * Write namespaces/&lt;nsid&gt;/enable. Enabling opens device_path in this kernel (the device
     * then has a holder and cannot be removed); disabling waits for in-flight I/O, then closes it.
     * Both send connected hosts an AEN. Writing the current value again does nothing.
     */
    public void namespaceEnable(String nqn, int nsid, boolean enable) {
        if (enable) {
            enable(nqn, nsid);
        } else {
            disable(nqn, nsid, false);
        }
    }

    /**
     * Write namespaces/&lt;nsid&gt;/ana_grpid. Unlike the namespace's other attributes it is taken
     * while enabled, whether or not any port has the group (nvmet_ns_ana_grpid_store checks the
     * range only), and every controller of the subsystem, on any port, gets an ANA change AEN.
     */
    public synchronized void namespaceAnaGroup(String nqn, int nsid, int group) {
        NvmetNamespaceState ns = namespace(subsystem(nqn, "write"), nsid, "write");
        if (!AnaGroups.isGroup(group)) {
            throw new KernelException("subsystems/" + nqn + "/namespaces/" + nsid + "/ana_grpid", "write", Errno.EINVAL);
        }
        ns.anaGroup = AnaGroups.stored(group);
        notifySubsystem(nqn);
    }

    /**
     * Write namespaces/&lt;nsid&gt;/revalidate_size. Hosts are told (an AEN) and read the size again
     * from the device, which Identify reports live, as nvmet's does since it revalidates there too.
     */
    public synchronized void namespaceRevalidate(String nqn, int nsid) {
        String object = "subsystems/" + nqn + "/namespaces/" + nsid + "/revalidate_size";
        NvmetNamespaceState ns = namespace(subsystem(nqn, "write"), nsid, "write");
        if (!ns.enabled) {
            log.log("nvmet: enable ns before revalidate.");
            throw new KernelException(object, "write", Errno.EINVAL);
        }
        notifySubsystem(nqn);
    }

    /** rmdir namespaces/&lt;nsid&gt;: disables it first if needed, like nvmet does. */
    public void namespaceRemove(String nqn, int nsid) {
        disable(nqn, nsid, true);
    }

    private synchronized void enable(String nqn, int nsid) {
        String object = "subsystems/" + nqn + "/namespaces/" + nsid + "/enable";
        NvmetSubsystemState s = subsystem(nqn, "write");
        NvmetNamespaceState ns = namespace(s, nsid, "write");
        if (ns.enabled) {
            return;
        }
        if (ns.device != null) {
            // A disable is still waiting for in-flight I/O.
            throw new KernelException(object, "write", Errno.EBUSY);
        }
        Optional<BlockDevices.Entry> e = devices.resolve(ns.devicePath);
        if (e.isEmpty()) {
            log.log("nvmet: failed to open block device " + ns.devicePath + ": (-2)");
            throw new KernelException(object, "write", Errno.ENOENT);
        }
        devices.open(e.get().path(), ns.holderName(nqn));
        ns.device = e.get().device();
        ns.enabled = true;
        notifySubsystem(nqn);
    }

    private void disable(String nqn, int nsid, boolean remove) {
        NvmetNamespaceState ns;
        synchronized (this) {
            String op = remove ? "rmdir" : "write";
            ns = namespace(subsystem(nqn, op), nsid, op);
            if (!remove && !ns.enabled && ns.device == null) {
                return;
            }
            ns.enabled = false;
            if (remove) {
                subsystemsByNqn.get(nqn).namespaces.remove(nsid);
            }
            notifySubsystem(nqn);
        }
        // Outside the lock, as nvmet_ns_disable drops subsys->lock while it waits.
        ns.drain();
        synchronized (this) {
            if (!ns.enabled && ns.device != null) {
                devices.resolve(ns.devicePath).ifPresent(e -> devices.close(e.path(), ns.holderName(nqn)));
                ns.device = null;
            }
        }
    }

    // port links

    /** ln -s subsystems/&lt;nqn&gt; ports/&lt;id&gt;/subsystems/: the first link enables (listens on) the port. */
    public synchronized void link(int portId, String nqn) {
        String object = "ports/" + portId + "/subsystems/" + nqn;
        NvmetPortState p = port(portId, "symlink");
        if (!subsystemsByNqn.containsKey(nqn)) {
            throw new KernelException(object, "symlink", Errno.ENOENT);
        }
        if (p.subsystems.contains(nqn)) {
            throw new KernelException(object, "symlink", Errno.EEXIST);
        }
        if (!p.listening() && !fabric.listen(p.address, this, portId)) {
            log.log("nvmet_tcp: failed to bind port socket -98");
            throw new KernelException(object, "symlink", Errno.EADDRINUSE);
        }
        p.subsystems.add(nqn);
    }

    /**
     * Removes the export: every connection of that subsystem through this port is dropped (the
     * hosts' controllers go to connecting), and unlinking the last subsystem disables the port.
     */
    public synchronized void unlink(int portId, String nqn) {
        NvmetPortState p = port(portId, "unlink");
        if (!p.subsystems.remove(nqn)) {
            throw new KernelException("ports/" + portId + "/subsystems/" + nqn, "unlink", Errno.ENOENT);
        }
        drop(c -> c.portId == portId && c.subsystemNqn.equals(nqn));
        if (!p.listening()) {
            fabric.unlisten(p.address, this, portId);
        }
    }

    // observation

    public synchronized List<ObservedKernel.Port> ports() {
        return ports.values().stream().map(NvmetPortState::observe).toList();
    }

    public synchronized List<ObservedKernel.Subsystem> subsystems() {
        return subsystems.values().stream().map(NvmetSubsystemState::observe).toList();
    }

    public synchronized List<String> hosts() {
        return List.copyOf(hosts);
    }

    /**
     * The kernel goes away: every connection drops (hosts hear of it only if the fabric still
     * carries the FIN; a dead machine sends none), every device is closed, configfs is empty.
     */
    public synchronized void powerOff() {
        fabric.unregister(this);
        drop(c -> true);
        for (NvmetSubsystemState s : subsystems.values()) {
            for (NvmetNamespaceState ns : s.namespaces.values()) {
                ns.enabled = false;
                if (ns.device != null) {
                    devices.resolve(ns.devicePath).ifPresent(e -> devices.close(e.path(), ns.holderName(s.nqn)));
                    ns.device = null;
                }
            }
        }
        for (NvmetPortState p : ports.values()) {
            if (p.listening()) {
                fabric.unlisten(p.address, this, p.id);
            }
        }
        ports.clear();
        subsystems.clear();
        subsystemsByNqn.clear();
        hosts.clear();
        cntlids.clear();
        timers.shutdownNow();
        io.shutdown();
    }

    // the fabric side: connects, I/O, drops

    /** nvmet_alloc_ctrl: a host's admin-queue connect arriving on a port. */
    synchronized NvmetController accept(int portId, String subsystemNqn, String hostNqn, String hostKernel, HostLink host,
                                        int kato) throws ConnectRefused {
        // Over a silent link nothing answers, not even a refusal.
        if (fabric.silent(hostKernel, kernelName)) {
            throw new ConnectRefused(Errno.ETIMEDOUT, "failed to connect socket: -110");
        }
        NvmetPortState p = ports.get(portId);
        if (p == null || !p.listening()) {
            throw new ConnectRefused(Errno.ECONNREFUSED, "failed to connect socket: -111");
        }
        NvmetSubsystemState s = subsystemsByNqn.get(subsystemNqn);
        if (s == null || !p.subsystems.contains(subsystemNqn)) {
            log.log("nvmet: connect request for invalid subsystem " + subsystemNqn + "!");
            throw new ConnectRefused(Errno.EIO, "Connect Invalid Data Parameter, subsysnqn \"" + subsystemNqn + "\"");
        }
        if (!s.allows(hostNqn)) {
            log.log("nvmet: connect by host " + hostNqn + " for subsystem " + subsystemNqn + " not allowed");
            throw new ConnectRefused(Errno.EIO,
                    "Connect for subsystem " + subsystemNqn + " is not allowed, hostnqn: " + hostNqn);
        }
        // One IDA for every subsystem of the kernel: a range full of other subsystems' ids is full.
        OptionalInt cntlid = cntlids.allocate(s.cntlidMin, s.cntlidMax);
        if (cntlid.isEmpty()) {
            // NVME_SC_CONNECT_CTRL_BUSY; the host's write to /dev/nvme-fabrics returns EIO.
            throw new ConnectRefused(Errno.EIO, "Connect command failed: controller is busy or not available");
        }
        NvmetController c = new NvmetController(this, cntlid.getAsInt(), portId, subsystemNqn, hostNqn, hostKernel, host, kato);
        controllers.add(c);
        log.log("nvmet: creating nvm controller " + c.cntlid + " for subsystem " + subsystemNqn + " for NQN " + hostNqn + ".");
        return c;
    }

    synchronized List<NvmetController.NamespaceView> namespacesFor(NvmetController c) throws PathError {
        requireAlive(c);
        return subsystemsByNqn.get(c.subsystemNqn).namespaces.values().stream()
                .filter(ns -> ns.enabled)
                .map(ns -> new NvmetController.NamespaceView(ns.nsid, ns.uuid, ns.device.sizeSectors(),
                        ports.get(c.portId).anaState(ns.anaGroup)))
                .toList();
    }

    synchronized boolean alive(NvmetController c) {
        return c.alive;
    }

    CompletableFuture<Void> submit(NvmetController c, IoOp op, int nsid, long offset, byte[] buf, int bufOffset, int length) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            io.execute(() -> {
                try {
                    io(c, op, nsid, offset, buf, bufOffset, length);
                    done.complete(null);
                } catch (IOException | RuntimeException e) {
                    done.completeExceptionally(e);
                }
            });
        } catch (RejectedExecutionException poweredOff) {
            done.completeExceptionally(new PathError("controller " + c.cntlid + " of " + kernelName + " is gone", true));
        }
        return done;
    }

    /** Checks in nvmet's order: connection, namespace, ANA state, then the device gets the request. */
    private void io(NvmetController c, IoOp op, int nsid, long offset, byte[] buf, int bufOffset, int length)
            throws IOException {
        NvmetNamespaceState ns;
        synchronized (this) {
            requireAlive(c);
            ns = subsystemsByNqn.get(c.subsystemNqn).namespaces.get(nsid);
            if (ns == null || !ns.enabled) {
                throw new IOException("Invalid Namespace or Format (nsid " + nsid + ")");
            }
            AnaState ana = ports.get(c.portId).anaState(ns.anaGroup);
            if (!ana.usable()) {
                throw new PathError("ANA state " + ana.configfs() + " on port " + c.portId, false);
            }
        }
        ns.io(op, offset, buf, bufOffset, length);
        // A request held below nvmet (a suspended device) completes into a connection that may be
        // gone by then: the device has it, the host never hears of it and fails it over or fails it.
        synchronized (this) {
            requireAlive(c);
        }
    }

    synchronized void disconnect(NvmetController c) {
        if (controllers.remove(c)) {
            c.alive = false;
            cntlids.free(c.cntlid);
            if (c.keepAliveExpiry != null) {
                c.keepAliveExpiry.cancel(false);
            }
        }
    }

    /**
     * A host gone silent is noticed by nvmet's keep-alive timer only. With traffic based keep-alive
     * (nvmet sets TBKAS) the timer runs every KATO from the connect and, at each run, either sees
     * a command arrived since the last run and waits another KATO, or tears the controller down
     * ({@code nvmet_keep_alive_timer}). A host sends at least a keep-alive every KATO/4, so the run
     * after the link went still sees traffic and the one after that expires: between one and two
     * KATO after the silence began. A link that returns before stops the timer only if the host
     * still has the connection; a host that rebooted meanwhile sends nothing on it again.
     */
    @Override
    public synchronized void linksChanged() {
        for (NvmetController c : List.copyOf(controllers)) {
            boolean silent = fabric.silent(c.hostKernel, kernelName);
            if (silent && c.keepAliveExpiry == null && c.kato > 0) {
                long period = TimeUnit.SECONDS.toNanos(c.kato);
                long sinceConnect = System.nanoTime() - c.connectedAtNanos;
                long nextRun = (sinceConnect / period + 1) * period;
                c.keepAliveExpiry = timers.schedule(() -> keepAliveExpired(c), nextRun + period - sinceConnect, TimeUnit.NANOSECONDS);
            } else if (!silent && c.keepAliveExpiry != null && c.host.open()) {
                c.keepAliveExpiry.cancel(false);
                c.keepAliveExpiry = null;
            }
        }
    }

    private synchronized void keepAliveExpired(NvmetController c) {
        if (!c.alive) {
            return;
        }
        log.log("nvmet: ctrl " + c.cntlid + " keep-alive timer (" + c.kato + " seconds) expired!");
        disconnect(c);
        // The FIN reaches the host only if the link carries it; otherwise the host meets an RST later.
        c.host.connectionLost();
    }

    private void drop(Predicate<NvmetController> which) {
        for (NvmetController c : List.copyOf(controllers)) {
            if (which.test(c)) {
                disconnect(c);
                c.host.connectionLost();
            }
        }
    }

    private void requireAlive(NvmetController c) throws PathError {
        if (!c.alive) {
            throw new PathError("controller " + c.cntlid + " of " + kernelName + " is gone", true);
        }
    }

    private void notifySubsystem(String nqn) {
        controllers.stream().filter(c -> c.subsystemNqn.equals(nqn)).forEach(c -> c.host.asyncEvent());
    }

    private void notifyPort(NvmetPortState p) {
        controllers.stream().filter(c -> c.portId == p.id).forEach(c -> c.host.asyncEvent());
    }

    private NvmetPortState port(int portId, String operation) {
        NvmetPortState p = ports.get(portId);
        if (p == null) {
            throw new KernelException("ports/" + portId, operation, Errno.ENOENT);
        }
        return p;
    }

    private NvmetSubsystemState subsystem(String nqn, String operation) {
        NvmetSubsystemState s = subsystemsByNqn.get(nqn);
        if (s == null) {
            throw new KernelException("subsystems/" + nqn, operation, Errno.ENOENT);
        }
        return s;
    }

    private static NvmetNamespaceState namespace(NvmetSubsystemState s, int nsid, String operation) {
        NvmetNamespaceState ns = s.namespaces.get(nsid);
        if (ns == null) {
            throw new KernelException("subsystems/" + s.nqn + "/namespaces/" + nsid, operation, Errno.ENOENT);
        }
        return ns;
    }

    /** device_nguid takes 16 bytes in hex, optionally separated by dashes. */
    private static boolean validNguid(String nguid) {
        String hex = nguid.replace("-", "");
        if (hex.length() != 32) {
            return false;
        }
        try {
            HexFormat.of().parseHex(hex);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static String randomSerial() {
        return HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
    }
}
