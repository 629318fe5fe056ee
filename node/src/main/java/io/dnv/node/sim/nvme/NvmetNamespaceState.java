package io.dnv.node.sim.nvme;

import io.dnv.core.kernel.ObservedKernel;
import io.dnv.node.sim.block.BlockDevice;

import java.io.IOException;
import java.util.UUID;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * configfs subsystems/&lt;nqn&gt;/namespaces/&lt;nsid&gt;. Attributes are guarded by the owning
 * Nvmet; the I/O path is not, so a slow device never blocks configfs.
 */
final class NvmetNamespaceState {

    final int nsid;
    String devicePath;
    UUID uuid;
    String nguid;
    int anaGroup;
    volatile boolean enabled;
    /** The opened device while enabled, and while a disable waits for in-flight I/O. */
    volatile BlockDevice device;
    /** I/O holds the read side; disabling takes the write side to wait for in-flight requests, as nvmet_ns_disable does. */
    private final ReadWriteLock inflight = new ReentrantReadWriteLock();

    NvmetNamespaceState(int nsid, String devicePath, UUID uuid, String nguid, int anaGroup) {
        this.nsid = nsid;
        this.devicePath = devicePath;
        this.uuid = uuid;
        this.nguid = nguid;
        this.anaGroup = anaGroup;
    }

    void io(IoOp op, long offset, byte[] buf, int bufOffset, int length) throws IOException {
        inflight.readLock().lock();
        try {
            BlockDevice d = device;
            if (!enabled || d == null) {
                throw new IOException("Invalid Namespace or Format (nsid " + nsid + ")");
            }
            switch (op) {
                case READ -> d.read(offset, buf, bufOffset, length);
                case WRITE -> d.write(offset, buf, bufOffset, length);
                case WRITE_ZEROES -> d.writeZeroes(offset, length);
            }
        } finally {
            inflight.readLock().unlock();
        }
    }

    /** Returns once every request that saw the namespace enabled has completed. */
    void drain() {
        inflight.writeLock().lock();
        inflight.writeLock().unlock();
    }

    String holderName(String subsystemNqn) {
        return "nvmet " + subsystemNqn + " ns " + nsid;
    }

    ObservedKernel.Namespace observe() {
        return new ObservedKernel.Namespace(nsid, devicePath, uuid, nguid, anaGroup, enabled);
    }
}
