package io.dnv.node.sim.nvme;

import io.dnv.core.kernel.AnaState;
import io.dnv.node.sim.block.BlockDevice;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * A native-multipath namespace head (/dev/nvmeXnY): one block device over every controller of the
 * subsystem that has the namespace. I/O goes round-robin over live optimized paths, else
 * non-optimized ones, by the ANA states the host last read (never the target's live state); with
 * none usable it is queued for as long as some path may come back (nvme_available_path), and
 * failed otherwise. A command that fails on its path (error recovery, an ANA error) is retried
 * on the next choice. Guarded by the owning NvmeHost's lock, except that the I/O itself runs
 * outside it.
 */
final class MultipathHead implements BlockDevice {

    static final int MAJOR = 259;
    /** Write Zeroes' block count is a 0's based 16-bit field: at most 65536 blocks of 512 bytes per command. */
    static final int MAX_WRITE_ZEROES_BYTES = 65536 * SECTOR;

    private record Route(HostController controller, NvmetController session) {}

    final NvmeHost host;
    final HostSubsystem subsystem;
    final int nsid;
    final UUID uuid;
    final int instance;
    volatile long sizeSectors;
    final List<HostController> paths = new ArrayList<>();
    /** Set once registered: the head's disk is added when a path first turns optimized or non-optimized. */
    String path;
    int minor;
    /** del_gendisk happened: the last path is gone. */
    boolean detached;
    private int nextPath;

    MultipathHead(NvmeHost host, HostSubsystem subsystem, int nsid, UUID uuid, int instance, long sizeSectors) {
        this.host = host;
        this.subsystem = subsystem;
        this.nsid = nsid;
        this.uuid = uuid;
        this.instance = instance;
        this.sizeSectors = sizeSectors;
    }

    String name() {
        return "nvme" + subsystem.instance + "n" + instance;
    }

    @Override
    public long sizeSectors() {
        return sizeSectors;
    }

    @Override
    public void read(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        io(IoOp.READ, offset, buf, bufOffset, length);
    }

    @Override
    public void write(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        io(IoOp.WRITE, offset, buf, bufOffset, length);
    }

    @Override
    public void writeZeroes(long offset, long length) throws IOException {
        for (long done = 0; done < length; ) {
            int n = (int) Math.min(MAX_WRITE_ZEROES_BYTES, length - done);
            io(IoOp.WRITE_ZEROES, offset + done, null, 0, n);
            done += n;
        }
    }

    private void io(IoOp op, long offset, byte[] buf, int bufOffset, int length) throws IOException {
        if (offset < 0 || length < 0 || offset % SECTOR != 0 || length % SECTOR != 0
                || offset + length > sizeSectors * SECTOR) {
            throw new IOException(name() + ": I/O outside the device or not sector aligned: offset " + offset
                    + " length " + length);
        }
        while (true) {
            Route r = awaitRoute();
            try {
                host.execute(r.controller, r.session, nsid, op, offset, buf, bufOffset, length);
                return;
            } catch (PathError e) {
                // nvme_failover_req: the command goes back to the head and takes the next path.
                host.pathFailed(r.controller, r.session, nsid, e);
            }
        }
    }

    private Route awaitRoute() throws IOException {
        host.lock.lock();
        try {
            while (true) {
                if (detached) {
                    throw new IOException("Input/output error (" + name() + ": device removed)");
                }
                Route r = choose();
                if (r != null) {
                    return r;
                }
                if (!availablePath()) {
                    host.logLine("block " + name() + ": no available path - failing I/O");
                    throw new IOException("Input/output error (" + name() + ": no available path - failing I/O)");
                }
                host.changed.await();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException(name() + ": interrupted while I/O was queued");
        } finally {
            host.lock.unlock();
        }
    }

    /** Round-robin over optimized paths, non-optimized only when no path is optimized. */
    private Route choose() {
        List<Route> optimized = new ArrayList<>();
        List<Route> nonOptimized = new ArrayList<>();
        for (HostController c : paths) {
            AnaState s = anaState(c);
            if (s == AnaState.OPTIMIZED) {
                optimized.add(new Route(c, c.session));
            } else if (s == AnaState.NON_OPTIMIZED) {
                nonOptimized.add(new Route(c, c.session));
            }
        }
        List<Route> pick = optimized.isEmpty() ? nonOptimized : optimized;
        if (pick.isEmpty()) {
            return null;
        }
        return pick.get(Math.floorMod(nextPath++, pick.size()));
    }

    /** nvme_available_path: a live or reconnecting controller whose failfast has not expired. */
    private boolean availablePath() {
        return paths.stream().anyMatch(c -> !c.failfastExpired
                && (c.state == HostController.State.LIVE || c.state == HostController.State.CONNECTING));
    }

    boolean anyUsablePath() {
        return paths.stream().anyMatch(c -> anaState(c) != null && anaState(c).usable());
    }

    /** The path's ANA state as the host last read it; null when the controller is not live or the state is pending. */
    private AnaState anaState(HostController c) {
        if (c.state != HostController.State.LIVE || c.session == null || c.anaPending.contains(nsid)) {
            return null;
        }
        return c.ana.get(nsid);
    }
}
