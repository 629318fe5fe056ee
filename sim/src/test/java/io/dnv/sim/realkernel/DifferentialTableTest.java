package io.dnv.sim.realkernel;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * docs/kernel-rules.md lists the differential cases as the code states them. When a case changes,
 * run this test with -Ddnv.differential.writeDoc=true to write the table again.
 */
class DifferentialTableTest {

    private static final Path DOC = Path.of("..", "docs", "kernel-rules.md");

    @Test
    void theDocListsTheCasesTheCodeHas() throws Exception {
        String doc = Files.readString(DOC);
        int begin = doc.indexOf(DifferentialTable.BEGIN);
        int end = doc.indexOf(DifferentialTable.END);
        assertTrue(begin >= 0 && end > begin, DOC + " has no generated table between its markers");
        String now = doc.substring(begin, end + DifferentialTable.END.length());
        String generated = DifferentialTable.markdown(DifferentialCases.all());
        if (Boolean.getBoolean("dnv.differential.writeDoc")) {
            Files.writeString(DOC, doc.substring(0, begin) + generated + doc.substring(end + DifferentialTable.END.length()));
            return;
        }
        assertEquals(generated, now, "the differential table in " + DOC + " is not the code's:"
                + " run DifferentialTableTest with -Ddnv.differential.writeDoc=true");
    }
}
