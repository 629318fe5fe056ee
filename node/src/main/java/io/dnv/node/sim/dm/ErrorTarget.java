package io.dnv.node.sim.dm;

import java.io.IOException;

/** `error`: every bio completes with EIO; a standby's placeholder until promotion reloads it. */
final class ErrorTarget implements Target {

    @Override
    public void read(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        throw new IOException("Input/output error");
    }

    @Override
    public void write(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        throw new IOException("Input/output error");
    }

    @Override
    public String status() {
        return "";
    }
}
