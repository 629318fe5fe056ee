package io.dnv.core.kernel;

import java.util.UUID;

/** A namespace of an nvmet subsystem, enabled, with a fixed identity so importers find it by UUID. */
public record NvmetNamespace(int nsid, DeviceRef device, UUID uuid, String nguid, int anaGroup) {}
