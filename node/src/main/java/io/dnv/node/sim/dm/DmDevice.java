package io.dnv.node.sim.dm;

import io.dnv.core.kernel.ObservedKernel;
import io.dnv.node.sim.block.BlockDevice;

import java.io.IOException;

/**
 * One mapped device: its live and inactive tables and the gate its I/O passes through. It is
 * the {@link BlockDevice} registered as /dev/mapper/&lt;name&gt;, so upper tables, nvmet and tests
 * all do I/O through the same gate. Table changes are made by {@link DeviceMapper} under its lock.
 */
final class DmDevice implements BlockDevice {

    final String name;
    final int minor;
    // Every observation of the node names every device by these.
    private final String path;
    private final String majorMinor;
    final IoGate gate = new IoGate();
    private volatile LoadedTable live;
    private LoadedTable inactive;
    /** The live table's targets took their preresume; false after one refused it. Guarded by DeviceMapper. */
    boolean preresumed;
    private volatile ThinPool pool;
    // What the last observation saw: handed out again while nothing changed, so the agent's
    // check that the kernel is as its last pass left it finds the same records, not equal ones.
    private ObservedKernel.Dm observed;

    DmDevice(String name, int minor) {
        this.name = name;
        this.minor = minor;
        this.path = "/dev/mapper/" + name;
        this.majorMinor = DeviceMapper.MAJOR + ":" + minor;
    }

    String path() {
        return path;
    }

    String majorMinor() {
        return majorMinor;
    }

    /** This device as `dmsetup table`, `status` and `info` show it now. */
    ObservedKernel.Dm observed(String table, String status, boolean suspended, int openCount) {
        ObservedKernel.Dm last = observed;
        if (last != null && last.table().equals(table) && last.status().equals(status) && last.suspended() == suspended
                && last.openCount() == openCount) {
            return last;
        }
        ObservedKernel.Dm now = new ObservedKernel.Dm(name, majorMinor, table, status, suspended, openCount);
        observed = now;
        return now;
    }

    String holder() {
        return "dm:" + name;
    }

    LoadedTable live() {
        return live;
    }

    void live(LoadedTable table) {
        live = table;
    }

    LoadedTable inactive() {
        return inactive;
    }

    void inactive(LoadedTable table) {
        inactive = table;
    }

    /** The pool object while this device's table is (or was last resumed as) a thin-pool. */
    ThinPool pool() {
        return pool;
    }

    void attachPool(ThinPool p) {
        pool = p;
    }

    void detachPool() {
        if (pool != null) {
            pool.close();
            pool = null;
        }
    }

    @Override
    public long sizeSectors() {
        LoadedTable t = live;
        return t == null ? 0 : t.sizeSectors();
    }

    @Override
    public void read(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        gate.enter();
        try {
            table().read(offset, buf, bufOffset, length);
        } finally {
            gate.exit();
        }
    }

    @Override
    public void write(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        gate.enter();
        try {
            table().write(offset, buf, bufOffset, length);
        } finally {
            gate.exit();
        }
    }

    @Override
    public void writeZeroes(long offset, long length) throws IOException {
        gate.enter();
        try {
            table().writeZeroes(offset, length);
        } finally {
            gate.exit();
        }
    }

    private LoadedTable table() throws IOException {
        LoadedTable t = live;
        if (t == null) {
            throw new IOException("No such device or address (no live table)");
        }
        return t;
    }
}
