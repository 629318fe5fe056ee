package io.dnv.core.kernel;

/**
 * NVMe/TCP host timeouts in seconds, always passed explicitly (Linux defaults: keep-alive 5,
 * ctrl-loss 600, reconnect 10, fast-io-fail off). A negative fastIoFail means off; a negative
 * ctrlLoss, reconnect for ever (nvmf_parse_options takes it: "will reconnect forever").
 *
 * <p>The two internal kinds (docs/architecture.md, "Internal connections") hold a write for a
 * while when their path goes, instead of failing it at once: a short outage of a controller
 * node's own link takes every path of its raid1 groups at once, and failing them would fail both
 * sides of every group and turn its thin pools read-only until an offline repair. How long they
 * may hold is bounded from above by the host contract: a write still held inside the data plane
 * when the host already saw an error for it could land over the host's next write.
 * {@code InternalTimeoutsTest} checks the bounds against {@link io.dnv.core.volume.HostContract}.
 */
public record ConnectTimeouts(int keepAlive, int ctrlLoss, int reconnectDelay, int fastIoFail) {

    /**
     * A leg owner's imports of its logical disks. A disk node that died is not waited for: the
     * agent fails that side itself once the group's other side is live (node agent's
     * {@code SideWatcher}), so a raid1 degrades in about keep-alive (2 s, which spots the dead
     * path) plus the agent's grace (4 s). fast_io_fail only decides what happens when every side
     * is gone at once, which is the owner's own link: writes wait up to keep-alive + fast_io_fail
     * and then fail, before any peer holding the same write gives up ({@link #PEER_LEG}'s limit
     * is longer).
     */
    public static final ConnectTimeouts DISK = new ConnectTimeouts(2, 30, 1, 10);

    /**
     * Another active's imports of a leg. A held write resumes when the leg's owner comes back or
     * its successor exports the leg (a new path of the same namespace), so the hold must outlast
     * detection, fencing and promotion, and must end, with an error the host then sees, before
     * the host's own I/O timeout, so the host never retries a write a peer still holds.
     */
    public static final ConnectTimeouts PEER_LEG = new ConnectTimeouts(5, 30, 1, 12);

    /**
     * A node's imports of its peers' witness exports (docs/failover.md, "Detection"). Keep-alive
     * 1 s, the shortest Linux takes (whole seconds; 0 sends none): a crashed peer's witness reads
     * connecting 1 to 1.5 s after its kernel went silent (kernel-rules.md), and that, not the
     * agent's silence, is what a failure is declared on. Reconnect every second, for ever: the
     * controller stays (connecting) while the peer is away, so the witness keeps reading "down"
     * instead of vanishing, and a peer that comes back is live again within a second of its
     * witness export being back, with no pass of the agent involved. fast_io_fail off: no I/O.
     */
    public static final ConnectTimeouts WITNESS = new ConnectTimeouts(1, -1, 1, -1);

    /** How long a write may wait on a path that stops answering before it fails: keep-alive detects, then fast_io_fail. */
    public int holdSeconds() {
        return fastIoFail < 0 ? Integer.MAX_VALUE : keepAlive + fastIoFail;
    }
}
