package io.dnv.node.sim.nvme;

import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.NvmeConnection;

import java.util.concurrent.ScheduledFuture;

/**
 * One host-side NVMe-oF controller (/sys/class/nvme/nvmeX) and its error recovery as nvme-tcp
 * does it: a lost connection puts it in connecting, it retries every reconnect_delay, flags its
 * paths failfast after fast_io_fail_tmo and is deleted once ctrl_loss_tmo worth of attempts failed.
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
    State state = State.CONNECTING;
    /** The target's end of the current connection; null while connecting. */
    NvmetController session;
    /** The last cntlid the target gave; sysfs keeps showing it while reconnecting. */
    int cntlid;
    /** NVME_CTRL_FAILFAST_EXPIRED: I/O no longer waits for this controller. */
    boolean failfastExpired;
    private int reconnects;
    private Link link;
    private ScheduledFuture<?> reconnectTask;
    private ScheduledFuture<?> failfastTask;

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

    void live(NvmetController s) {
        session = s;
        cntlid = s.cntlid;
        state = State.LIVE;
        failfastExpired = false;
        reconnects = 0;
        cancel(failfastTask);
    }

    /** nvme_tcp_error_recovery, for the connection {@code lost} if it still is the current one. */
    void lost(NvmetController lost) {
        if (state != State.LIVE || session != lost) {
            return;
        }
        session.disconnect();
        session = null;
        state = State.CONNECTING;
        host.log(name, "starting error recovery");
        ConnectTimeouts t = connection.timeouts();
        if (t.fastIoFail() >= 0) {
            failfastTask = host.schedule(this::failfastExpired, t.fastIoFail());
        }
        reconnectOrRemove();
        host.pathsChanged();
    }

    private void reconnect() {
        if (state != State.CONNECTING) {
            return;
        }
        reconnects++;
        try {
            live(host.dial(connection, newLink()));
            host.log(name, "Successfully reconnected (" + reconnects + " attempt)");
            host.rescan(this);
        } catch (ConnectRefused r) {
            host.log(name, r.hostLogLine);
            host.log(name, "Failed reconnect attempt " + reconnects);
            reconnectOrRemove();
        }
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
                if (link == this && state == State.LIVE) {
                    host.rescan(HostController.this);
                }
            });
        }

        @Override
        public void connectionLost() {
            host.later(() -> {
                if (link == this) {
                    lost(session);
                }
            });
        }
    }
}
