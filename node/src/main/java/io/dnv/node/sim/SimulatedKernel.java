package io.dnv.node.sim;

import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.DmTableParser;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.node.kernel.Kernel;
import io.dnv.node.kernel.KernelException;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.node.sim.block.BlockDevice;
import io.dnv.node.sim.block.BlockDevices;
import io.dnv.node.sim.block.FileDisk;
import io.dnv.node.sim.dm.DeviceMapper;
import io.dnv.node.sim.nvme.Fabric;
import io.dnv.node.sim.nvme.NvmeHost;
import io.dnv.node.sim.nvme.Nvmet;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * One storage server's (or host's) kernel in memory: device-mapper, nvmet and the NVMe host,
 * over physical disks that are sparse files. It refuses what Linux refuses and keeps the
 * bytes; {@link #powerCycle()} loses every kernel object and keeps the disks, as a reboot does.
 */
public final class SimulatedKernel implements Kernel {

    /** Linux's major for RAM disks; the VM test bed uses /dev/ramN as its physical disks. */
    private static final int DISK_MAJOR = 1;
    /** Linux's major for NVMe namespaces (blkext), local ones as well as imported heads. */
    private static final int NVME_MAJOR = 259;

    private record Disk(String path, Path file, long sizeBytes, Optional<UUID> uuid) {}

    private final String name;
    private final Fabric fabric;
    private final KernelLatencies latencies;
    /** What this kernel's operations cost so far, by kind: where a benchmark's time went. */
    private final KernelLatencies.Ledger spent = new KernelLatencies.Ledger();
    /** /dev/nvme-fabrics: every connect of this kernel holds it ({@link #nvmeConnect}). */
    private final Object fabricsDevice = new Object();
    private final Duration ioTimeout;
    /** Whether the kernel was built with dm-clone: Debian's is not (CONFIG_DM_CLONE unset). */
    private boolean dmClone = true;
    /** Off: a dead machine. Its peers' connections go silent and every call on it fails. */
    private volatile boolean on = true;
    private final Map<String, Disk> disks = new LinkedHashMap<>();
    private final List<FileDisk> openDisks = new ArrayList<>();
    private BlockDevices devices;
    /** New at every boot, as Linux's /proc/sys/kernel/random/boot_id. */
    private String bootId;
    private DeviceMapper dm;
    private Nvmet nvmet;
    private NvmeHost host;

    /** A kernel whose operations cost no time and whose host times I/O out after Linux's default 30 s. */
    public SimulatedKernel(String name, Fabric fabric) {
        this(name, fabric, KernelLatencies.NONE, NvmeHost.DEFAULT_IO_TIMEOUT);
    }

    /**
     * {@code latencies}: what each operation costs ({@link KernelLatencies#MEASURED} for the
     * benchmark and ./dnv dev); {@code ioTimeout}: nvme_core.io_timeout of its NVMe host.
     */
    public SimulatedKernel(String name, Fabric fabric, KernelLatencies latencies, Duration ioTimeout) {
        this.name = name;
        this.fabric = fabric;
        this.latencies = latencies;
        this.ioTimeout = ioTimeout;
        boot();
    }

    public KernelLatencies latencies() {
        return latencies;
    }

    /** Every operation charged since the kernel was made (across power cycles), by kind. */
    public KernelLatencies.Ledger spent() {
        return spent;
    }

    public String name() {
        return name;
    }

    /** What the NVMe host side logged (dmesg): connects refused, reconnect attempts, failfast, deletions. */
    public synchronized List<String> hostLog() {
        return host.dmesg();
    }

    /** What nvmet logged (dmesg): connects it refused and why, keep-alive timers that expired. */
    public synchronized List<String> targetLog() {
        return nvmet.dmesg();
    }

    /** /sys/block/nvmeXcYnZ/ana_state: one path's ANA state as this host last read it; empty when the controller is not live. */
    public synchronized Optional<String> pathAnaState(String controller, int nsid) {
        return host.pathAnaState(controller, nsid);
    }

    /** Attaches a physical disk backed by a sparse file (created if missing, kept across power cycles). */
    public synchronized SimulatedKernel addDisk(String path, Path file, long sizeBytes) {
        return add(new Disk(path, file, sizeBytes, Optional.empty()));
    }

    /**
     * Attaches a local NVMe namespace that reports a UUID, as Linux shows one in sysfs for any
     * namespace that reports a UUID or NGUID (most datacenter SSDs do): a physical disk that
     * looks like an imported namespace by its UUID.
     */
    public synchronized SimulatedKernel addNvmeDisk(String path, Path file, long sizeBytes, UUID uuid) {
        return add(new Disk(path, file, sizeBytes, Optional.of(uuid)));
    }

    private SimulatedKernel add(Disk d) {
        disks.put(d.path(), d);
        attach(d);
        return this;
    }

    /**
     * A reboot: every kernel object gone at once, the disks keep their bytes. Peers' connections
     * went silent with the machine and meet an RST once it is back (their next frame reaches a
     * kernel that has no such connection).
     */
    public synchronized void powerCycle() {
        powerOff();
        powerOn();
    }

    /**
     * The machine dies (a crash, a pulled plug): no FIN, no RST; peers notice by their own
     * keep-alive, connects to it time out, and every call on it fails until {@link #powerOn}.
     */
    public synchronized void powerOff() {
        if (!on) {
            return;
        }
        on = false;
        fabric.power(name, false);
        // No new I/O enters a dm device; then the I/O in flight to other machines aborts (the
        // machine's own initiator is gone): a thin pool's metadata write waiting on an import of a
        // silent disk node holds the pool until it fails, and dropping the tables waits for the
        // pool. Dropping them first took 13 to 19 s at 100 and 1000 volumes, the length of that
        // import's timeouts, while a real machine is gone at once.
        dm.halt();
        host.powerOff();
        nvmet.powerOff();
        dm.powerOff();
        closeDisks();
    }

    /** Boots an empty kernel over the same disks. */
    public synchronized void powerOn() {
        if (on) {
            return;
        }
        boot();
        disks.values().forEach(this::attach);
        on = true;
        fabric.power(name, true);
    }

    public boolean isOn() {
        return on;
    }

    /** Powers the kernel off for good (releases the disk files). */
    public synchronized void shutdown() {
        powerOff();
    }

    /**
     * What the operation costs on Linux, spent by the caller before it happens and outside every
     * lock: Linux holds no lock of other devices while dmsetup starts, so an operation on one
     * device never holds up I/O or a status of another. A dead kernel answers nothing.
     */
    private void charge(KernelLatencies.Op op, int times) {
        spent.add(op, times, latencies.spend(op, times));
        if (!on) {
            throw new KernelException("kernel " + name, op.label(), "the machine is powered off");
        }
    }

    private void charge(KernelLatencies.Op op) {
        charge(op, 1);
    }

    /** A kcopyd job (dm-clone's hydration) of {@code bytes}: charged per 64 KiB begun, on the copying thread. */
    private void copied(long bytes) {
        int units = (int) ((bytes + KernelLatencies.COPY_UNIT_BYTES - 1) / KernelLatencies.COPY_UNIT_BYTES);
        spent.add(KernelLatencies.Op.KCOPYD_64K, units, latencies.spend(KernelLatencies.Op.KCOPYD_64K, units));
    }

    /**
     * Opens a block device as a process would (it counts as a holder until closed), for a
     * simulated host writing through a volume or a test reading a disk.
     */
    public Handle open(String path) {
        BlockDevices.Entry e = devices.resolve(path)
                .orElseThrow(() -> new KernelException(path, "open", "No such file or directory"));
        String holder = "open:" + UUID.randomUUID();
        devices.open(e.path(), holder);
        return new Handle(devices, e.path(), holder, e.device());
    }

    /** An open block device; close it or the device stays busy, as in Linux. */
    public static final class Handle implements AutoCloseable {
        private final BlockDevices devices;
        private final String path;
        private final String holder;
        private final BlockDevice device;

        private Handle(BlockDevices devices, String path, String holder, BlockDevice device) {
            this.devices = devices;
            this.path = path;
            this.holder = holder;
            this.device = device;
        }

        public long sizeBytes() {
            return device.sizeSectors() * BlockDevice.SECTOR;
        }

        public void read(long offset, byte[] buf) throws IOException {
            device.read(offset, buf);
        }

        public void write(long offset, byte[] buf) throws IOException {
            device.write(offset, buf);
        }

        @Override
        public void close() {
            devices.close(path, holder);
        }
    }

    // The looks take the kernel's lock only to see which objects are current: a dm status that
    // waits (a thin pool whose metadata I/O is held) must not hold up a look at the host side.

    @Override
    public ObservedKernel observe() {
        return look(null, Optional.empty(), KernelLatencies.Op.OBSERVE, KernelLatencies.Op.OBSERVE_PER_DEVICE);
    }

    @Override
    public ObservedKernel observe(java.util.Collection<String> dmNames, Optional<java.util.Collection<String>> subsystemNqns) {
        return look(dmNames, subsystemNqns, KernelLatencies.Op.OBSERVE_DEVICES, KernelLatencies.Op.OBSERVE_PER_NAMED_DEVICE);
    }

    /**
     * Every dm device ({@code dmNames} null) or the named ones, every subsystem or the named ones,
     * and everything else.
     */
    private ObservedKernel look(java.util.Collection<String> dmNames, Optional<java.util.Collection<String>> subsystemNqns,
                                KernelLatencies.Op op, KernelLatencies.Op perDevice) {
        DeviceMapper d;
        Nvmet t;
        synchronized (this) {
            d = dm;
            t = nvmet;
        }
        List<ObservedKernel.Dm> devices = d.list(dmNames);
        // Linux reads named devices in scripts of at most NAMES_PER_LOOK names each.
        charge(op, dmNames == null ? 1 : Math.max(1, (dmNames.size() + NAMES_PER_LOOK - 1) / NAMES_PER_LOOK));
        charge(perDevice, devices.size());
        List<ObservedKernel.Subsystem> subsystems = subsystemNqns.map(Set::copyOf)
                .map(named -> t.subsystems().stream().filter(s -> named.contains(s.nqn())).toList())
                .orElseGet(t::subsystems);
        charge(KernelLatencies.Op.OBSERVE_PER_SUBSYSTEM, subsystems.size());
        HostSide h = readHostSide();
        return new ObservedKernel(devices, h.blockDevices(), t.ports(), subsystems, t.hosts(), h.controllers(), h.bootId());
    }

    @Override
    public HostSide observeHost() {
        charge(KernelLatencies.Op.OBSERVE_HOST);
        return readHostSide();
    }

    /** The host side, charged per controller read (outside the kernel's lock, as every charge). */
    private HostSide readHostSide() {
        HostSide h = lookAtHost();
        charge(KernelLatencies.Op.OBSERVE_PER_CONTROLLER, h.controllers().size());
        return h;
    }

    /** Charged as a look at the host side, with only these controllers read. */
    @Override
    public List<ObservedKernel.Controller> observeControllers(java.util.Collection<String> names) {
        charge(KernelLatencies.Op.OBSERVE_HOST);
        List<ObservedKernel.Controller> controllers = host.controllers(names);
        charge(KernelLatencies.Op.OBSERVE_PER_CONTROLLER, controllers.size());
        return controllers;
    }

    private synchronized HostSide lookAtHost() {
        return new HostSide(bootId, blockDevices(), host.controllers());
    }

    @Override
    public Optional<String> dmStatus(String name) {
        charge(KernelLatencies.Op.DM_STATUS);
        DeviceMapper d;
        synchronized (this) {
            d = dm;
        }
        return d.status(name);
    }

    private List<ObservedKernel.BlockDevice> blockDevices() {
        List<ObservedKernel.BlockDevice> block = new ArrayList<>();
        for (Disk d : disks.values()) {
            devices.resolve(d.path()).ifPresent(e -> block.add(new ObservedKernel.BlockDevice(e.path(), e.majorMinor(),
                    e.device().sizeSectors(), d.uuid())));
        }
        block.addAll(host.namespaceHeads());
        return block;
    }

    /**
     * This kernel as Debian builds it, without dm-clone: a table with a clone target is refused as
     * an unknown target type and "dm-clone" is not among its capabilities, across power cycles.
     * Only before the kernel holds a dm device (a module cannot go away under its devices).
     */
    public synchronized SimulatedKernel withoutDmClone() {
        if (!dm.list().isEmpty()) {
            throw new IllegalStateException("dm-clone can be left out only before any dm device exists");
        }
        dmClone = false;
        dm = new DeviceMapper(devices, targets(), this::copied);
        return this;
    }

    private Set<String> targets() {
        Set<String> types = new java.util.TreeSet<>(DmTableParser.modelled());
        if (!dmClone) {
            types.remove("clone");
        }
        return types;
    }

    /** TCP, raid, thin, and clone unless it was left out ({@link #withoutDmClone}). */
    @Override
    public synchronized Set<String> capabilities() {
        return dmClone ? Set.of("transport:tcp", "dm-raid", "dm-thin-pool", "dm-clone")
                : Set.of("transport:tcp", "dm-raid", "dm-thin-pool");
    }

    @Override
    public void dmCreate(String name, String table) {
        charge(KernelLatencies.Op.forCreate(table));
        dm.create(name, table);
    }

    @Override
    public void dmLoad(String name, String table) {
        charge(KernelLatencies.Op.DM_LOAD);
        dm.load(name, table);
    }

    @Override
    public void dmSuspend(String name) {
        charge(KernelLatencies.Op.DM_SUSPEND);
        dm.suspend(name);
    }

    @Override
    public void dmResume(String name) {
        charge(KernelLatencies.Op.DM_RESUME);
        dm.resume(name);
    }

    @Override
    public void dmRemove(String name) {
        charge(KernelLatencies.Op.DM_REMOVE);
        dm.remove(name);
    }

    @Override
    public String dmMessage(String name, long sector, String message) {
        charge(KernelLatencies.Op.DM_MESSAGE);
        return dm.message(name, sector, message);
    }

    /** blkdiscard -z: holds the device open while it zeroes, so the device cannot be removed meanwhile. */
    @Override
    public void zeroOut(String devicePath, long offsetBytes, long lengthBytes) {
        if (!on) {
            throw new KernelException(devicePath, "blkdiscard -z", "the machine is powered off");
        }
        Handle h;
        try {
            h = open(devicePath);
        } catch (KernelException missing) {
            throw new KernelException(devicePath, "blkdiscard -z", "No such file or directory");
        }
        try (h) {
            h.device.writeZeroes(offsetBytes, lengthBytes);
        } catch (IOException io) {
            throw new KernelException(devicePath, "blkdiscard -z", "Input/output error: " + io.getMessage());
        }
    }

    @Override
    public void nvmetPortCreate(NvmetPort port) {
        charge(KernelLatencies.Op.CONFIGFS_MKDIR);
        nvmet.portCreate(port);
    }

    @Override
    public void nvmetPortRemove(int portId) {
        charge(KernelLatencies.Op.CONFIGFS_RMDIR);
        nvmet.portRemove(portId);
    }

    @Override
    public void nvmetAnaGroupCreate(int portId, int group) {
        charge(KernelLatencies.Op.CONFIGFS_MKDIR);
        nvmet.anaGroupCreate(portId, group);
    }

    @Override
    public void nvmetAnaGroupRemove(int portId, int group) {
        charge(KernelLatencies.Op.CONFIGFS_RMDIR);
        nvmet.anaGroupRemove(portId, group);
    }

    @Override
    public void nvmetAnaState(int portId, int group, AnaState state) {
        charge(KernelLatencies.Op.CONFIGFS_WRITE);
        nvmet.anaState(portId, group, state);
    }

    @Override
    public void nvmetHostCreate(String hostNqn) {
        charge(KernelLatencies.Op.CONFIGFS_MKDIR);
        nvmet.hostCreate(hostNqn);
    }

    @Override
    public void nvmetHostRemove(String hostNqn) {
        charge(KernelLatencies.Op.CONFIGFS_RMDIR);
        nvmet.hostRemove(hostNqn);
    }

    @Override
    public void nvmetSubsystemCreate(String nqn, int cntlidMin, int cntlidMax, String serial) {
        charge(KernelLatencies.Op.CONFIGFS_MKDIR);
        nvmet.subsystemCreate(nqn, cntlidMin, cntlidMax, serial);
    }

    @Override
    public void nvmetSubsystemRemove(String nqn) {
        charge(KernelLatencies.Op.CONFIGFS_RMDIR);
        nvmet.subsystemRemove(nqn);
    }

    @Override
    public void nvmetAllowAnyHost(String nqn, boolean allow) {
        charge(KernelLatencies.Op.CONFIGFS_WRITE);
        nvmet.allowAnyHost(nqn, allow);
    }

    @Override
    public void nvmetAllowHost(String nqn, String hostNqn) {
        charge(KernelLatencies.Op.CONFIGFS_LINK);
        nvmet.allowHost(nqn, hostNqn);
    }

    @Override
    public void nvmetDisallowHost(String nqn, String hostNqn) {
        charge(KernelLatencies.Op.CONFIGFS_LINK);
        nvmet.disallowHost(nqn, hostNqn);
    }

    @Override
    public void nvmetNamespaceCreate(String nqn, int nsid, String devicePath, UUID uuid, String nguid, int anaGroup) {
        charge(KernelLatencies.Op.CONFIGFS_MKDIR);
        nvmet.namespaceCreate(nqn, nsid, devicePath, uuid, nguid, anaGroup);
    }

    @Override
    public void nvmetNamespaceEnable(String nqn, int nsid, boolean enable) {
        charge(enable ? KernelLatencies.Op.NAMESPACE_ENABLE : KernelLatencies.Op.NAMESPACE_DISABLE);
        nvmet.namespaceEnable(nqn, nsid, enable);
    }

    @Override
    public void nvmetNamespaceAnaGroup(String nqn, int nsid, int group) {
        charge(KernelLatencies.Op.CONFIGFS_WRITE);
        nvmet.namespaceAnaGroup(nqn, nsid, group);
    }

    @Override
    public void nvmetNamespaceRevalidate(String nqn, int nsid) {
        charge(KernelLatencies.Op.CONFIGFS_WRITE);
        nvmet.namespaceRevalidate(nqn, nsid);
    }

    @Override
    public void nvmetNamespaceRemove(String nqn, int nsid) {
        // LinuxKernel disables, then removes the directory, in one script
        charge(KernelLatencies.Op.NAMESPACE_DISABLE);
        charge(KernelLatencies.Op.CONFIGFS_RMDIR);
        nvmet.namespaceRemove(nqn, nsid);
    }

    @Override
    public void nvmetLink(int portId, String nqn) {
        charge(KernelLatencies.Op.PORT_LINK);
        nvmet.link(portId, nqn);
    }

    @Override
    public void nvmetUnlink(int portId, String nqn) {
        charge(KernelLatencies.Op.PORT_UNLINK);
        nvmet.unlink(portId, nqn);
    }

    /**
     * A probe process: nothing listening answers with a reset at once, a silent link not at all,
     * and the probe gives up after {@code timeout}.
     */
    @Override
    public boolean answers(NvmeConnection connection, Duration timeout) {
        charge(KernelLatencies.Op.TCP_PROBE);
        if (!connection.transport().equals("tcp") || !host.unanswered(connection)) {
            return true;
        }
        try {
            Thread.sleep(timeout.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false;
    }

    /**
     * One connect at a time, its SYN timeout included: Linux holds one mutex (nvmf_dev_mutex) for
     * every write to /dev/nvme-fabrics, across the whole connect.
     */
    @Override
    public String nvmeConnect(NvmeConnection connection) {
        synchronized (fabricsDevice) {
            charge(KernelLatencies.Op.NVME_CONNECT);
            return host.connect(connection);
        }
    }

    @Override
    public void nvmeDisconnect(String controller) {
        charge(KernelLatencies.Op.NVME_DISCONNECT);
        host.disconnect(controller);
    }

    private void boot() {
        bootId = UUID.randomUUID().toString();
        devices = new BlockDevices();
        dm = new DeviceMapper(devices, targets(), this::copied);
        nvmet = new Nvmet(name, devices, fabric);
        host = new NvmeHost(name, devices, fabric, ioTimeout);
    }

    private void attach(Disk d) {
        FileDisk disk = new FileDisk(d.file(), d.sizeBytes());
        openDisks.add(disk);
        int major = d.uuid().isPresent() ? NVME_MAJOR : DISK_MAJOR;
        devices.register(d.path(), major, devices.allocateMinor(major), disk);
    }

    private void closeDisks() {
        for (FileDisk d : openDisks) {
            try {
                d.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        openDisks.clear();
    }
}
