package io.dnv.core.volume;

import io.dnv.core.CborSerializable;

import java.util.List;

/** What a host needs to connect to a volume: one path per controller, and the settings it must use. */
public record ConnectInfo(String subsystemNqn, String hostNqn, List<Path> paths, HostContract hostSettings)
        implements CborSerializable {

    public record Path(String transport, String address, int port, String anaState, String nvmeConnect) implements CborSerializable {}
}
