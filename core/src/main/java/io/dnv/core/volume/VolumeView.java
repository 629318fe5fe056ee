package io.dnv.core.volume;

import io.dnv.core.CborSerializable;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * A volume as the API shows it. {@code state} is CREATING, READY, DELETING, FAILED (an open
 * list); {@code step} says what it is doing; {@code sizeBytes} is the size usable now.
 */
public record VolumeView(String id, String name, String state, String step, long sizeBytes, VolumeSpec spec,
                         List<Controller> controllers, List<LegView> legs, List<String> attachments, Optional<String> error,
                         Instant createdAt) implements CborSerializable {

    public record Controller(String node, int slot, String role, String anaState, String transport, String address, int port)
            implements CborSerializable {}

    public record LegView(int index, String owner, List<GroupView> groups) implements CborSerializable {}

    public record GroupView(int index, boolean brandNew, List<Side> sides) implements CborSerializable {}

    public record Side(String node, long startSector, long lengthSectors) implements CborSerializable {}
}
