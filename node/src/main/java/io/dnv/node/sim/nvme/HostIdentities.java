package io.dnv.node.sim.nvme;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * nvme-fabrics' host list: a host is how the target perceives it, so one host NQN goes with one
 * host id and back, for as long as a controller uses the pair. Guarded by the owning NvmeHost.
 */
final class HostIdentities {

    private record Identity(String nqn, UUID id) {}

    private final Map<Identity, Integer> users = new HashMap<>();

    /** The line nvmf_host_add logs when the pair contradicts one in use, if it does. */
    Optional<String> conflict(String nqn, UUID id) {
        for (Identity i : users.keySet()) {
            boolean sameNqn = i.nqn.equals(nqn);
            boolean sameId = i.id.equals(id);
            if (sameNqn && !sameId) {
                return Optional.of("nvme_fabrics: found same hostnqn " + nqn + " but different hostid " + id);
            }
            if (sameId && !sameNqn) {
                return Optional.of("nvme_fabrics: found same hostid " + id + " but different hostnqn " + nqn);
            }
        }
        return Optional.empty();
    }

    void acquire(String nqn, UUID id) {
        users.merge(new Identity(nqn, id), 1, Integer::sum);
    }

    void release(String nqn, UUID id) {
        users.computeIfPresent(new Identity(nqn, id), (k, n) -> n == 1 ? null : n - 1);
    }
}
