package io.dnv.core.node;

import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmetPort;

import java.util.List;
import java.util.Optional;

/**
 * How to reach a storage node's kernel objects: its fabric address, the disk it serves as a
 * disk node (with the nvmet port LDs are exported on), the port its legs are exported on to
 * other controllers, and the ports volumes are exported on to hosts.
 */
public record NodeEndpoints(String nodeId, String address, Optional<String> diskPath, Optional<NvmetPort> diskPort,
                            Optional<NvmetPort> legPort, List<NvmetPort> volumePorts) {

    public NodeEndpoints {
        if (!Names.isNodeId(nodeId)) {
            throw new IllegalArgumentException("node id must match " + Names.NODE_ID_PATTERN + " (dm names use '-' as separator): " + nodeId);
        }
        volumePorts = List.copyOf(volumePorts);
    }

    public List<NvmetPort> ports() {
        List<NvmetPort> all = new java.util.ArrayList<>();
        diskPort.ifPresent(all::add);
        legPort.ifPresent(all::add);
        all.addAll(volumePorts);
        return all;
    }

    /** The port a controller here exports volumes on: the first (several are for later). */
    public Optional<NvmetPort> volumePort() {
        return volumePorts.stream().findFirst();
    }

    /**
     * The port the node's witness export is linked to: its first, an internal one where it has
     * one (disk, then leg port). Any of its ports answers for its kernel.
     */
    public Optional<NvmetPort> witnessPort() {
        return ports().stream().findFirst();
    }

    public NvmetPort port(int id) {
        return ports().stream().filter(p -> p.id() == id).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("node " + nodeId + " has no port " + id));
    }
}
