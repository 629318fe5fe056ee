package io.dnv.sim.realkernel;

import java.util.List;

import static io.dnv.sim.realkernel.Step.md5;
import static io.dnv.sim.realkernel.Step.ok;
import static io.dnv.sim.realkernel.Step.refused;
import static io.dnv.sim.realkernel.Step.status;
import static io.dnv.sim.realkernel.Step.table;
import static io.dnv.sim.realkernel.Step.write;

/** raid0 and striped: the same layout, and the lengths they take. */
final class StripeCases {

    private StripeCases() {}

    static List<DifferentialCase> all() {
        Bytes stripe = Bytes.written(1 << 20, 21);
        return List.of(
            DifferentialCase.of("raid0 and striped lay data out alike",
                ok("leg a", k -> k.dmCreate("dnv-t-la", "0 4096 linear /dev/ram0 0")),
                ok("leg b", k -> k.dmCreate("dnv-t-lb", "0 4096 linear /dev/ram1 0")),
                ok("raid0", k -> k.dmCreate("dnv-t-s", "0 8192 raid raid0 1 32 2 - /dev/mapper/dnv-t-la - /dev/mapper/dnv-t-lb")),
                table("dnv-t-s", "0 8192 raid raid0 1 32 2 - dnv-t-la - dnv-t-lb"),
                status("dnv-t-s", "0 8192 raid raid0 2 AA 4096/4096 idle 0 0 -"),
                write("/dev/mapper/dnv-t-s", 0, 1 << 20, 21),
                ok("remove raid0", k -> k.dmRemove("dnv-t-s")),
                ok("striped", k -> k.dmCreate("dnv-t-s", "0 8192 striped 2 32 /dev/mapper/dnv-t-la 0 /dev/mapper/dnv-t-lb 0")),
                table("dnv-t-s", "0 8192 striped 2 32 dnv-t-la 0 dnv-t-lb 0"),
                status("dnv-t-s", "0 8192 striped 2 dnv-t-la dnv-t-lb 1 AA"),
                md5("/dev/mapper/dnv-t-s", 0, 1 << 20, stripe),
                md5("/dev/mapper/dnv-t-la", 0, 16 << 10, stripe.range(0, 16 << 10)),
                md5("/dev/mapper/dnv-t-lb", 0, 16 << 10, stripe.range(16 << 10, 32 << 10))),
            DifferentialCase.of("striped length must divide by the stripes and then by the chunk",
                ok("leg a", k -> k.dmCreate("dnv-t-la", "0 4096 linear /dev/ram0 0")),
                ok("leg b", k -> k.dmCreate("dnv-t-lb", "0 4096 linear /dev/ram1 0")),
                refused("EINVAL", "striped 2032", k -> k.dmCreate("dnv-t-s", "0 2032 striped 2 32 /dev/mapper/dnv-t-la 0 /dev/mapper/dnv-t-lb 0")))
        );
    }
}
