package io.dnv.core.kernel;

import java.util.UUID;

/** A host-side NVMe-oF controller this node should hold: who it connects to, as whom, with which timeouts. */
public record NvmeConnection(String transport, String address, int serviceId, String subsystemNqn,
                             String hostNqn, UUID hostId, ConnectTimeouts timeouts) {

    /** What identifies the controller in the kernel: one per target address, subsystem and host NQN. */
    public String key() {
        return key(transport, address, serviceId, subsystemNqn, hostNqn);
    }

    static String key(String transport, String address, int serviceId, String subsystemNqn, String hostNqn) {
        return transport + "://" + address + ":" + serviceId + "/" + subsystemNqn + "?" + hostNqn;
    }
}
