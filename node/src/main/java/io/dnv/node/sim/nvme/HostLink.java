package io.dnv.node.sim.nvme;

/**
 * How a target reaches the host end of a connection. The target calls these with its own lock
 * held, so an implementation only queues work (as Linux's AEN and error handlers run from
 * workqueues) and never calls back into the target synchronously.
 */
interface HostLink {

    /** Asynchronous event: the namespace list or an ANA state changed. */
    void asyncEvent();

    /** The target dropped the connection (port unlinked, keep-alive expired, power off); its FIN may be lost on a silent link. */
    void connectionLost();

    /** Whether the host still has this connection (it may have torn it down while its FIN was lost). */
    boolean open();
}
