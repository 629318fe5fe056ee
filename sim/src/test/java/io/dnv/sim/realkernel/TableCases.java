package io.dnv.sim.realkernel;

import io.dnv.core.kernel.ObservedKernel;

import java.util.List;

import static io.dnv.sim.realkernel.Step.fact;
import static io.dnv.sim.realkernel.Step.ok;
import static io.dnv.sim.realkernel.Step.refused;
import static io.dnv.sim.realkernel.Step.table;

/** Tables and the lifecycle of a dm device: what a table may name, when it goes live, who may remove it. */
final class TableCases {

    private TableCases() {}

    static List<DifferentialCase> all() {
        return List.of(
            DifferentialCase.of("a table naming a missing device is refused",
                refused("ENODEV", "create over a missing device", k -> k.dmCreate("dnv-t-a", "0 2048 linear /dev/mapper/dnv-t-none 0")),
                fact("dm devices", List.of(), TableCases::names)),
            DifferentialCase.of("a table running past the end of its device is refused",
                refused("EINVAL", "create past the end", k -> k.dmCreate("dnv-t-a", "0 2048 linear /dev/ram0 130048")),
                ok("create up to the end", k -> k.dmCreate("dnv-t-b", "0 1024 linear /dev/ram0 130048")),
                fact("dm devices", List.of("dnv-t-b"), TableCases::names)),
            DifferentialCase.of("a gap between table lines is refused",
                refused("EINVAL", "create with a gap", k -> k.dmCreate("dnv-t-a", "0 1024 linear /dev/ram0 0\n2048 1024 linear /dev/ram0 2048"))),
            DifferentialCase.of("an unknown target type is refused",
                refused("EINVAL", "create unknown type", k -> k.dmCreate("dnv-t-a", "0 8 nosuchtarget"))),
            DifferentialCase.of("a multi-line linear table is printed back line by line",
                ok("create concat", k -> k.dmCreate("dnv-t-a", "0 1024 linear /dev/ram0 0\n1024 2048 linear /dev/ram1 4096")),
                table("dnv-t-a", "0 1024 linear /dev/ram0 0\n1024 2048 linear /dev/ram1 4096")),
            DifferentialCase.of("a reload replaces the table at resume, not before",
                ok("create", k -> k.dmCreate("dnv-t-a", "0 1024 linear /dev/ram0 0")),
                ok("load", k -> k.dmLoad("dnv-t-a", "0 2048 linear /dev/ram1 0")),
                table("dnv-t-a", "0 1024 linear /dev/ram0 0"),
                ok("suspend", k -> k.dmSuspend("dnv-t-a")),
                fact("suspended", true, k -> k.dm("dnv-t-a").map(ObservedKernel.Dm::suspended).orElse(null)),
                ok("resume", k -> k.dmResume("dnv-t-a")),
                table("dnv-t-a", "0 2048 linear /dev/ram1 0")),
            DifferentialCase.of("creating an existing name is refused",
                ok("create", k -> k.dmCreate("dnv-t-a", "0 1024 linear /dev/ram0 0")),
                refused("EBUSY", "create again", k -> k.dmCreate("dnv-t-a", "0 1024 linear /dev/ram0 0"))),
            DifferentialCase.of("a device mapped by another table cannot be removed",
                ok("lower", k -> k.dmCreate("dnv-t-a", "0 2048 linear /dev/ram0 0")),
                ok("upper", k -> k.dmCreate("dnv-t-b", "0 2048 linear /dev/mapper/dnv-t-a 0")),
                refused("EBUSY", "remove lower", k -> k.dmRemove("dnv-t-a")),
                fact("open count of lower", 1, k -> k.dm("dnv-t-a").map(ObservedKernel.Dm::openCount).orElse(-1)),
                ok("remove upper", k -> k.dmRemove("dnv-t-b")),
                ok("remove lower", k -> k.dmRemove("dnv-t-a"))),
            DifferentialCase.of("a look at named devices shows them as a whole look does, and leaves out the missing",
                ok("create a", k -> k.dmCreate("dnv-t-a", "0 1024 linear /dev/ram0 0")),
                ok("create b", k -> k.dmCreate("dnv-t-b", "0 1024 linear /dev/ram0 1024\n1024 8 error")),
                ok("create c", k -> k.dmCreate("dnv-t-c", "0 1024 linear /dev/ram1 0")),
                ok("suspend b", k -> k.dmSuspend("dnv-t-b")),
                Step.namedLook("dnv-t-b"),
                Step.namedLook("dnv-t-a", "dnv-t-b", "dnv-t-none"),
                Step.namedLook("dnv-t-none"),
                ok("resume b", k -> k.dmResume("dnv-t-b"))),
            DifferentialCase.of("a linear table's status is its target type alone",
                ok("create", k -> k.dmCreate("dnv-t-a", "0 2048 linear /dev/ram0 0\n2048 8 error")),
                Step.status("dnv-t-a", "0 2048 linear\n2048 8 error"))
        );
    }

    static List<String> names(ObservedKernel k) {
        return k.dmDevices().stream().map(ObservedKernel.Dm::name).sorted().toList();
    }
}
