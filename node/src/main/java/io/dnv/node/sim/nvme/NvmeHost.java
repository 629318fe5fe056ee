package io.dnv.node.sim.nvme;

import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.node.kernel.KernelException;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.node.sim.block.BlockDevices;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The NVMe-oF initiator of one simulated kernel with native multipath, as Linux 6.1's nvme-core
 * and nvme-tcp behave: connects through the {@link Fabric}, one head per shared namespace
 * registered in this kernel's {@link BlockDevices}, error recovery on real-time timers.
 */
public final class NvmeHost implements Fabric.Endpoint {

    private static final int MAX_INSTANCE = Integer.MAX_VALUE - 1;
    /** SYN at 0, its retransmission after the 1 s initial RTO, given up 2 s later. */
    static final long SYN_TIMEOUT_MILLIS = 3000;
    /** nvme_core.io_timeout's default. */
    public static final Duration DEFAULT_IO_TIMEOUT = Duration.ofSeconds(30);

    private final String kernelName;
    private final BlockDevices devices;
    private final Fabric fabric;
    private final KernelLog log = new KernelLog();
    /** One lock for controllers, subsystems and heads; queued I/O waits on {@link #changed}. */
    final ReentrantLock lock = new ReentrantLock();
    final Condition changed = lock.newCondition();
    private final ScheduledThreadPoolExecutor work;
    /** nvme_instance_ida: controller instances, also lent to subsystems. */
    private final Ida instances = new Ida();
    private final Map<String, HostController> controllers = new HashMap<>();
    /**
     * The controllers not being deleted, by the connection they serve: a connect is refused
     * (EALREADY) when one serves it already, and a node importing for a thousand volumes holds
     * thousands of controllers (a scan of them all per connect was the bench's hottest method).
     */
    private final Map<String, HostController> byKey = new HashMap<>();
    private final Map<String, HostSubsystem> subsystems = new HashMap<>();
    /**
     * Subsystems holding a head that went while open (its device and instance stay taken until it
     * can be unregistered): every connect and look reaps these, not all of a host's thousands.
     */
    private final Set<HostSubsystem> withDetached = new LinkedHashSet<>();
    /** Connections this host closed while their link was silent: the target hears the FIN when the link returns. */
    private final List<NvmetController> finsHeld = new ArrayList<>();
    private final long ioTimeoutNanos;
    private volatile boolean running = true;

    /** {@code ioTimeout}: nvme_core.io_timeout, after which an unanswered command starts error recovery. */
    public NvmeHost(String kernelName, BlockDevices devices, Fabric fabric, Duration ioTimeout) {
        this.kernelName = kernelName;
        this.devices = devices;
        this.fabric = fabric;
        this.ioTimeoutNanos = ioTimeout.toNanos();
        this.work = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "nvme-wq-" + kernelName);
            t.setDaemon(true);
            return t;
        });
        work.setRemoveOnCancelPolicy(true);
        work.setKeepAliveTime(1, TimeUnit.SECONDS);
        work.allowCoreThreadTimeOut(true);
        fabric.register(this);
    }

    @Override
    public String kernelName() {
        return kernelName;
    }

    /** This kernel's log (dmesg): why a connect was refused, reconnect attempts, failfast. */
    public List<String> dmesg() {
        return log.lines();
    }

    /**
     * Writes the options to /dev/nvme-fabrics: returns the new controller's name (nvmeX) once it is
     * live and its namespaces are scanned, or throws with the errno the write would return.
     */
    public String connect(NvmeConnection c) {
        awaitSynTimeoutIfCut(c);
        lock.lock();
        try {
            reapDetachedHeads();
            ConnectTimeouts t = c.timeouts();
            String key = c.key();
            if (t.reconnectDelay() <= 0 || t.keepAlive() < 0) {
                throw new KernelException(key, "connect", Errno.EINVAL);
            }
            if (byKey.containsKey(key)) {
                throw new KernelException(key, "connect", Errno.EALREADY);
            }
            int instance = instances.allocate(0, MAX_INSTANCE).orElseThrow();
            HostController ctrl = new HostController(this, "nvme" + instance, instance, c);
            NvmetController session;
            try {
                session = dial(c, ctrl.newLink());
            } catch (ConnectRefused r) {
                log(ctrl.name, r.hostLogLine);
                instances.free(instance);
                throw new KernelException(key, "connect", r.errno);
            }
            HostSubsystem subsystem = subsystems.get(c.subsystemNqn());
            Optional<HostController> duplicate = subsystem == null ? Optional.empty()
                    : subsystem.controllers.stream().filter(o -> o.cntlid == session.cntlid).findFirst();
            if (duplicate.isPresent()) {
                log(ctrl.name, "Duplicate cntlid " + session.cntlid + " with " + duplicate.get().name + ", subsys "
                        + c.subsystemNqn() + ", rejecting");
                session.disconnect();
                instances.free(instance);
                throw new KernelException(key, "connect", Errno.EINVAL);
            }
            if (subsystem == null) {
                subsystem = new HostSubsystem(c.subsystemNqn(), instance);
                subsystems.put(subsystem.nqn, subsystem);
            }
            ctrl.subsystem = subsystem;
            subsystem.controllers.add(ctrl);
            controllers.put(ctrl.name, ctrl);
            byKey.put(key, ctrl);
            ctrl.live(session);
            log(ctrl.name, "new ctrl: NQN \"" + c.subsystemNqn() + "\", addr " + c.address() + ":" + c.serviceId());
            rescan(ctrl);
            return ctrl.name;
        } finally {
            lock.unlock();
        }
    }

    /**
     * A connect over a silent link (cut, partitioned, or to a machine that is off) gets no answer:
     * nvme-tcp sets TCP_SYNCNT 1, so the socket gives up after its SYN and one retransmission,
     * about 3 s, and only then does the write fail (ETIMEDOUT). The writer waits that long; the
     * rest of the host does not.
     */
    private void awaitSynTimeoutIfCut(NvmeConnection c) {
        if (unanswered(c)) {
            try {
                Thread.sleep(SYN_TIMEOUT_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Writes /sys/class/nvme/&lt;controller&gt;/delete_controller. */
    public void disconnect(String controller) {
        lock.lock();
        try {
            HostController c = controllers.get(controller);
            if (c == null) {
                throw new KernelException("/sys/class/nvme/" + controller + "/delete_controller", "write",
                        Errno.ENOENT);
            }
            delete(c);
            reapDetachedHeads();
        } finally {
            lock.unlock();
        }
    }

    public List<ObservedKernel.Controller> controllers() {
        lock.lock();
        try {
            return controllers.values().stream()
                    .sorted(Comparator.comparingInt(c -> c.instance))
                    .map(NvmeHost::sysfs)
                    .toList();
        } finally {
            lock.unlock();
        }
    }

    /** The controllers of these names that exist, as {@link #controllers()} shows them. */
    public List<ObservedKernel.Controller> controllers(java.util.Collection<String> names) {
        lock.lock();
        try {
            return names.stream().map(controllers::get).filter(java.util.Objects::nonNull).map(NvmeHost::sysfs).toList();
        } finally {
            lock.unlock();
        }
    }

    private static ObservedKernel.Controller sysfs(HostController c) {
        return new ObservedKernel.Controller(c.name, c.connection.transport(), c.connection.address(),
                c.connection.serviceId(), c.connection.subsystemNqn(), c.connection.hostNqn(), c.cntlid, c.state.sysfs());
    }

    /**
     * /sys/block/nvmeXcYnZ/ana_state: the ANA state of one path as this host last read it (from the
     * log, after an AEN), or empty when the controller has no such namespace or is not live.
     */
    public Optional<String> pathAnaState(String controller, int nsid) {
        lock.lock();
        try {
            HostController c = controllers.get(controller);
            if (c == null || c.state != HostController.State.LIVE || !c.ana.containsKey(nsid)) {
                return Optional.empty();
            }
            return Optional.of(c.ana.get(nsid).configfs());
        } finally {
            lock.unlock();
        }
    }

    /** The multipath heads that have a block device: /dev/nvmeXnY, 259:minor, size and the namespace UUID. */
    public List<ObservedKernel.BlockDevice> namespaceHeads() {
        lock.lock();
        try {
            reapDetachedHeads();
            List<ObservedKernel.BlockDevice> out = new ArrayList<>();
            for (HostSubsystem s : subsystems.values()) {
                for (MultipathHead h : s.heads.values()) {
                    if (h.path != null) {
                        out.add(new ObservedKernel.BlockDevice(h.path, MultipathHead.MAJOR + ":" + h.minor,
                                h.sizeSectors, Optional.of(h.uuid)));
                    }
                }
            }
            out.sort(Comparator.comparing(ObservedKernel.BlockDevice::path));
            return out;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The kernel goes away: every controller is deleted, queued I/O fails. Targets free their side
     * only if the link still carries the FIN: a machine powered off sends none, and its peers'
     * keep-alive timers notice.
     */
    public void powerOff() {
        running = false;
        fabric.unregister(this);
        lock.lock();
        try {
            for (HostController c : List.copyOf(controllers.values())) {
                delete(c);
            }
            reapDetachedHeads();
            finsHeld.clear();
        } finally {
            lock.unlock();
        }
        work.shutdownNow();
    }

    boolean running() {
        return running;
    }

    /** The fabric changed: controllers learn what their keep-alive would, held FINs go out. */
    @Override
    public void linksChanged() {
        lock.lock();
        try {
            for (HostController c : List.copyOf(controllers.values())) {
                c.linksChanged();
            }
            finsHeld.removeIf(s -> {
                if (silentTo(s.target.kernelName())) {
                    return false;
                }
                s.disconnect();
                return true;
            });
            pathsChanged();
        } finally {
            lock.unlock();
        }
    }

    boolean silentTo(String kernel) {
        return fabric.silent(kernelName, kernel);
    }

    public boolean unanswered(NvmeConnection c) {
        return fabric.unanswered(kernelName, new Fabric.Address(c.transport(), c.address(), c.serviceId()));
    }

    /** The host closes its end of a connection; the target hears of it when the FIN gets through. */
    void close(NvmetController s) {
        if (silentTo(s.target.kernelName())) {
            finsHeld.add(s);
        } else {
            s.disconnect();
        }
    }

    /**
     * One command through one path, as nvme-tcp carries it: sent when the link carries it,
     * executed by the target (which may hold it below nvmet), completed when the completion gets
     * back. Error recovery of the controller meanwhile (keep-alive or FIN) aborts it, and so does
     * this command's own timeout (nvme_tcp_timeout: error recovery, the command fails over); either
     * way it throws a {@link PathError}, and the head retries it on another path. What the target
     * executed stays executed.
     */
    void execute(HostController c, NvmetController session, int nsid, IoOp op, long offset, byte[] buf, int bufOffset,
                 int length) throws IOException {
        long deadline = System.nanoTime() + ioTimeoutNanos;
        lock.lock();
        try {
            awaitLink(c, session, deadline, null);
        } finally {
            lock.unlock();
        }
        java.util.concurrent.CompletableFuture<Void> done = session.submit(op, nsid, offset, buf, bufOffset, length);
        done.whenComplete((v, t) -> {
            lock.lock();
            try {
                pathsChanged();
            } finally {
                lock.unlock();
            }
        });
        lock.lock();
        try {
            awaitLink(c, session, deadline, done);
            c.lastCompletionNanos = System.nanoTime();
        } finally {
            lock.unlock();
        }
        try {
            done.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw e;
        }
    }

    /** Waits, under the lock, until the link carries frames (and {@code done} completed, if given). */
    private void awaitLink(HostController c, NvmetController session, long deadline,
                           java.util.concurrent.CompletableFuture<Void> done) throws IOException {
        try {
            while (true) {
                if (c.state != HostController.State.LIVE || c.session != session) {
                    throw new PathError(c.name + ": command aborted by error recovery", true);
                }
                if ((done == null || done.isDone()) && !silentTo(session.target.kernelName())) {
                    return;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    log(c.name, "queue 1: timeout request 0x1 type 4");
                    c.lost(session);
                    continue;
                }
                changed.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException(c.name + ": interrupted while a command was in flight");
        }
    }

    // inside the host; callers hold the lock unless said otherwise

    NvmetController dial(NvmeConnection c, HostLink link) throws ConnectRefused {
        Fabric.Address address = new Fabric.Address(c.transport(), c.address(), c.serviceId());
        Optional<Fabric.Listener> l = fabric.lookup(address);
        if (l.isEmpty()) {
            // A machine that is off stopped listening, but answers nothing either, not even a refusal.
            if (unanswered(c)) {
                throw new ConnectRefused(Errno.ETIMEDOUT, "failed to connect socket: -110");
            }
            throw new ConnectRefused(Errno.ECONNREFUSED, "failed to connect socket: -111");
        }
        return l.get().target().accept(l.get().portId(), c.subsystemNqn(), c.hostNqn(), kernelName, link,
                c.timeouts().keepAlive());
    }

    /**
     * Namespace scan and ANA log read after connect, reconnect, an AEN or an ANA error: paths
     * appear and go, heads are added and removed, and each path's ANA state is what the log says
     * until the next read. Over a silent link the read waits for the link (redone when it returns).
     */
    void rescan(HostController c) {
        if (c.state != HostController.State.LIVE || silentTo(c.targetKernel())) {
            return;
        }
        HostSubsystem s = c.subsystem;
        List<NvmetController.NamespaceView> found;
        try {
            found = c.session.namespaces();
        } catch (PathError e) {
            c.lost(c.session);
            return;
        }
        Set<Integer> seen = new TreeSet<>();
        for (NvmetController.NamespaceView v : found) {
            MultipathHead h = s.heads.get(v.nsid());
            if (h == null) {
                h = new MultipathHead(this, s, v.nsid(), v.uuid(), s.headInstances.allocate(1, MAX_INSTANCE).orElseThrow(),
                        v.sizeSectors());
                s.heads.put(v.nsid(), h);
            } else if (!h.uuid.equals(v.uuid())) {
                log(c.name, "IDs don't match for shared namespace " + v.nsid());
                continue;
            }
            if (!h.paths.contains(c)) {
                h.paths.add(c);
            }
            c.ana.put(v.nsid(), v.anaState());
            c.anaPending.remove(v.nsid());
            h.sizeSectors = v.sizeSectors();
            seen.add(v.nsid());
        }
        for (MultipathHead h : s.heads.values()) {
            if (!seen.contains(h.nsid)) {
                h.paths.remove(c);
                c.ana.remove(h.nsid);
            }
        }
        pruneHeads(s);
        for (MultipathHead h : s.heads.values()) {
            if (h.path == null && h.anyUsablePath()) {
                h.minor = devices.allocateMinor(MultipathHead.MAJOR);
                h.path = "/dev/" + h.name();
                devices.register(h.path, MultipathHead.MAJOR, h.minor, h);
            }
        }
        pathsChanged();
    }

    /**
     * Called by I/O (without the lock) that failed on a path: a lost connection starts error
     * recovery; an ANA error takes the path out of use until the ANA log is read again
     * (nvme_failover_req sets NVME_NS_ANA_PENDING and queues the ANA work).
     */
    void pathFailed(HostController c, NvmetController session, int nsid, PathError e) {
        lock.lock();
        try {
            if (e.controllerGone) {
                c.lost(session);
            } else if (c.session == session) {
                c.anaPending.add(nsid);
                later(() -> rescan(c));
            }
        } finally {
            lock.unlock();
        }
    }

    /** nvme_delete_ctrl: the paths go, heads without paths go, the instance and host id are released. */
    void delete(HostController c) {
        if (c.state == HostController.State.DELETING) {
            return;
        }
        c.state = HostController.State.DELETING;
        byKey.remove(c.key, c);
        c.stopTimers();
        if (c.session != null) {
            close(c.session);
            c.session = null;
        }
        HostSubsystem s = c.subsystem;
        for (MultipathHead h : s.heads.values()) {
            h.paths.remove(c);
        }
        s.controllers.remove(c);
        pruneHeads(s);
        controllers.remove(c.name);
        if (c.instance != s.instance) {
            instances.free(c.instance);
        }
        releaseIfUnused(s);
        log(c.name, "Removing ctrl: NQN \"" + s.nqn + "\"");
        pathsChanged();
    }

    /**
     * A head whose last path went is deleted (del_gendisk) even while open, as in 6.1: I/O on it
     * fails from then on. The simulated device stays registered while it has holders, and its
     * name and the subsystem's instance stay taken until it can be unregistered.
     */
    private void pruneHeads(HostSubsystem s) {
        for (MultipathHead h : List.copyOf(s.heads.values())) {
            if (h.paths.isEmpty()) {
                s.heads.remove(h.nsid);
                h.detached = true;
                s.detached.add(h);
            }
        }
        reapDetached(s);
        if (!s.detached.isEmpty()) {
            withDetached.add(s);
        }
    }

    private void reapDetachedHeads() {
        for (HostSubsystem s : List.copyOf(withDetached)) {
            reapDetached(s);
            if (s.detached.isEmpty()) {
                withDetached.remove(s);
                releaseIfUnused(s);
            }
        }
    }

    private void reapDetached(HostSubsystem s) {
        s.detached.removeIf(h -> {
            if (h.path != null && !devices.unregister(h.path)) {
                return false;
            }
            s.headInstances.free(h.instance);
            return true;
        });
    }

    private void releaseIfUnused(HostSubsystem s) {
        if (s.unused() && subsystems.remove(s.nqn, s)) {
            instances.free(s.instance);
        }
    }

    void pathsChanged() {
        changed.signalAll();
    }

    void log(String controller, String message) {
        log.log("nvme " + controller + ": " + message);
    }

    void logLine(String line) {
        log.log(line);
    }

    /** Runs work on the host's workqueue, under the lock. */
    void later(Runnable r) {
        if (running) {
            try {
                work.execute(() -> locked(r));
            } catch (java.util.concurrent.RejectedExecutionException poweredOff) {
                // the kernel went off meanwhile: nothing of it runs any more
            }
        }
    }

    ScheduledFuture<?> schedule(Runnable r, int seconds) {
        return scheduleNanos(r, TimeUnit.SECONDS.toNanos(seconds));
    }

    ScheduledFuture<?> scheduleNanos(Runnable r, long nanos) {
        return work.schedule(() -> locked(r), Math.max(0, nanos), TimeUnit.NANOSECONDS);
    }

    private void locked(Runnable r) {
        lock.lock();
        try {
            r.run();
        } finally {
            lock.unlock();
        }
    }
}
