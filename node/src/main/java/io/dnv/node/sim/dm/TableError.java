package io.dnv.node.sim.dm;

/**
 * A table the kernel refuses. {@code log} is what dm-table logs after "device-mapper: table:
 * 254:N: ", so callers see the same reason a `dmesg` would show. A null errno means dmsetup
 * itself rejected the text before any ioctl.
 */
final class TableError extends Exception {

    final Errno errno;
    final String log;

    private TableError(Errno errno, String log) {
        super(log);
        this.errno = errno;
        this.log = log;
    }

    /** A target constructor's refusal, logged as "type: reason (-ERRNO)" since Linux 6.1. */
    static TableError target(Errno errno, String type, String reason) {
        return new TableError(errno, type + ": " + reason + " (-" + errno.name() + ")");
    }

    static TableError target(String type, String reason) {
        return target(Errno.EINVAL, type, reason);
    }

    /** A refusal logged without the target prefix (area checks, zero-length targets). */
    static TableError table(String log) {
        return new TableError(Errno.EINVAL, log);
    }

    /** A refusal logged by a subsystem other than dm-table, e.g. "thin: ..." for a pool message. */
    static TableError of(Errno errno, String log) {
        return new TableError(errno, log);
    }

    static TableError dmsetup(String message) {
        return new TableError(null, message);
    }
}
