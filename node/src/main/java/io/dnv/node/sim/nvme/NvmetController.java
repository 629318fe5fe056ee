package io.dnv.node.sim.nvme;

import io.dnv.core.kernel.AnaState;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;

/**
 * One connection as the target sees it (nvmet_ctrl): its cntlid, the port it came in on, the
 * host's end and the keep-alive the host asked for. Whether a frame gets through is the host's
 * business ({@link NvmeHost} asks the {@link Fabric}); the target answers what reaches it.
 */
final class NvmetController {

    /** An enabled namespace as Identify reports it, with its ANA state from the ANA log page. */
    record NamespaceView(int nsid, UUID uuid, long sizeSectors, AnaState anaState) {}

    final Nvmet target;
    final int cntlid;
    final int portId;
    final String subsystemNqn;
    final String hostNqn;
    final String hostKernel;
    final HostLink host;
    /** KATO in seconds, 0 for none: the target tears the controller down after that long without a frame. */
    final int kato;
    final long connectedAtNanos = System.nanoTime();
    /** Guarded by the target. */
    boolean alive = true;
    /** Guarded by the target: the keep-alive timer's expiry while the host is silent. */
    ScheduledFuture<?> keepAliveExpiry;

    NvmetController(Nvmet target, int cntlid, int portId, String subsystemNqn, String hostNqn, String hostKernel,
                    HostLink host, int kato) {
        this.target = target;
        this.cntlid = cntlid;
        this.portId = portId;
        this.subsystemNqn = subsystemNqn;
        this.hostNqn = hostNqn;
        this.hostKernel = hostKernel;
        this.host = host;
        this.kato = kato;
    }

    List<NamespaceView> namespaces() throws PathError {
        return target.namespacesFor(this);
    }

    /** The command runs on the target's own threads: the host may give up on it while the target still holds it. */
    CompletableFuture<Void> submit(IoOp op, int nsid, long offset, byte[] buf, int bufOffset, int length) {
        return target.submit(this, op, nsid, offset, buf, bufOffset, length);
    }

    boolean alive() {
        return target.alive(this);
    }

    /** The host deleted its controller. */
    void disconnect() {
        target.disconnect(this);
    }
}
