package io.dnv.core.volume;

import io.dnv.core.CborSerializable;

import java.util.List;

/**
 * The host settings the control plane requires of every host it attaches, with the connect
 * information. The earlier of the host's keep-alive and I/O timeout bounds how soon a host
 * retries a write on another path, so it must be at least twice the time the control plane
 * needs to detect a failed controller and fence it: only then can no write issued through the
 * failed controller land after one issued through its successor.
 *
 * <p>{@code iopolicy} is the host's native multipath I/O policy for the volume's subsystem
 * (/sys/class/nvme-subsystem/nvme-subsysN/iopolicy): {@code round-robin} where the volume has
 * several active controllers, so the host spreads its I/O over all of them (the prototype's
 * setting, behind the seed's performance table); {@code numa} (Linux's default) otherwise, where
 * one optimized path is all there is.
 */
public record HostContract(int keepAliveTmo, int ioTimeout, int ctrlLossTmo, int reconnectDelay, int fastIoFailTmo,
                           int detectionAndFencingMillis, String iopolicy) implements CborSerializable {

    public static final String NUMA = "numa";
    public static final String ROUND_ROBIN = "round-robin";
    /** The policies Linux 6.1 takes (nvme_iopolicy_names). */
    public static final List<String> IOPOLICIES = List.of(NUMA, ROUND_ROBIN);

    /**
     * What the control plane allows itself from a controller node's crash to the end of its
     * fencing, in milliseconds (docs/failover.md, "Detection"): the node's witnesses notice the
     * silence after their keep-alive (1 to 1.5 s, ConnectTimeouts.WITNESS), their members read
     * and report it within 100 ms, the failure detector looks every 100 ms, then the decision and
     * the fence (about 120 ms with one volume). Measured 1.28 s for one volume; when the witnesses'
     * keep-alive notices late the sum passes it (about 1.8 s at worst on Linux), and the host,
     * which cannot notice a dead path before its own keep-alive (3 s), still finds the failed
     * controller fenced.
     */
    public static final int DETECTION_AND_FENCING_MILLIS = 1500;

    public HostContract {
        if (Math.min(keepAliveTmo, ioTimeout) * 1000L < 2L * detectionAndFencingMillis) {
            throw new IllegalArgumentException("host timeouts " + keepAliveTmo + "/" + ioTimeout
                    + " s must be at least twice detection and fencing (" + detectionAndFencingMillis + " ms)");
        }
        if (!IOPOLICIES.contains(iopolicy)) {
            throw new IllegalArgumentException("iopolicy must be one of " + IOPOLICIES + ": " + iopolicy);
        }
    }

    /**
     * The settings for a volume with {@code activeControllers} actives: keep-alive 3 s, twice
     * {@link #DETECTION_AND_FENCING_MILLIS}, so a host notices a dead path, and retries its
     * writes elsewhere, 3 to 4.5 s after the controller went silent; the I/O timeout stays 30 s,
     * past every internal hold (ConnectTimeouts), since on a live path only it ends a held write.
     */
    public static HostContract forVolume(int activeControllers) {
        return new HostContract(3, 30, 600, 2, -1, DETECTION_AND_FENCING_MILLIS, activeControllers > 1 ? ROUND_ROBIN : NUMA);
    }
}
