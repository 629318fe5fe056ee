package io.dnv.node.sim.dm;

import io.dnv.core.kernel.DmTableParser;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * One reading of table text: what the simulated kernel takes, the agent's parser reads, and
 * what the kernel refuses for its words the parser refuses too. Two parsers that disagree make
 * an agent reload a device forever, or a simulator take what Linux refuses.
 */
class TableSyntaxTest {

    @TempDir
    Path tmp;
    DmTestBed k;

    @BeforeEach
    void setUp() {
        k = new DmTestBed(tmp);
        k.disk("/dev/ram0", 1, 0, 8192);
        k.disk("/dev/ram1", 1, 1, 8192);
        k.dm.create("meta", "0 2048 linear /dev/ram0 0");
    }

    @AfterEach
    void tearDown() throws Exception {
        k.close();
    }

    @Test
    void whatTheKernelTakesTheAgentReads() {
        List<String> taken = List.of(
                "0 8 error words the target ignores",
                "0 4096 thin-pool /dev/mapper/meta /dev/ram1 128 0",
                "# a comment\n0 8 linear /dev/ram0 0\n\n8 8 linear /dev/ram1 0",
                "0 4096 striped 2 32 /dev/ram0 0 /dev/ram1 0");
        for (String table : taken) {
            k.dm.create("x", table);
            assertDoesNotThrow(() -> DmTableParser.parse(table), table);
            assertDoesNotThrow(() -> DmTableParser.parse(k.table("x")), "as printed back: " + k.table("x"));
            k.dm.remove("x");
        }
    }

    @Test
    void whatTheKernelRefusesForItsWordsTheAgentRefuses() {
        List<String> refused = List.of(
                "0 8 linear /dev/ram0 -1",
                "0 8 linear /dev/ram0 +1",
                "0 8 linear /dev/ram0 0 extra",
                "0 8 thin /dev/ram1 1x",
                "0 4096 thin-pool /dev/mapper/meta /dev/ram1 128 0 1 zeroing",
                "0 4096 raid raid1 3 0 region_size 1024 2 /dev/ram0 /dev/ram1",
                "0 abc linear /dev/ram0 0");
        for (String table : refused) {
            k.refused(() -> k.dm.create("x", table));
            assertThrows(IllegalArgumentException.class, () -> DmTableParser.parse(table), table);
        }
    }
}
