package io.dnv.node.sim;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * What each kernel operation costs the agent on Linux, charged by {@link SimulatedKernel} so that
 * a benchmark cannot make thousands of kernel operations look free. Injectable: the default test
 * suite uses {@link #NONE} (or small figures in tests about time), the benchmark and ./dnv dev
 * {@link #MEASURED}; {@link #print} shows the table a run used.
 *
 * <p>Where {@link #MEASURED} comes from: {@code KernelLatencyOnLinuxTest} (sim, tagged
 * real-kernel) ran the very script LinuxKernel runs for each operation with {@code sh}, 25 times
 * after two warm-ups, in a Debian 6.1.0-57 guest under QEMU TCG (1 vCPU, RAM disks), timed
 * inside the guest; the medians are {@link Op#guestMillis}. They include the shell and dmsetup
 * processes a production agent starts per call. TCG emulates every instruction, so they are
 * divided by {@link #TCG_SLOWDOWN}: the same static busybox ran a loop of 100 fork/execs in the
 * guest (560 ms and 572 ms in two runs) and on the host (82 ms with the host quiet; 203 ms in the
 * second run, with the machine's two shared cores busy with other builds, so not used). These
 * scripts are mostly process creation plus kernel work, which is what that loop measures; a
 * CPU-bound awk loop is 18-21x slower under TCG and a syscall-bound dd 4x, so the true factor
 * for kernel-heavy operations may be lower and the figures here on the low side of the truth
 * for a busy dmsetup (e.g. a dm create that must allocate large metadata). 2025-12, sim/
 * real-kernel suite, once, 151 s. {@link Op#KCOPYD_64K}, the kernel's own copying rather than a
 * script, comes from {@code KcopydOnLinuxTest} and its own slowdown ({@link #COPY_SLOWDOWN}).
 */
public final class KernelLatencies {

    /** What {@link Op#KCOPYD_64K} is charged per: dm-clone's region (CloneSource.REGION_SECTORS). */
    public static final long COPY_UNIT_BYTES = 64 << 10;

    /** Guest time over host time for the same fork/exec loop (see above). */
    public static final double TCG_SLOWDOWN = 6.8;
    /**
     * Guest time over host time for the kernel copying memory: the same static busybox {@code dd}
     * moving 256 MiB from /dev/zero to /dev/null in 64 KiB blocks, 659.2 ms in the guest and 12.1 ms
     * on the host (medians of five), measured by {@code KcopydOnLinuxTest} in the run that timed
     * {@link Op#KCOPYD_64K}: a 64 MiB dm-clone of 64 KiB regions (threshold 8, batch 4) hydrated
     * RAM disk to RAM disk in 1176, 863 and 906 ms, 0.885 ms a region (2026-12, load average 6 to 12).
     */
    public static final double COPY_SLOWDOWN = 54.7;

    /** The kinds of operation, with the median measured in the TCG guest. */
    public enum Op {
        DM_CREATE("dmsetup create (linear, error, stripes, thin)", 58.88),
        DM_CREATE_RAID1("dmsetup create (raid1)", 69.74),
        DM_CREATE_THIN_POOL("dmsetup create (thin-pool)", 60.05),
        DM_LOAD("dmsetup load", 54.78),
        DM_SUSPEND("dmsetup suspend (no I/O in flight)", 49.43),
        DM_RESUME("dmsetup resume", 53.09),
        DM_REMOVE("dmsetup remove", 75.89),
        DM_MESSAGE("dmsetup message", 46.69),
        DM_STATUS("dmsetup status NAME", 45.21),
        CONFIGFS_MKDIR("configfs mkdir and its attributes (port, subsystem, namespace, host, ANA group)", 11.42),
        CONFIGFS_RMDIR("configfs rmdir", 10.34),
        CONFIGFS_WRITE("configfs attribute write (ana_state, ana_grpid, allow_any_host, revalidate)", 8.06),
        /** Measured for allowed_hosts links; their removal (rm) is charged the same, not measured apart. */
        CONFIGFS_LINK("configfs allowed_hosts link or unlink", 9.79),
        PORT_LINK("configfs port link (the first one binds the socket)", 10.04),
        PORT_UNLINK("configfs port unlink (drops its connections)", 9.47),
        NAMESPACE_ENABLE("namespace enable (opens the device)", 9.76),
        NAMESPACE_DISABLE("namespace disable", 14.63),
        NVME_CONNECT("connect through /dev/nvme-fabrics over TCP", 57.08),
        NVME_DISCONNECT("sysfs delete_controller", 67.74),
        /** 2026-12-07 (see {@link #OBSERVE_HOST}): busybox nc to a listening nvmet port of the other guest. */
        TCP_PROBE("userspace TCP connect probe (busybox nc) that is answered", 16.45),
        /**
         * This and {@link #OBSERVE}, {@link #OBSERVE_DEVICES}, {@link #OBSERVE_PER_SUBSYSTEM} and
         * {@link #OBSERVE_PER_CONTROLLER} come from a run of 2026-12-07 (fork/exec slowdown 7.4,
         * system calls 4.4), after the looks stopped starting a process per attribute read. A
         * run of the same day on the scripts before (over 40 objects of each kind): 38.04 ms for
         * this, 84.8 ms a subsystem and 80.7 ms a controller (docs/kernel-rules.md, "A look at
         * thousands of objects").
         */
        OBSERVE_HOST("sysfs look at controllers and namespace heads", 12.25),
        OBSERVE("whole look at the kernel, with no dm device", 158.67),
        /** (median with 40 devices − median with none) / 40. */
        OBSERVE_PER_DEVICE("whole look at the kernel, per dm device", 0.742),
        /**
         * A look reading only named dm devices (LinuxKernel.observe(names)), with none named:
         * 2026-12-07, beside {@link #OBSERVE} (see {@link #OBSERVE_HOST}). Per device, an earlier
         * run (2026-12, fork/exec slowdown 5.3) measured it and the whole look side by side: named,
         * one of 40 devices 253.95 ms and all 40 333.24 ms; whole, no device 199.96 ms and 40
         * devices 243.70 ms. The figure per named device is this table's per device of a whole
         * look times that ratio, 1.86 (dmsetup resolves each name with an ioctl of its own, and
         * the script pipes the answers once more); the later runs' per-device figures over 40
         * devices were within their noise of zero.
         */
        OBSERVE_DEVICES("look at the kernel reading only named dm devices", 242.73),
        OBSERVE_PER_NAMED_DEVICE("look at named dm devices, per device read", 0.742 * 2.033 / 1.094),
        /** (median with 200 subsystems − median with none) / 200, each with its attributes read by the shell. */
        OBSERVE_PER_SUBSYSTEM("look at the kernel, per nvmet subsystem (with a namespace, an allowed host, a port link)", 1.949),
        /** (median with 200 controllers − median with none) / 200: a look at the host side, each with its namespace head. */
        OBSERVE_PER_CONTROLLER("look at the host side, per NVMe controller (with its namespace head)", 2.190),
        /**
         * Charged per {@link #COPY_UNIT_BYTES} of a kcopyd job: dm-clone's copy of a region, by a
         * write or in the background. Not a script but the kernel copying memory, so divided by
         * {@link #COPY_SLOWDOWN} (see there); the figure is RAM disk to RAM disk, a floor for a
         * server whose copy crosses NVMe/TCP to its disks.
         */
        KCOPYD_64K("kcopyd copy of 64 KiB from source to destination (a dm-clone region)", 0.885, COPY_SLOWDOWN);

        private final String label;
        final double guestMillis;
        /** Guest time over host time for this kind of work. */
        final double slowdown;

        Op(String label, double guestMillis) {
            this(label, guestMillis, TCG_SLOWDOWN);
        }

        Op(String label, double guestMillis, double slowdown) {
            this.label = label;
            this.guestMillis = guestMillis;
            this.slowdown = slowdown;
        }

        public String label() {
            return label;
        }

        /** Charged per object a look read, on top of the look's own charge: not an operation of its own. */
        public boolean perObject() {
            return name().startsWith("OBSERVE_PER_");
        }

        /** The create's cost by its first target: raid1 and thin-pool read and write their metadata. */
        static Op forCreate(String table) {
            String[] words = table.strip().split("\\s+", 4);
            String type = words.length > 2 ? words[2] : "";
            return switch (type) {
                case "raid" -> DM_CREATE_RAID1;
                case "thin-pool" -> DM_CREATE_THIN_POOL;
                default -> DM_CREATE;
            };
        }
    }

    /** Every operation free: the default suite. */
    public static final KernelLatencies NONE = new KernelLatencies(new EnumMap<>(Op.class));

    /** The guest medians divided by the slowdown: what a storage server pays. */
    public static final KernelLatencies MEASURED = measured();

    private final Map<Op, Long> nanos;

    private KernelLatencies(Map<Op, Long> nanos) {
        this.nanos = nanos;
    }

    private static KernelLatencies measured() {
        Map<Op, Long> m = new EnumMap<>(Op.class);
        for (Op op : Op.values()) {
            m.put(op, Math.round(op.guestMillis / op.slowdown * 1e6));
        }
        return new KernelLatencies(m);
    }

    /** This table with every figure times {@code factor} (a slower or faster machine). */
    public KernelLatencies scaled(double factor) {
        Map<Op, Long> m = new EnumMap<>(Op.class);
        nanos.forEach((op, n) -> m.put(op, Math.round(n * factor)));
        return new KernelLatencies(m);
    }

    /** This table with one figure replaced. */
    public KernelLatencies with(Op op, Duration cost) {
        Map<Op, Long> m = new EnumMap<>(nanos);
        m.put(op, cost.toNanos());
        return new KernelLatencies(m);
    }

    public Duration of(Op op) {
        return Duration.ofNanos(nanos.getOrDefault(op, 0L));
    }

    /**
     * Spends the cost of {@code times} such operations on the calling thread (holding no lock of
     * the kernel's); answers the nanoseconds charged.
     */
    long spend(Op op, int times) {
        long n = nanos.getOrDefault(op, 0L) * times;
        long deadline = System.nanoTime() + n;
        for (long left = n; left > 0; left = deadline - System.nanoTime()) {
            LockSupport.parkNanos(left);
        }
        return n;
    }

    /** Operations charged so far and their cost, by kind; a snapshot minus an earlier one is what happened in between. */
    public static final class Ledger {
        private final AtomicLongArray counts = new AtomicLongArray(Op.values().length);
        private final AtomicLongArray charged = new AtomicLongArray(Op.values().length);

        void add(Op op, int times, long nanos) {
            counts.addAndGet(op.ordinal(), times);
            charged.addAndGet(op.ordinal(), nanos);
        }

        /** How many operations of each kind ran, and the time they were charged. */
        public Map<Op, Spent> snapshot() {
            Map<Op, Spent> m = new EnumMap<>(Op.class);
            for (Op op : Op.values()) {
                m.put(op, new Spent(counts.get(op.ordinal()), charged.get(op.ordinal())));
            }
            return m;
        }
    }

    /** {@code count} operations of one kind, charged {@code nanos} in all. */
    public record Spent(long count, long nanos) {
        public Spent minus(Spent earlier) {
            return new Spent(count - earlier.count, nanos - earlier.nanos);
        }
    }

    /** One line per operation: what it costs here, and its measured source. */
    public String print() {
        StringBuilder sb = new StringBuilder("kernel latencies (guest medians / TCG slowdown " + TCG_SLOWDOWN + ", kcopyd's "
                + COPY_SLOWDOWN + "):\n");
        for (Op op : Op.values()) {
            sb.append(String.format("  %-20s %8.3f ms   (guest %7.3f ms)  %s%n", op.name().toLowerCase(),
                    nanos.getOrDefault(op, 0L) / 1e6, op.guestMillis, op.label));
        }
        return sb.toString();
    }
}
