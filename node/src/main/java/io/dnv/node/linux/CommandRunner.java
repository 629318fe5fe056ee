package io.dnv.node.linux;

import java.time.Duration;

/**
 * Runs a shell script on a storage server's kernel: locally for a production agent, or
 * inside a test VM through its command channel. The same LinuxKernel code drives both.
 */
public interface CommandRunner {

    /**
     * Runs {@code script} with sh. A timed-out command may still finish later (a process in D
     * state cannot be killed): the caller must treat it as "may have happened".
     */
    Result run(String script, Duration timeout);

    record Result(int exitCode, String stdout, String stderr, boolean timedOut) {
        public boolean ok() {
            return exitCode == 0 && !timedOut;
        }
    }
}
