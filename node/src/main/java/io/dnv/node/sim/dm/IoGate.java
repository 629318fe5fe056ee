package io.dnv.node.sim.dm;

import java.io.IOException;

/**
 * The suspend semantics of a dm device: suspend waits until no bio is in flight and holds new
 * ones until resume; after power-off every bio, waiting or new, fails.
 */
final class IoGate {

    private int inFlight;
    private boolean suspended = true;
    private boolean dead;

    synchronized void enter() throws IOException {
        while (suspended && !dead) {
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while the device is suspended", e);
            }
        }
        if (dead) {
            throw new IOException("No such device or address (device-mapper device is gone)");
        }
        inFlight++;
    }

    synchronized void exit() {
        inFlight--;
        notifyAll();
    }

    /** Stops new I/O now; returns when what was in flight has completed. */
    void suspend() {
        synchronized (this) {
            suspended = true;
            while (inFlight > 0 && !dead) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    synchronized void resume() {
        suspended = false;
        notifyAll();
    }

    synchronized boolean suspended() {
        return suspended;
    }

    synchronized void kill() {
        dead = true;
        notifyAll();
    }
}
