package io.dnv.sim.realkernel;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.dnv.sim.realkernel.DifferentialCases.DISKS;
import static io.dnv.sim.realkernel.DifferentialCases.DISK_MIB;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The differential cases on the simulated kernel alone, in the default suite: every answer
 * stated for Linux (and checked against Linux by {@link DifferentialTest}) is the simulator's
 * too, so a change to the simulator that breaks a checked rule fails without a guest.
 */
class SimulatedDifferentialTest {

    @Test
    void theSimulatedKernelAnswersAsLinuxDoes() throws Exception {
        SimulatedUnderTest sim = new SimulatedUnderTest("10.99.0.1", "10.99.0.2", DISKS, DISK_MIB);
        try {
            List<String> differences = DifferentialRun.run(DifferentialRun.selected(), Map.of("sim", sim), System.out);
            assertEquals(List.of(), differences, "cases where the simulator does not answer as Linux does");
        } finally {
            sim.shutdown();
        }
    }
}
