package io.dnv.sim.vm;

import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.node.linux.CommandRunner;
import io.dnv.node.linux.LinuxKernel;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * One storage server inside a guest, as a separate machine would be although it shares the
 * guest's kernel with another: its own disk, its own ports (ids and TCP service ids shifted by
 * {@code offset}) and so its own host NQN and objects, on the guest's address.
 */
public record GuestServer(NodeEndpoints endpoints, LinuxKernel kernel) {

    public static GuestServer of(String id, String address, CommandRunner guest, String disk, int offset, Duration commandTimeout) {
        NodeEndpoints endpoints = new NodeEndpoints(id, address, Optional.of(disk), Optional.of(NvmetPort.tcp(1 + offset, address, 4420 + offset)),
                Optional.of(NvmetPort.tcp(2 + offset, address, 4421 + offset)), List.of(NvmetPort.tcp(3 + offset, address, 4422 + offset)));
        return new GuestServer(endpoints, new LinuxKernel(guest, commandTimeout, List.of(disk)));
    }

    public String id() {
        return endpoints.nodeId();
    }
}
