package io.dnv.core.kernel;

import java.util.List;

/** A device-mapper device this node should have, with what must happen before its first create. */
public record DmDevice(String name, DmTable table, List<Preparation> beforeCreate) {

    public DmDevice {
        beforeCreate = List.copyOf(beforeCreate);
    }

    public DmDevice(String name, DmTable table) {
        this(name, table, List.of());
    }

    public DeviceRef.Dm ref() {
        return new DeviceRef.Dm(name);
    }
}
