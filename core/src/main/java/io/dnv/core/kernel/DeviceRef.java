package io.dnv.core.kernel;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

import java.util.UUID;

/**
 * A block device named in desired state. The planner cannot know major:minor numbers or
 * which /dev/nvmeXnY an import will get, so it names devices by what is stable; the agent
 * resolves a ref against the kernel just before it writes a table.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "kind")
@JsonSubTypes({
        @JsonSubTypes.Type(value = DeviceRef.Dm.class, name = "dm"),
        @JsonSubTypes.Type(value = DeviceRef.Disk.class, name = "disk"),
        @JsonSubTypes.Type(value = DeviceRef.Namespace.class, name = "namespace"),
        @JsonSubTypes.Type(value = DeviceRef.Raw.class, name = "raw")})
public sealed interface DeviceRef {

    /** How people read the ref: a path, or uuid:... for an import. */
    String symbol();

    /** A device-mapper device of this node, /dev/mapper/&lt;name&gt;. */
    record Dm(String name) implements DeviceRef {
        public String path() {
            return "/dev/mapper/" + name;
        }

        public String symbol() {
            return path();
        }
    }

    /** A physical disk of this node by its path, e.g. /dev/nvme0n1 or a simulated disk. */
    record Disk(String path) implements DeviceRef {
        public String symbol() {
            return path;
        }
    }

    /** An NVMe namespace imported over the fabric, found by the UUID its exporter set. */
    record Namespace(UUID uuid) implements DeviceRef {
        public String symbol() {
            return "uuid:" + uuid;
        }
    }

    /** A device as the kernel printed it back (major:minor); only in parsed tables. */
    record Raw(String majorMinor) implements DeviceRef {
        public String symbol() {
            return majorMinor;
        }
    }
}
