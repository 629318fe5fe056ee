package io.dnv.node.agent;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.DeviceRef;
import io.dnv.core.kernel.DmDevice;
import io.dnv.core.kernel.DmTable;
import io.dnv.core.kernel.DmTarget;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.node.sim.KernelLatencies;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;
import io.dnv.node.sim.nvme.NvmeHost;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A kernel command that takes seconds is named in the log; the quick ones around it are not. */
class SlowCommandTest {

    @TempDir
    Path dir;

    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    private final Logger passLog = (Logger) LoggerFactory.getLogger(Pass.class);
    private SimulatedKernel kernel;

    @AfterEach
    void shutdown() {
        passLog.detachAppender(logged);
        if (kernel != null) {
            kernel.shutdown();
        }
    }

    @Test
    void aCreateThatTakesSecondsIsLoggedByName() {
        // Every dm create costs what a create waiting on a path that is down would.
        kernel = new SimulatedKernel("127.0.4.1", new Fabric(), KernelLatencies.NONE.with(KernelLatencies.Op.DM_CREATE,
                Pass.SLOW_COMMAND.plusMillis(100)), NvmeHost.DEFAULT_IO_TIMEOUT).addDisk("/dev/ram0", dir.resolve("d"), 8L << 20);
        logged.start();
        passLog.addAppender(logged);
        Reconciler reconciler = new Reconciler(kernel, Optional.of("/dev/ram0"), new Zeroing(Optional.empty(), Optional.of("/dev/ram0")));
        DmDevice ld = new DmDevice("dnv-n1-ld-slow-0-0-0", DmTable.of(2048, new DmTarget.Linear(new DeviceRef.Disk("/dev/ram0"), 0)));

        assertTrue(reconciler.reconcile(new DesiredNode("n1", 1, List.of(NvmetPort.tcp(1, "127.0.4.1", 4420)), List.of(ld), List.of(),
                List.of())).converged());

        List<String> slow = logged.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
        assertEquals(1, slow.size(), slow.toString());
        assertTrue(slow.get(0).matches("node n1: dm create dnv-n1-ld-slow-0-0-0 took \\d+ ms"), slow.get(0));
    }
}
