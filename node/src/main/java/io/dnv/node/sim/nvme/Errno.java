package io.dnv.node.sim.nvme;

/** The strerror() texts Linux answers with, so simulated refusals read like the real ones. */
final class Errno {
    static final String ENOENT = "No such file or directory";
    static final String EEXIST = "File exists";
    static final String EINVAL = "Invalid argument";
    static final String EBUSY = "Device or resource busy";
    static final String ENOTEMPTY = "Directory not empty";
    static final String EPERM = "Operation not permitted";
    static final String EALREADY = "Operation already in progress";
    static final String EIO = "Input/output error";
    static final String ECONNREFUSED = "Connection refused";
    static final String ETIMEDOUT = "Connection timed out";
    static final String EADDRINUSE = "Address already in use";

    private Errno() {
    }
}
