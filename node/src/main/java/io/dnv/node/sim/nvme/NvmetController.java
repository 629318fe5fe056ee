package io.dnv.node.sim.nvme;

import io.dnv.core.kernel.AnaState;

import java.io.IOException;
import java.util.List;
import java.util.UUID;

/**
 * One connection as the target sees it (nvmet_ctrl): its cntlid, the port it came in on and the
 * host's end. Everything is answered by the target live, so a dropped connection fails at once.
 */
final class NvmetController {

    /** An enabled namespace as Identify reports it. */
    record NamespaceView(int nsid, UUID uuid, long sizeSectors) {}

    final Nvmet target;
    final int cntlid;
    final int portId;
    final String subsystemNqn;
    final String hostNqn;
    final String hostKernel;
    final HostLink host;
    /** Guarded by the target. */
    boolean alive = true;

    NvmetController(Nvmet target, int cntlid, int portId, String subsystemNqn, String hostNqn, String hostKernel,
                    HostLink host) {
        this.target = target;
        this.cntlid = cntlid;
        this.portId = portId;
        this.subsystemNqn = subsystemNqn;
        this.hostNqn = hostNqn;
        this.hostKernel = hostKernel;
        this.host = host;
    }

    List<NamespaceView> namespaces() throws PathError {
        return target.namespacesFor(this);
    }

    AnaState anaState(int nsid) throws PathError {
        return target.anaStateFor(this, nsid);
    }

    void io(IoOp op, int nsid, long offset, byte[] buf, int bufOffset, int length) throws IOException {
        target.io(this, op, nsid, offset, buf, bufOffset, length);
    }

    /** The host deleted its controller. */
    void disconnect() {
        target.disconnect(this);
    }
}
