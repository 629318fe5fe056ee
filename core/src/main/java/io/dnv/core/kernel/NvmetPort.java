package io.dnv.core.kernel;

import java.util.Map;
import java.util.TreeMap;

/**
 * An nvmet port (configfs ports/&lt;id&gt;) and the ANA groups on it with their states. Group 1
 * exists on every port; other groups exist when listed. The transport is a field so RDMA
 * needs no new shape.
 */
public record NvmetPort(int id, String transport, String addressFamily, String address, int serviceId,
                        Map<Integer, AnaState> anaGroups) {

    public NvmetPort {
        anaGroups = Map.copyOf(anaGroups);
    }

    public static NvmetPort tcp(int id, String address, int serviceId) {
        return new NvmetPort(id, "tcp", "ipv4", address, serviceId, Map.of());
    }

    /** This port with these groups added (or their states replaced). */
    public NvmetPort withAnaGroups(Map<Integer, AnaState> groups) {
        Map<Integer, AnaState> g = new TreeMap<>(anaGroups);
        g.putAll(groups);
        return new NvmetPort(id, transport, addressFamily, address, serviceId, g);
    }

    /** Same listener (what a connect addresses); ANA groups aside. */
    public boolean sameListener(NvmetPort o) {
        return id == o.id && transport.equals(o.transport) && addressFamily.equals(o.addressFamily)
                && address.equals(o.address) && serviceId == o.serviceId;
    }
}
