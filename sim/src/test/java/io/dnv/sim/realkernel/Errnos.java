package io.dnv.sim.realkernel;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Reads the errno out of what a kernel answered. Linux's tools print strerror's text (dmsetup
 * "failed: Invalid argument", busybox "write error: File exists", dd "error writing ...: No
 * space left on device") and the simulator speaks the same text, so a refusal compares by its
 * kind, not as one "refused": a simulator that refuses for another reason differs.
 */
final class Errnos {

    /** What the simulator says where it refuses a shape it does not model: never a Linux answer. */
    static final String NOT_SIMULATED = "NOT-SIMULATED";

    /** strerror's texts; where one text starts another ("No such device"), the longer one wins. */
    private static final Map<String, String> BY_TEXT = new LinkedHashMap<>();

    static {
        BY_TEXT.put("No such device or address", "ENXIO");
        BY_TEXT.put("No such device", "ENODEV");
        BY_TEXT.put("No such file or directory", "ENOENT");
        BY_TEXT.put("Invalid argument", "EINVAL");
        BY_TEXT.put("Device or resource busy", "EBUSY");
        BY_TEXT.put("File exists", "EEXIST");
        BY_TEXT.put("No data available", "ENODATA");
        BY_TEXT.put("No space left on device", "ENOSPC");
        BY_TEXT.put("Operation not permitted", "EPERM");
        BY_TEXT.put("Permission denied", "EACCES");
        BY_TEXT.put("Directory not empty", "ENOTEMPTY");
        BY_TEXT.put("Operation already in progress", "EALREADY");
        BY_TEXT.put("Input/output error", "EIO");
        BY_TEXT.put("Connection refused", "ECONNREFUSED");
        BY_TEXT.put("Connection timed out", "ETIMEDOUT");
        BY_TEXT.put("Address already in use", "EADDRINUSE");
        BY_TEXT.put("Numerical result out of range", "ERANGE");
        BY_TEXT.put("Value too large for defined data type", "EOVERFLOW");
        BY_TEXT.put("Cannot allocate memory", "ENOMEM");
        BY_TEXT.put("Read-only file system", "EROFS");
    }

    private Errnos() {}

    /**
     * The errno a kernel's message names first, {@link #NOT_SIMULATED} for the simulator's
     * refusal of what it does not model, empty when the message names none (then it was not
     * the kernel that answered: a broken script, a timeout).
     */
    static Optional<String> of(String message) {
        if (message == null) {
            return Optional.empty();
        }
        if (message.contains("dnv simulator") || message.contains("not simulated") || message.contains("not modelled")) {
            return Optional.of(NOT_SIMULATED);
        }
        int best = Integer.MAX_VALUE;
        String found = null;
        for (Map.Entry<String, String> e : BY_TEXT.entrySet()) {
            int at = message.indexOf(e.getKey());
            if (at >= 0 && at < best) {
                best = at;
                found = e.getValue();
            }
        }
        return Optional.ofNullable(found);
    }
}
