package io.dnv.node.sim.nvme;

import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.NvmeConnection;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One host-side NVMe-oF controller (/sys/class/nvme/nvmeX) and its error recovery as nvme-tcp
 * does it: a lost connection puts it in connecting, it retries every reconnect_delay, flags its
 * paths failfast after fast_io_fail_tmo and is deleted once ctrl_loss_tmo worth of attempts failed.
 * A connection is lost when the target closes it (a FIN or an RST reaches the host), when a
 * keep-alive times out, or when an I/O times out: a link that only went silent shows nothing else.
 * Guarded by the owning NvmeHost's lock.
 */
final class HostController {

    enum State {
        LIVE, CONNECTING, DELETING;

        String sysfs() {
            return name().toLowerCase();
        }
    }

    final NvmeHost host;
    final String name;
    final int instance;
    final NvmeConnection connection;
    /** The connection's identity, kept because every connect compares it with every controller. */
    final String key;
    HostSubsystem subsystem;
    /** Volatile: the target asks {@link Link#open} with its own lock held, so without the host's. */
    volatile State state = State.CONNECTING;
    /** The target's end of the current connection; null while connecting. */
    NvmetController session;
    /** The last cntlid the target gave; sysfs keeps showing it while reconnecting. */
    int cntlid;
    /** NVME_CTRL_FAILFAST_EXPIRED: I/O no longer waits for this controller. */
    boolean failfastExpired;
    /** The ANA state of each namespace as the last ANA log read said (at connect, after an AEN or an ANA error). */
    final Map<Integer, AnaState> ana = new HashMap<>();
    /** NVME_NS_ANA_PENDING: an I/O met an ANA error; the path is not used until the log is read again. */
    final Set<Integer> anaPending = new HashSet<>();
    /** When the session went live: the keep-alive work runs on a grid from then. */
    private long liveAtNanos;
    /** The last completion of a command through this controller (traffic based keep-alive skips a beat after one). */
    long lastCompletionNanos;
    /** The fabric drops this connection's frames; the host does not know, its keep-alive will tell. */
    boolean silent;
    private int reconnects;
    private volatile Link link;
    private ScheduledFuture<?> reconnectTask;
    private ScheduledFuture<?> failfastTask;
    private ScheduledFuture<?> keepAliveTimeout;

    HostController(NvmeHost host, String name, int instance, NvmeConnection connection) {
        this.host = host;
        this.name = name;
        this.instance = instance;
        this.connection = connection;
        this.key = connection.key();
    }

    /** A fresh link for the next connect; events from older connections are ignored. */
    HostLink newLink() {
        link = new Link();
        return link;
    }

    String targetKernel() {
        return session.target.kernelName();
    }

    void live(NvmetController s) {
        session = s;
        cntlid = s.cntlid;
        state = State.LIVE;
        failfastExpired = false;
        reconnects = 0;
        silent = false;
        liveAtNanos = System.nanoTime();
        lastCompletionNanos = 0;
        cancel(failfastTask);
    }

    /** nvme_tcp_error_recovery, for the connection {@code lost} if it still is the current one. */
    void lost(NvmetController lost) {
        if (state != State.LIVE || session != lost) {
            return;
        }
        cancel(keepAliveTimeout);
        host.close(session);
        session = null;
        ana.clear();
        anaPending.clear();
        state = State.CONNECTING;
        host.log(name, "starting error recovery");
        ConnectTimeouts t = connection.timeouts();
        if (t.fastIoFail() >= 0) {
            failfastTask = host.schedule(this::failfastExpired, t.fastIoFail());
        }
        reconnectOrRemove();
        host.pathsChanged();
    }

    /**
     * The fabric changed: if this connection's link went silent, the keep-alive will time out; if
     * it came back, what was held arrives now — an RST if the target closed the connection
     * meanwhile, else the AENs it sent (the ANA log is read again).
     */
    void linksChanged() {
        if (state != State.LIVE) {
            return;
        }
        boolean nowSilent = host.silentTo(targetKernel());
        if (nowSilent && !silent) {
            silent = true;
            scheduleKeepAliveTimeout();
        } else if (!nowSilent && silent) {
            silent = false;
            cancel(keepAliveTimeout);
            if (!session.alive()) {
                host.log(name, "failed to send request -104");
                lost(session);
            } else {
                host.rescan(this);
            }
        }
    }

    /**
     * nvme_keep_alive_work as Linux 6.1 runs it against nvmet, which sets TBKAS: every KATO/4 from
     * the connect it sends a Keep Alive (timeout KATO) unless a command completed since the last
     * run, in which case it only waits for the next run. On a link gone silent the first Keep Alive
     * sent after the silence began times out KATO later, and error recovery starts: between KATO
     * and KATO·1.5 after the link went. KATO 0 sends none: only an I/O timeout notices then.
     */
    private void scheduleKeepAliveTimeout() {
        int kato = connection.timeouts().keepAlive();
        if (kato <= 0) {
            return;
        }
        long period = TimeUnit.SECONDS.toNanos(kato) / 4;
        long now = System.nanoTime();
        long sinceLive = now - liveAtNanos;
        long nextRun = liveAtNanos + (sinceLive / period + 1) * period;
        boolean completionSeen = lastCompletionNanos > nextRun - period;
        long send = completionSeen ? nextRun + period : nextRun;
        NvmetController s = session;
        keepAliveTimeout = host.scheduleNanos(() -> {
            if (state == State.LIVE && session == s && silent) {
                host.log(name, "queue 0: timeout request 0x0 type 4");
                lost(s);
            }
        }, send + TimeUnit.SECONDS.toNanos(kato) - now);
    }

    private void reconnect() {
        if (state != State.CONNECTING) {
            return;
        }
        reconnects++;
        if (host.unanswered(connection)) {
            // nvme-tcp's connect work blocks in the socket connect for the SYN timeout.
            reconnectTask = host.scheduleNanos(() -> {
                if (state == State.CONNECTING) {
                    failedAttempt("failed to connect socket: -110");
                }
            }, TimeUnit.MILLISECONDS.toNanos(NvmeHost.SYN_TIMEOUT_MILLIS));
            return;
        }
        try {
            live(host.dial(connection, newLink()));
            host.log(name, "Successfully reconnected (" + reconnects + " attempt)");
            host.rescan(this);
        } catch (ConnectRefused r) {
            failedAttempt(r.hostLogLine);
        }
    }

    private void failedAttempt(String why) {
        host.log(name, why);
        host.log(name, "Failed reconnect attempt " + reconnects);
        reconnectOrRemove();
    }

    /** nvmf_should_reconnect: ctrl_loss_tmo is counted in reconnect attempts, as Linux does. */
    private void reconnectOrRemove() {
        ConnectTimeouts t = connection.timeouts();
        int maxReconnects = t.ctrlLoss() < 0 ? -1 : (t.ctrlLoss() + t.reconnectDelay() - 1) / t.reconnectDelay();
        if (maxReconnects == -1 || reconnects < maxReconnects) {
            host.log(name, "Reconnecting in " + t.reconnectDelay() + " seconds...");
            reconnectTask = host.schedule(this::reconnect, t.reconnectDelay());
        } else {
            host.log(name, "Removing controller...");
            host.delete(this);
        }
    }

    private void failfastExpired() {
        if (state == State.CONNECTING) {
            failfastExpired = true;
            host.log(name, "failfast expired");
            host.pathsChanged();
        }
    }

    /** Deleting: no timer may touch the controller any more. */
    void stopTimers() {
        cancel(reconnectTask);
        cancel(failfastTask);
        cancel(keepAliveTimeout);
    }

    private static void cancel(ScheduledFuture<?> f) {
        if (f != null) {
            f.cancel(false);
        }
    }

    /** The host end of one connection; the target calls it with its lock held, so it only queues work. */
    private final class Link implements HostLink {

        @Override
        public void asyncEvent() {
            host.later(() -> {
                // An AEN on a silent link arrives when the link does: linksChanged reads the log then.
                if (link == this && state == State.LIVE && !host.silentTo(targetKernel())) {
                    host.rescan(HostController.this);
                }
            });
        }

        @Override
        public void connectionLost() {
            host.later(() -> {
                // A FIN on a silent link is lost; the host meets the closed connection when the link returns.
                if (link == this && state == State.LIVE && !host.silentTo(targetKernel())) {
                    lost(session);
                }
            });
        }

        @Override
        public boolean open() {
            return host.running() && link == this && state == State.LIVE;
        }
    }
}
