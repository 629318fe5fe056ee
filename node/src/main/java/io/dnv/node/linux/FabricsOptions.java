package io.dnv.node.linux;

import io.dnv.core.kernel.NvmeConnection;

/** The option string the kernel's /dev/nvme-fabrics takes for a connect (what nvme-cli writes). */
final class FabricsOptions {

    private FabricsOptions() {}

    static String of(NvmeConnection c) {
        StringBuilder sb = new StringBuilder()
                .append("transport=").append(c.transport())
                .append(",traddr=").append(c.address())
                .append(",trsvcid=").append(c.serviceId())
                .append(",nqn=").append(c.subsystemNqn())
                .append(",hostnqn=").append(c.hostNqn())
                .append(",hostid=").append(c.hostId())
                .append(",keep_alive_tmo=").append(c.timeouts().keepAlive())
                .append(",ctrl_loss_tmo=").append(c.timeouts().ctrlLoss())
                .append(",reconnect_delay=").append(c.timeouts().reconnectDelay());
        if (c.timeouts().fastIoFail() >= 0) {
            sb.append(",fast_io_fail_tmo=").append(c.timeouts().fastIoFail());
        }
        return sb.toString();
    }
}
