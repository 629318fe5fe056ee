package io.dnv.app;

import io.dnv.sim.bench.FailoverBenchmark;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The node of the active controller of 100 volumes crashes on `./dnv dev` while a simulated
 * Linux host writes to every one of them: each volume is failed over to its standby, its host
 * writes on through an optimized path, and every acknowledged write reads back, none overwritten
 * by an older one. The failover benchmark's own run, on kernels that cost no time, on four nodes:
 * the placer balances controllers, so the other nodes get about as many and fewer nodes mean
 * fewer volumes to create (about 200 here).
 */
class HundredVolumesFailoverTest {

    @TempDir
    Path dir;

    @Test
    void everyVolumeFailsOverAndEveryAcknowledgedWriteReadsBack() throws Exception {
        try (DevCommand.DevSystem dev = DevCommand.DevSystem.start(dir, 0, 4, 64L << 30)) {
            dev.awaitNodesUp(Duration.ofSeconds(60));
            FailoverBenchmark.Result r = new FailoverBenchmark("http://127.0.0.1:" + dev.httpPort(), dev.token(), dev.fabric,
                    () -> BenchCommand.Failover.spent(dev)).run("n1", 100, Duration.ofSeconds(120), System.out);
            System.out.println("TIME " + r.line());
            assertEquals(100, r.volumes());
            assertEquals(0, r.notOptimized(), "volumes whose host has no optimized path after the failover");
            assertEquals(0, r.ioErrors(), "writes the hosts saw fail");
            assertEquals(0, r.lostWrites(), "acknowledged writes that do not read back");
            assertEquals(0, r.staleWrites(), "blocks showing an older write than the newest acknowledged");
        }
    }
}
