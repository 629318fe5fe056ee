package io.dnv.node.sim.nvme;

/**
 * How a target reaches the host end of a connection. The target calls these with its own lock
 * held, so an implementation only queues work (as Linux's AEN and error handlers run from
 * workqueues) and never calls back into the target synchronously.
 */
interface HostLink {

    /** Asynchronous event: the namespace list or an ANA state changed. */
    void asyncEvent();

    /** The target dropped the connection (port unlinked, fabric cut, power off). */
    void connectionLost();
}
