package io.dnv.core.kernel;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

/**
 * A step the agent runs once before it creates a device that does not exist yet, and only
 * while the control plane still calls the device brand new: zeroing metadata areas so the
 * kernel formats them, or creating the thin id a thin device will open.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "kind")
@JsonSubTypes({
        @JsonSubTypes.Type(value = Preparation.ZeroRange.class, name = "zero"),
        @JsonSubTypes.Type(value = Preparation.PoolMessage.class, name = "pool-message")})
public sealed interface Preparation {

    /** Write zeroes over [offsetBytes, offsetBytes + lengthBytes) of a device. */
    record ZeroRange(DeviceRef device, long offsetBytes, long lengthBytes) implements Preparation {}

    /** `dmsetup message pool 0 &lt;message&gt;`; "File exists" counts as done (a retried create_thin). */
    record PoolMessage(String pool, String message) implements Preparation {}
}
