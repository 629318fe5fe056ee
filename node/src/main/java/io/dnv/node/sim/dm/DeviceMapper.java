package io.dnv.node.sim.dm;

import io.dnv.node.kernel.KernelException;
import io.dnv.core.kernel.DmTableParser;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.node.sim.block.BlockDevices;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The device-mapper of one simulated kernel, driven the way dmsetup drives Linux 6.1's: tables
 * are constructed (and refused) at load, go live at resume, and every refusal carries the
 * errno and kernel log line Linux gives. Devices appear in {@link BlockDevices} as
 * /dev/mapper/&lt;name&gt; and /dev/dm-&lt;minor&gt; with major 254; a table holds open every device
 * it maps until it is replaced or its device removed.
 *
 * <p>Table changes are serialised by this object's lock; I/O never takes it, and waiting for
 * I/O (suspend) or computing statuses happens outside it, so an operator can always resume a
 * lower device that an upper device's I/O is waiting on.
 */
public final class DeviceMapper {

    static final int MAJOR = 254;
    private static final int MAX_NAME_BYTES = 127;
    private static final Pattern WORDS = Pattern.compile("\\s+");

    private final BlockDevices devices;
    private final Map<String, DmDevice> byName = new LinkedHashMap<>();
    private final TreeSet<Integer> freedMinors = new TreeSet<>();
    /** Names of devices being created: taken, not listed yet. */
    private final Set<String> creating = new HashSet<>();
    private final ThinPoolModule thinPool = new ThinPoolModule();
    /** The target types this kernel was built with: a table naming another is an unknown target type. */
    private final Set<String> targets;
    private final Kcopyd kcopyd;
    private final BitmapDaemon bitmapDaemon = new BitmapDaemon();

    /** A kernel with every target dnv models, whose copies cost nothing. */
    public DeviceMapper(BlockDevices devices) {
        this(devices, DmTableParser.modelled(), Kcopyd.FREE);
    }

    public DeviceMapper(BlockDevices devices, Set<String> targets) {
        this(devices, targets, Kcopyd.FREE);
    }

    public DeviceMapper(BlockDevices devices, Set<String> targets, Kcopyd kcopyd) {
        this.devices = devices;
        this.targets = Set.copyOf(targets);
        this.kcopyd = kcopyd;
    }

    /** md's bitmap daemon_sleep for this kernel's raid1 arrays (5 s unless set): how often bits of quiet regions clear. */
    public void bitmapDaemonSleep(Duration sleep) {
        bitmapDaemon.sleep(sleep);
    }

    /**
     * Writes dm_thin_pool's no_space_timeout: how long a pool without error_if_no_space holds a
     * write that needs a block it does not have (60 s unless set; zero holds it for ever).
     */
    public void noSpaceTimeout(Duration timeout) {
        thinPool.noSpaceTimeout(timeout);
    }

    /**
     * dmsetup create: a new device, its table loaded and resumed; nothing remains if any step is
     * refused. The targets read their metadata as they are built and start (a pool's metadata
     * header, raid1 superblocks), over the network when a side is imported: as in Linux, where
     * a table load and a resume take no lock of other devices, that holds up no other device's
     * command, so it runs outside the lock, the name kept taken meanwhile.
     */
    public void create(String name, String table) {
        DmDevice dev;
        synchronized (this) {
            checkName(name, "create");
            if (byName.containsKey(name) || creating.contains(name)) {
                throw ioctl(name, "create", Errno.EBUSY);
            }
            // Linux hands out the lowest free minor, so a removed device's number comes back.
            int minor = freedMinors.isEmpty() ? devices.allocateMinor(MAJOR) : freedMinors.pollFirst();
            dev = new DmDevice(name, minor);
            creating.add(name);
        }
        LoadedTable t;
        try {
            t = build(dev, table);
        } catch (TableError e) {
            synchronized (this) {
                creating.remove(name);
                freedMinors.add(dev.minor);
            }
            throw refused(dev, "create", "reload", e);
        }
        TableError refused = null;
        try {
            t.activate();
        } catch (TableError e) {
            refused = e;
        }
        synchronized (this) {
            creating.remove(name);
            if (refused != null) {
                t.release(devices, dev.holder());
                dev.detachPool();
                freedMinors.add(dev.minor);
                throw refused(dev, "create", "resume", refused);
            }
            dev.live(t);
            dev.preresumed = true;
            devices.register(dev.path(), MAJOR, dev.minor, dev, "/dev/dm-" + dev.minor);
            byName.put(name, dev);
            dev.gate.resume();
        }
    }

    /** dmsetup load: constructs the table now (so it is refused now) and keeps it inactive until resume. */
    public void load(String name, String table) {
        DmDevice dev;
        synchronized (this) {
            dev = find(name, "load");
        }
        LoadedTable t;
        try {
            t = build(dev, table);
        } catch (TableError e) {
            throw refused(dev, "load", "reload", e);
        }
        synchronized (this) {
            if (byName.get(name) != dev) {
                t.release(devices, dev.holder());
                throw ioctl(name, "load", Errno.ENXIO);
            }
            if (dev.inactive() != null) {
                dev.inactive().release(devices, dev.holder());
            }
            dev.inactive(t);
        }
    }

    /**
     * dm_table_create up to the devices held, outside the lock (a target may read through a lower
     * device); the devices are held under it, once they are known to be there still: a lower
     * device removed meanwhile is a lookup that failed, as it would have been a moment later.
     */
    private LoadedTable build(DmDevice dev, String table) throws TableError {
        LoadedTable t = LoadedTable.build(table, dev, devices, thinPool, kcopyd, bitmapDaemon, targets);
        synchronized (this) {
            if (!t.devicesStillThere(devices)) {
                throw TableError.of(Errno.ENXIO, "table: device lookup failed (removed while the table was built)");
            }
            t.hold(devices, dev.holder());
        }
        return t;
    }

    /**
     * dmsetup suspend: new I/O waits from now on; returns once the I/O in flight has completed and
     * the targets have stopped what they do by themselves (a raid1's copy finishes its region,
     * outside the lock: its I/O may wait for another device's command).
     */
    public void suspend(String name) {
        DmDevice dev;
        synchronized (this) {
            dev = find(name, "suspend");
        }
        dev.gate.suspend();
        LoadedTable live;
        synchronized (this) {
            live = byName.get(name) == dev ? dev.live() : null;
        }
        if (live != null) {
            live.postsuspend();
        }
    }

    /**
     * dmsetup resume: an inactive table replaces the live one (suspending first, as Linux does),
     * then I/O flows. As in Linux's do_resume, the new table is swapped in before its targets'
     * preresume runs: when that refuses, the new table stays live and the device suspended, and
     * the next resume asks the targets again.
     */
    public void resume(String name) {
        boolean swap;
        synchronized (this) {
            DmDevice dev = find(name, "resume");
            swap = dev.inactive() != null && !dev.gate.suspended();
        }
        if (swap) {
            suspend(name);
        }
        synchronized (this) {
            DmDevice dev = find(name, "resume");
            LoadedTable next = dev.inactive();
            if (next != null) {
                LoadedTable old = dev.live();
                dev.live(next);
                dev.inactive(null);
                if (old != null) {
                    old.release(devices, dev.holder());
                }
                if (!next.hasPool()) {
                    dev.detachPool();
                }
                dev.preresumed = false;
            }
            if (!dev.preresumed && dev.live() != null) {
                try {
                    dev.live().activate();
                } catch (TableError e) {
                    throw refused(dev, "resume", "resume", e);
                }
                dev.preresumed = true;
            }
            if (dev.live() != null) {
                dev.live().resumed();
            }
            dev.gate.resume();
        }
    }

    /** dmsetup remove: refused while anything holds the device open (an upper table, nvmet, a test). */
    public synchronized void remove(String name) {
        DmDevice dev = find(name, "remove");
        if (devices.openCount(dev.path()) > 0 || !devices.unregister(dev.path())) {
            throw ioctl(name, "remove", Errno.EBUSY);
        }
        dropTables(dev);
        byName.remove(name);
        freedMinors.add(dev.minor);
    }

    /** dmsetup message: sent to the target at that sector of the live table (thin-pool: create_thin, create_snap, delete). */
    public String message(String name, long sector, String message) {
        LoadedTable live;
        synchronized (this) {
            live = find(name, "message").live();
        }
        String[] words = WORDS.split(message.strip());
        try {
            if (live == null || sector >= live.sizeSectors()) {
                throw TableError.of(Errno.EINVAL, "ioctl: Target message sector outside device.");
            }
            return live.message(sector, words);
        } catch (TableError e) {
            throw new KernelException(name, "message", "device-mapper: message ioctl on " + name + "  failed: "
                    + e.errno.text + "\ndevice-mapper: " + e.log);
        }
    }

    /** `dmsetup status NAME`: the live table's status, asked outside the lock as list() does; empty when there is no such device. */
    public java.util.Optional<String> status(String name) {
        LoadedTable live;
        synchronized (this) {
            DmDevice dev = byName.get(name);
            if (dev == null) {
                return java.util.Optional.empty();
            }
            live = dev.live();
        }
        return java.util.Optional.of(live == null ? "" : live.status());
    }

    /** `dmsetup table` and `dmsetup status` of every device, as one snapshot. */
    public List<ObservedKernel.Dm> list() {
        return list(null);
    }

    /** {@link #list()} of the devices of these names that exist ({@code names} null: of every device). */
    public List<ObservedKernel.Dm> list(java.util.Collection<String> names) {
        record Seen(DmDevice dev, LoadedTable live, boolean suspended) {}
        List<Seen> seen = new ArrayList<>();
        int[] openCounts;
        synchronized (this) {
            List<String> paths = new ArrayList<>();
            for (DmDevice d : named(names)) {
                seen.add(new Seen(d, d.live(), d.gate.suspended()));
                paths.add(d.path());
            }
            openCounts = devices.openCounts(paths);
        }
        List<ObservedKernel.Dm> out = new ArrayList<>(seen.size());
        for (int i = 0; i < openCounts.length; i++) {
            Seen s = seen.get(i);
            out.add(s.dev().observed(s.live() == null ? "" : s.live().table(), s.live() == null ? "" : s.live().status(),
                    s.suspended(), openCounts[i]));
        }
        return out;
    }

    /** Every device in the order they were created ({@code names} null), or those of these names that exist, in their order. */
    private List<DmDevice> named(java.util.Collection<String> names) {
        if (names == null) {
            return new ArrayList<>(byName.values());
        }
        List<DmDevice> found = new ArrayList<>();
        for (String name : names) {
            DmDevice d = byName.get(name);
            if (d != null) {
                found.add(d);
            }
        }
        return found;
    }

    /** Every dm device refuses new I/O from now on: the first thing a machine losing power does. */
    public synchronized void halt() {
        bitmapDaemon.halt();
        for (DmDevice dev : byName.values()) {
            dev.gate.kill();
        }
    }

    /**
     * The machine loses power: every dm device disappears at once without writing anything (what
     * a target had not yet persisted is lost), I/O waiting on them fails, their holders are gone.
     * The disks stay registered; a new DeviceMapper finds on them whatever was persisted.
     */
    public synchronized void powerOff() {
        halt();
        for (DmDevice dev : byName.values()) {
            dropTables(dev);
            devices.resolve(dev.path()).ifPresent(e -> List.copyOf(e.holders()).forEach(h -> devices.close(e.path(), h)));
            devices.unregister(dev.path());
        }
        byName.clear();
    }

    private void dropTables(DmDevice dev) {
        dev.gate.kill();
        if (dev.live() != null) {
            dev.live().release(devices, dev.holder());
            dev.live(null);
        }
        if (dev.inactive() != null) {
            dev.inactive().release(devices, dev.holder());
            dev.inactive(null);
        }
        dev.detachPool();
    }

    private void checkName(String name, String operation) {
        if (name.isEmpty() || name.contains("/") || name.getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
            throw new KernelException(name, operation, "device-mapper: create ioctl on " + name + "  failed: "
                    + Errno.EINVAL.text + " (dm names are 1 to " + MAX_NAME_BYTES + " bytes without '/')");
        }
    }

    private DmDevice find(String name, String operation) {
        DmDevice dev = byName.get(name);
        if (dev == null) {
            throw ioctl(name, operation, Errno.ENXIO);
        }
        return dev;
    }

    private static KernelException ioctl(String name, String operation, Errno errno) {
        String ioctl = operation.equals("load") ? "reload" : operation;
        return new KernelException(name, operation, "device-mapper: " + ioctl + " ioctl on " + name + "  failed: " + errno.text);
    }

    private static KernelException refused(DmDevice dev, String operation, String ioctl, TableError e) {
        if (e.errno == null) {
            return new KernelException(dev.name, operation, e.log);
        }
        return new KernelException(dev.name, operation, "device-mapper: " + ioctl + " ioctl on " + dev.name + " ("
                + dev.majorMinor() + ") failed: " + e.errno.text + "\ndevice-mapper: table: " + dev.majorMinor() + ": " + e.log);
    }
}
