package io.dnv.sim.realkernel;

import io.dnv.sim.vm.GuestPair;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Runs every differential case on the simulated kernel and on Linux in a guest, and fails
 * where they differ: accepted vs refused, a table printed back, bytes read back. A difference
 * is fixed in the simulator, never papered over here.
 */
@Tag("real-kernel")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DifferentialTest {

    private GuestPair guests;
    private KernelUnderTest linux;
    private KernelUnderTest simulated;

    @BeforeAll
    void boot() throws Exception {
        guests = GuestPair.boot(GuestPair.Images.fromSystemProperties(), DifferentialCases.DISKS.size(), DifferentialCases.DISK_MIB);
        System.out.printf("TIME boot of both guests %.1f s (%s)%n", guests.bootTime().toMillis() / 1000.0, guests.a().hello());
        linux = new LinuxUnderTest(guests.a(), GuestPair.ADDRESS_A, DifferentialCases.DISKS, DifferentialCases.DISK_MIB);
        simulated = new SimulatedUnderTest(GuestPair.ADDRESS_A, DifferentialCases.DISKS, DifferentialCases.DISK_MIB);
    }

    @AfterAll
    void shutdown() {
        if (guests != null) {
            guests.close();
        }
    }

    @Test
    void theSimulatedKernelDoesWhatLinuxDoes() throws Exception {
        long t0 = System.nanoTime();
        // -Ddnv.differential.only=<part of a rule> runs just the matching cases while chasing a difference.
        String only = System.getProperty("dnv.differential.only", "");
        List<DifferentialCase> cases = DifferentialCases.all().stream().filter(c -> c.rule().contains(only)).toList();
        List<String> differences = new ArrayList<>();
        for (DifferentialCase c : cases) {
            List<Step.Outcome> sim = run(simulated, c);
            List<Step.Outcome> real = run(linux, c);
            boolean same = true;
            StringBuilder report = new StringBuilder();
            for (int i = 0; i < c.steps().size(); i++) {
                Step.Outcome s = sim.get(i);
                Step.Outcome r = real.get(i);
                boolean equal = s.compared().equals(r.compared());
                same &= equal;
                report.append(String.format("    %s %-55s linux: %s%s%n", equal ? " " : "≠", c.steps().get(i).what(),
                        r.compared().replace("\n", " | "), r.detail().isEmpty() ? "" : " (" + r.detail().trim().replace("\n", " ") + ")"));
                if (!equal) {
                    report.append(String.format("      %-55s   sim: %s%s%n", "", s.compared().replace("\n", " | "),
                            s.detail().isEmpty() ? "" : " (" + s.detail().trim().replace("\n", " ") + ")"));
                }
            }
            System.out.printf("%s %s%n%s", same ? "SAME" : "DIFFERENT", c.rule(), report);
            if (!same) {
                differences.add(c.rule());
            }
        }
        System.out.printf("TIME differential suite %.1f s%n", (System.nanoTime() - t0) / 1e9);
        System.out.printf("differential: %d cases, %d differences%n", cases.size(), differences.size());
        assertEquals(List.of(), differences, "the simulated kernel differs from Linux");
    }

    private static List<Step.Outcome> run(KernelUnderTest k, DifferentialCase c) throws Exception {
        k.reset();
        List<Step.Outcome> outcomes = new ArrayList<>();
        for (Step s : c.steps()) {
            outcomes.add(s.action().run(k));
        }
        return outcomes;
    }
}
