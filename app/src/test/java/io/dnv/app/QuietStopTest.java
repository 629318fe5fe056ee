package io.dnv.app;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * ./dnv dev and the benchmarks end by stopping their members: a user reads the closing lines
 * (a benchmark's key=value line last), so stopping says nothing unless something went wrong.
 */
class QuietStopTest {

    @TempDir
    Path dataDir;

    @Test
    void stoppingTheDevSystemLogsNoWarning() throws Exception {
        ListAppender<ILoggingEvent> log = new ListAppender<>();
        Logger root = (Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME);
        DevCommand.DevSystem dev = DevCommand.DevSystem.start(dataDir, 0, 6, 1L << 30);
        try {
            dev.awaitNodesUp(Duration.ofSeconds(60));
            ApiClient api = new ApiClient(dev.httpPort(), dev.token());
            assertEquals(202, api.post("/v1/volumes", "{\"name\":\"q\",\"sizeBytes\":" + (32 << 20) + ",\"legsPerController\":2}")
                    .status());
            api.awaitState("q", "READY", Duration.ofSeconds(60));
        } finally {
            root.addAppender(log);
            log.start();
            try {
                dev.close();
            } finally {
                root.detachAppender(log);
            }
        }
        List<String> loud = log.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
                .map(e -> e.getLoggerName() + ": " + e.getFormattedMessage()).toList();
        assertEquals(List.of(), loud, "warnings while stopping");
    }
}
