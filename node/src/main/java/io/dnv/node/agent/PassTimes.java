package io.dnv.node.agent;

import io.dnv.core.kernel.DesiredNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a pass's time went, phase by phase (its first look, ports, imports, dm devices, exports,
 * garbage), logged at DEBUG: a failover's host I/O waits on the successor's passes, and a pass
 * that took seconds says nothing of why by its length alone.
 */
final class PassTimes {

    private static final Logger LOG = LoggerFactory.getLogger(PassTimes.class);

    private final long start = System.nanoTime();
    private long lapStart = start;
    private final StringBuilder laps = new StringBuilder();

    void lap(String phase) {
        long now = System.nanoTime();
        laps.append(' ').append(phase).append('=').append((now - lapStart) / 1_000_000);
        lapStart = now;
    }

    void log(DesiredNode desired, Pass pass) {
        if (LOG.isDebugEnabled()) {
            StringBuilder commands = new StringBuilder();
            pass.commandNanos.entrySet().stream()
                    .sorted((a, b) -> Long.compare(b.getValue().sum(), a.getValue().sum()))
                    .limit(4)
                    .forEach(e -> commands.append(' ').append(e.getKey().replace(' ', '_')).append('=').append(e.getValue().sum() / 1_000_000));
            LOG.debug("node {} pass at generation {}: {} ms,{} ({} mutations, focus {}; commands' ms summed over lanes:{})", desired.nodeId(),
                    desired.generation(), (System.nanoTime() - start) / 1_000_000, laps, pass.mutations.size(),
                    pass.focus.everything() ? "everything" : "changes", commands);
        }
    }
}
