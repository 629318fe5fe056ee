package io.dnv.core.kernel;

/**
 * A node's desired state as plain text, one object per block, devices named symbolically
 * (/dev/mapper/..., disk paths, uuid:... for imports). Golden tests pin it; people read it.
 */
public final class DesiredNodeText {

    private DesiredNodeText() {}

    public static String render(DesiredNode n) {
        StringBuilder sb = new StringBuilder();
        sb.append("node ").append(n.nodeId()).append(" generation ").append(n.generation()).append('\n');
        for (NvmetPort p : n.ports()) {
            sb.append("port ").append(p.id()).append(' ').append(p.transport()).append(' ').append(p.addressFamily())
                    .append(' ').append(p.address()).append(':').append(p.serviceId());
            p.anaGroups().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                    .forEach(e -> sb.append(" ana ").append(e.getKey()).append('=').append(e.getValue().configfs()));
            sb.append('\n');
        }
        for (NvmeConnection c : n.connections()) {
            ConnectTimeouts t = c.timeouts();
            sb.append("connect ").append(c.transport()).append(' ').append(c.address()).append(':').append(c.serviceId())
                    .append(' ').append(c.subsystemNqn()).append(" as ").append(c.hostNqn()).append(" hostid ").append(c.hostId())
                    .append(" kato ").append(t.keepAlive()).append(" ctrl_loss ").append(t.ctrlLoss())
                    .append(" reconnect ").append(t.reconnectDelay()).append(" fast_io_fail ").append(t.fastIoFail()).append('\n');
        }
        for (DmDevice d : n.dmDevices()) {
            sb.append("dm ").append(d.name()).append('\n');
            for (DmLine l : d.table().lines()) {
                sb.append("  ").append(l.render(DeviceRef::symbol)).append('\n');
            }
            for (Preparation p : d.beforeCreate()) {
                sb.append("  before create: ").append(preparation(p)).append('\n');
            }
        }
        for (NvmetSubsystem s : n.subsystems()) {
            sb.append("subsystem ").append(s.nqn()).append(" serial ").append(s.serial()).append(" cntlid ")
                    .append(s.cntlidMin()).append('-').append(s.cntlidMax()).append(" ports ").append(s.ports())
                    .append(" hosts ").append(s.allowedHosts()).append('\n');
            for (NvmetNamespace ns : s.namespaces()) {
                sb.append("  ns ").append(ns.nsid()).append(' ').append(symbol(ns.device())).append(" uuid ").append(ns.uuid())
                        .append(" nguid ").append(ns.nguid()).append(" ana ").append(ns.anaGroup()).append('\n');
            }
        }
        return sb.toString();
    }

    private static String symbol(DeviceRef ref) {
        return ref.symbol();
    }

    private static String preparation(Preparation p) {
        if (p instanceof Preparation.ZeroRange z) {
            return "zero " + symbol(z.device()) + " bytes " + z.offsetBytes() + "+" + z.lengthBytes();
        }
        Preparation.PoolMessage m = (Preparation.PoolMessage) p;
        return "message " + m.pool() + " 0 " + m.message();
    }
}
