package io.dnv.node.sim.dm;

import java.time.Duration;

/**
 * dm_thin_pool's module parameters (/sys/module/dm_thin_pool/parameters), one set per kernel.
 * no_space_timeout bounds how long a pool without error_if_no_space holds a write that needs a
 * block it does not have; Linux counts it in whole seconds (60 by default, 0 = for ever), the
 * simulator takes any duration so a test can keep it short.
 */
final class ThinPoolModule {

    static final Duration DEFAULT_NO_SPACE_TIMEOUT = Duration.ofSeconds(60);

    private volatile Duration noSpaceTimeout = DEFAULT_NO_SPACE_TIMEOUT;

    Duration noSpaceTimeout() {
        return noSpaceTimeout;
    }

    void noSpaceTimeout(Duration timeout) {
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("no_space_timeout cannot be negative: " + timeout);
        }
        noSpaceTimeout = timeout;
    }
}
