package io.dnv.sim.realkernel;

import java.util.ArrayList;
import java.util.List;

/**
 * Every differential case: each rule marked (kernel) in the design and each kernel behaviour a
 * coming operation needs, as steps with the answers Linux gives. Disks: /dev/ram0..3, 64 MiB
 * each (131072 sectors), on both kernels of a two-kernel case.
 */
final class DifferentialCases {

    static final List<String> DISKS = List.of("/dev/ram0", "/dev/ram1", "/dev/ram2", "/dev/ram3");
    static final int DISK_MIB = 64;

    private DifferentialCases() {}

    static List<DifferentialCase> all() {
        List<DifferentialCase> cases = new ArrayList<>();
        cases.addAll(TableCases.all());
        cases.addAll(Raid1Cases.all());
        cases.addAll(StripeCases.all());
        cases.addAll(ThinCases.all());
        cases.addAll(GrowCases.all());
        cases.addAll(CloneCases.all());
        cases.addAll(NvmetCases.all());
        cases.addAll(ConnectCases.all());
        cases.addAll(FencingCases.all());
        return cases;
    }
}
