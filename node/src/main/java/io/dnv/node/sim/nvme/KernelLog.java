package io.dnv.node.sim.nvme;

import java.util.ArrayDeque;
import java.util.List;

/**
 * A kernel's message buffer (dmesg). Refusals that Linux explains only in the log (a host not
 * allowed, a duplicate cntlid) are written here, where a test or an operator would look. Like
 * the kernel's, the buffer is a ring: the oldest lines go once it is full, so a simulated node
 * that runs for months does not keep every connect it ever logged.
 */
final class KernelLog {

    /** About Debian's 256 KiB log_buf_len, at some 130 bytes a line. */
    static final int LINES = 2000;

    private final long start = System.nanoTime();
    private final ArrayDeque<String> lines = new ArrayDeque<>();

    synchronized void log(String line) {
        if (lines.size() == LINES) {
            lines.removeFirst();
        }
        lines.addLast(stamp((System.nanoTime() - start) / 1000) + line);
    }

    synchronized List<String> lines() {
        return List.copyOf(lines);
    }

    /** "[%12.6f] " of the uptime in seconds, without String.format (a connect logs several lines). */
    static String stamp(long micros) {
        String seconds = Long.toString(micros / 1_000_000);
        String fraction = Long.toString(micros % 1_000_000);
        StringBuilder b = new StringBuilder(16).append('[');
        for (int pad = seconds.length() + 7; pad < 12; pad++) {
            b.append(' ');
        }
        b.append(seconds).append('.');
        for (int pad = fraction.length(); pad < 6; pad++) {
            b.append('0');
        }
        return b.append(fraction).append("] ").toString();
    }
}
