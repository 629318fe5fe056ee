package io.dnv.node.agent;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.DeviceRef;
import io.dnv.core.kernel.DmDevice;
import io.dnv.core.kernel.DmTarget;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * What a standby holds ahead of a promotion (docs/failover.md, "Failover at scale"): imports of
 * the volume's LDs with linear slices over them that no device of this node maps yet. While an
 * LD's disk node does not answer, the standby is short of that side's preparation and nothing
 * else: the node is as converged as it can be, reported degraded as a raid1 side down is, never a
 * wait (an operation on the volume would otherwise wait for a dead disk node on a node that does
 * not use the LD).
 */
final class PreparedImports {

    /** One prepared slice per namespace it maps. */
    private final Map<UUID, String> sliceByNamespace;

    private PreparedImports(Map<UUID, String> sliceByNamespace) {
        this.sliceByNamespace = sliceByNamespace;
    }

    static PreparedImports of(DesiredNode desired) {
        Set<String> mapped = new HashSet<>();
        desired.dmDevices().forEach(d -> d.table().devices().forEach(ref -> {
            if (ref instanceof DeviceRef.Dm dm) {
                mapped.add(dm.name());
            }
        }));
        Map<UUID, String> slices = new HashMap<>();
        for (DmDevice d : desired.dmDevices()) {
            if (!mapped.contains(d.name()) && d.table().lines().size() == 1
                    && d.table().lines().get(0).target() instanceof DmTarget.Linear l && l.device() instanceof DeviceRef.Namespace ns) {
                slices.putIfAbsent(ns.uuid(), d.name());
            }
        }
        return new PreparedImports(slices);
    }

    /** The prepared slice over this import's namespace, if the import is one a standby holds for a promotion only. */
    Optional<String> slice(NvmeConnection c) {
        return Optional.ofNullable(sliceByNamespace.get(Names.namespaceUuid(c.subsystemNqn())));
    }
}
