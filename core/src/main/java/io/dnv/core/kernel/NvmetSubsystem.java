package io.dnv.core.kernel;

import java.util.List;

/**
 * An nvmet subsystem: never open to any host, the allowed host NQNs, a cntlid range that does
 * not overlap the other exporters of the same NQN, its namespaces and the ports it is linked to.
 */
public record NvmetSubsystem(String nqn, List<String> allowedHosts, int cntlidMin, int cntlidMax, String serial,
                             List<NvmetNamespace> namespaces, List<Integer> ports) {

    public NvmetSubsystem {
        allowedHosts = List.copyOf(allowedHosts);
        namespaces = List.copyOf(namespaces);
        ports = List.copyOf(ports);
    }
}
