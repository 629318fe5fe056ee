package io.dnv.node.sim.nvme;

/** A connect the target side refused: the errno the host's write returns and the line the host logs. */
final class ConnectRefused extends Exception {

    final String errno;
    final String hostLogLine;

    ConnectRefused(String errno, String hostLogLine) {
        super(errno + ": " + hostLogLine);
        this.errno = errno;
        this.hostLogLine = hostLogLine;
    }
}
