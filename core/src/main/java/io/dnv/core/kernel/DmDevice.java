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

    /**
     * The device as it is wanted once it was created: no preparations and no creation-time table
     * words, so a device lost later (a power cycle) comes back over the bytes hosts wrote.
     */
    public DmDevice created() {
        return new DmDevice(name, table.created(), List.of());
    }

    public DeviceRef.Dm ref() {
        return new DeviceRef.Dm(name);
    }
}
