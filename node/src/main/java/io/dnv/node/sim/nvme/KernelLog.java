package io.dnv.node.sim.nvme;

import java.util.ArrayList;
import java.util.List;

/**
 * A kernel's message buffer (dmesg). Refusals that Linux explains only in the log (a host not
 * allowed, a duplicate cntlid) are written here, where a test or an operator would look.
 */
final class KernelLog {

    private final long start = System.nanoTime();
    private final List<String> lines = new ArrayList<>();

    synchronized void log(String line) {
        double uptime = (System.nanoTime() - start) / 1e9;
        lines.add(String.format("[%12.6f] %s", uptime, line));
    }

    synchronized List<String> lines() {
        return List.copyOf(lines);
    }
}
