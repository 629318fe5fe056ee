package io.dnv.core.kernel;

/**
 * NVMe/TCP host timeouts in seconds, always passed explicitly (Linux defaults: keep-alive 5,
 * ctrl-loss 600, reconnect 10, fast-io-fail off). A negative fastIoFail means off.
 */
public record ConnectTimeouts(int keepAlive, int ctrlLoss, int reconnectDelay, int fastIoFail) {

    /**
     * Connections between storage servers (controller to disk, controller to controller). A path
     * that stops answering fails I/O after fastIoFail seconds so raid1 drops the side and no
     * write waits inside the data plane longer than the host's own timeout.
     */
    public static final ConnectTimeouts INTERNAL = new ConnectTimeouts(5, 10, 1, 2);
}
