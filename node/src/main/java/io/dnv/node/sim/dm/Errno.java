package io.dnv.node.sim.dm;

/** The errno values device-mapper ioctls fail with here, spelled as strerror spells them. */
enum Errno {
    EINVAL("Invalid argument"),
    ENODEV("No such device"),
    ENXIO("No such device or address"),
    EBUSY("Device or resource busy"),
    EEXIST("File exists"),
    ENODATA("No data available"),
    ENOSPC("No space left on device"),
    EOPNOTSUPP("Operation not supported");

    final String text;

    Errno(String text) {
        this.text = text;
    }
}
