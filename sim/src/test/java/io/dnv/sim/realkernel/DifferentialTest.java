package io.dnv.sim.realkernel;

import io.dnv.sim.vm.GuestPair;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.dnv.sim.realkernel.DifferentialCases.DISKS;
import static io.dnv.sim.realkernel.DifferentialCases.DISK_MIB;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Runs every differential case on the simulated kernel and on Linux in a guest (guest B is the
 * peer of two-kernel cases), and fails where either does not give the answer Linux is expected
 * to give: a difference between the kernels is fixed in the simulator, a rule both get wrong in
 * the product or the case, never papered over here.
 */
@Tag("real-kernel")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DifferentialTest {

    private GuestPair guests;
    private SimulatedUnderTest simulated;

    @BeforeAll
    void boot() throws Exception {
        guests = GuestPair.boot(GuestPair.Images.fromSystemProperties(), DISKS.size(), DISK_MIB);
        System.out.printf("TIME boot of both guests %.1f s (%s)%n", guests.bootTime().toMillis() / 1000.0, guests.a().hello());
        simulated = new SimulatedUnderTest(GuestPair.ADDRESS_A, GuestPair.ADDRESS_B, DISKS, DISK_MIB);
    }

    @AfterAll
    void shutdown() throws Exception {
        if (simulated != null) {
            simulated.shutdown();
        }
        if (guests != null) {
            guests.close();
        }
    }

    @Test
    void theSimulatedKernelDoesWhatLinuxDoes() throws Exception {
        LinuxUnderTest peer = new LinuxUnderTest(guests.b(), GuestPair.ADDRESS_B, DISKS, DISK_MIB, null);
        LinuxUnderTest linux = new LinuxUnderTest(guests.a(), GuestPair.ADDRESS_A, DISKS, DISK_MIB, peer);
        Map<String, KernelUnderTest> kernels = new LinkedHashMap<>();
        kernels.put("linux", linux);
        kernels.put("sim", simulated);
        List<String> differences = DifferentialRun.run(DifferentialRun.selected(), kernels, System.out);
        assertEquals(List.of(), differences, "cases where a kernel does not answer as Linux is expected to");
    }
}
