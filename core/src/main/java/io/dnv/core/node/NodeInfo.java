package io.dnv.core.node;

import io.dnv.core.CborSerializable;

import java.util.Map;
import java.util.Set;

/**
 * What a storage node says about itself when its agent joins: how to reach its kernel
 * objects, its disk, its roles ("disk", "ctrl"), failure-domain labels and kernel
 * capabilities (e.g. "transport:tcp", "dm-clone").
 */
public record NodeInfo(NodeEndpoints endpoints, long diskBytes, Set<String> roles, Map<String, String> labels,
                       Set<String> capabilities) implements CborSerializable {

    public NodeInfo {
        roles = Set.copyOf(roles);
        labels = Map.copyOf(labels);
        capabilities = Set.copyOf(capabilities);
    }

    public String nodeId() {
        return endpoints.nodeId();
    }
}
