package io.dnv.core.volume;

import io.dnv.core.CborSerializable;

/**
 * The host settings the control plane requires of every host it attaches, with the connect
 * information. The earlier of the host's keep-alive and I/O timeout bounds how soon a host
 * retries a write on another path, so it must be at least twice the time the control plane
 * needs to detect a failed controller and fence it: only then can no write issued through the
 * failed controller land after one issued through its successor.
 */
public record HostContract(int keepAliveTmo, int ioTimeout, int ctrlLossTmo, int reconnectDelay, int fastIoFailTmo,
                           int detectionAndFencingSeconds) implements CborSerializable {

    /** Detection: the agent's heartbeat is declared lost after 5 s; fencing a node takes about 2 s more. */
    public static final HostContract DEFAULT = new HostContract(15, 30, 600, 2, -1, 7);

    public HostContract {
        if (Math.min(keepAliveTmo, ioTimeout) < 2 * detectionAndFencingSeconds) {
            throw new IllegalArgumentException("host timeouts " + keepAliveTmo + "/" + ioTimeout
                    + " s must be at least twice detection and fencing (" + detectionAndFencingSeconds + " s)");
        }
    }
}
