package io.dnv.node.sim.nvme;

import java.io.IOException;

/**
 * An I/O failed because of the path, not the data: the controller is gone or the namespace's ANA
 * state does not allow I/O through this port. A multipath host retries such I/O on another path
 * (or queues it); every other IOException goes back to the caller.
 */
final class PathError extends IOException {

    /** The connection is gone (the host must start error recovery), as opposed to an ANA refusal. */
    final boolean controllerGone;

    PathError(String message, boolean controllerGone) {
        super(message);
        this.controllerGone = controllerGone;
    }
}
