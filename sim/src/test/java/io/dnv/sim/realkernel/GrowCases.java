package io.dnv.sim.realkernel;

import io.dnv.core.kernel.Names;

import java.time.Duration;
import java.util.List;

import static io.dnv.sim.realkernel.DifferentialCase.steps;
import static io.dnv.sim.realkernel.Exports.HOST1;
import static io.dnv.sim.realkernel.Exports.NS_UUID;
import static io.dnv.sim.realkernel.Exports.SUB;
import static io.dnv.sim.realkernel.Exports.connect;
import static io.dnv.sim.realkernel.Exports.export;
import static io.dnv.sim.realkernel.Exports.headSize;
import static io.dnv.sim.realkernel.Step.fact;
import static io.dnv.sim.realkernel.Step.md5;
import static io.dnv.sim.realkernel.Step.ok;
import static io.dnv.sim.realkernel.Step.pause;
import static io.dnv.sim.realkernel.Step.refused;
import static io.dnv.sim.realkernel.Step.settledStatus;
import static io.dnv.sim.realkernel.Step.status;
import static io.dnv.sim.realkernel.Step.table;
import static io.dnv.sim.realkernel.Step.write;

/**
 * What an extend needs of the kernel: every layer reloaded to a larger size keeps its bytes and
 * serves the new sectors, and an export tells its hosts the new size only when asked to.
 */
final class GrowCases {

    private GrowCases() {}

    /** suspend, load, resume: how every table of a running stack is replaced. */
    static List<Step> reload(String dm, String what, String table) {
        return List.of(
            ok("suspend " + dm, k -> k.dmSuspend(dm)),
            ok(what, k -> k.dmLoad(dm, table)),
            ok("resume " + dm, k -> k.dmResume(dm)));
    }

    static List<DifferentialCase> all() {
        return List.of(
            DifferentialCase.of("linear reloaded larger keeps its bytes and serves the new sectors", steps(
                ok("linear of 4 MiB", k -> k.dmCreate("dnv-t-a", "0 8192 linear /dev/ram0 0")),
                write("/dev/mapper/dnv-t-a", 0, 1 << 20, 81),
                reload("dnv-t-a", "load 8 MiB", "0 16384 linear /dev/ram0 0"),
                status("dnv-t-a", "0 16384 linear"),
                write("/dev/mapper/dnv-t-a", 7 << 20, 1 << 20, 82),
                md5("/dev/mapper/dnv-t-a", 0, 1 << 20, Bytes.written(1 << 20, 81)),
                md5("/dev/ram0", 7 << 20, 1 << 20, Bytes.written(1 << 20, 82)))),
            DifferentialCase.of("raid1 reloaded larger over larger sides resyncs the new regions and keeps its bytes", steps(
                Raid1Cases.sides(),
                ok("raid1", k -> k.dmCreate("dnv-t-r", "0 61440 raid raid1 4 0 nosync region_size 1024" + Raid1Cases.SIDES)),
                write("/dev/mapper/dnv-t-r", 0, 1 << 20, 83),
                reload("dnv-t-d0", "data 0 grows to 40 MiB", "0 81920 linear /dev/ram0 2048"),
                reload("dnv-t-d1", "data 1 grows to 40 MiB", "0 81920 linear /dev/ram1 2048"),
                reload("dnv-t-r", "raid1 of 40 MiB", "0 81920 raid raid1 3 0 region_size 1024" + Raid1Cases.SIDES),
                settledStatus("dnv-t-r", Raid1Cases::settled, Duration.ofSeconds(20), "0 81920 raid raid1 2 AA 81920/81920 idle 0 0 -"),
                table("dnv-t-r", "0 81920 raid raid1 3 0 region_size 1024 2 dnv-t-m0 dnv-t-d0 dnv-t-m1 dnv-t-d1"),
                write("/dev/mapper/dnv-t-r", 35 << 20, 1 << 20, 84),
                md5("/dev/mapper/dnv-t-r", 0, 1 << 20, Bytes.written(1 << 20, 83)),
                md5("/dev/mapper/dnv-t-d1", 0, 1 << 20, Bytes.written(1 << 20, 83)),
                md5("/dev/mapper/dnv-t-d1", 35 << 20, 1 << 20, Bytes.written(1 << 20, 84)))),
            DifferentialCase.of("thin-pool reloaded larger over a larger data device keeps its thins and counts the new blocks", steps(
                ThinCases.pool("1 skip_block_zeroing"),
                ok("create_thin 0", k -> k.dmMessage("dnv-t-p", 0, "create_thin 0")),
                ok("thin", k -> k.dmCreate("dnv-t-t", "0 8192 thin /dev/mapper/dnv-t-p 0")),
                write("/dev/mapper/dnv-t-t", 0, 1 << 20, 85),
                reload("dnv-t-td", "thin data grows to 48 MiB", "0 98304 linear /dev/ram3 0"),
                reload("dnv-t-p", "pool of 48 MiB", "0 98304 thin-pool /dev/mapper/dnv-t-tm /dev/mapper/dnv-t-td 2048 0 1 skip_block_zeroing"),
                status("dnv-t-p", "0 98304 thin-pool 0 [meta] 1/48 - rw no_discard_passdown queue_if_no_space -"),
                md5("/dev/mapper/dnv-t-t", 0, 1 << 20, Bytes.written(1 << 20, 85)))),
            DifferentialCase.of("a thin-pool reloaded smaller than its metadata records is refused at resume, and stays suspended", steps(
                ThinCases.pool("1 skip_block_zeroing"),
                ok("suspend pool", k -> k.dmSuspend("dnv-t-p")),
                ok("load a pool of 16 MiB", k -> k.dmLoad("dnv-t-p", "0 32768 thin-pool /dev/mapper/dnv-t-tm /dev/mapper/dnv-t-td 2048 0 1 skip_block_zeroing")),
                refused("EINVAL", "resume", k -> k.dmResume("dnv-t-p")),
                fact("suspended", true, k -> k.dm("dnv-t-p").map(d -> d.suspended()).orElse(null)),
                status("dnv-t-p", "0 32768 thin-pool 0 [meta] 0/32 - rw no_discard_passdown queue_if_no_space -"),
                ok("load the pool of 32 MiB again", k -> k.dmLoad("dnv-t-p", "0 65536 thin-pool /dev/mapper/dnv-t-tm /dev/mapper/dnv-t-td 2048 0 1 skip_block_zeroing")),
                ok("resume", k -> k.dmResume("dnv-t-p")),
                status("dnv-t-p", "0 65536 thin-pool 0 [meta] 0/32 - rw no_discard_passdown queue_if_no_space -"))),
            DifferentialCase.of("thin reloaded larger keeps its blocks and serves the new sectors", steps(
                ThinCases.pool("1 skip_block_zeroing"),
                ok("create_thin 0", k -> k.dmMessage("dnv-t-p", 0, "create_thin 0")),
                ok("thin of 4 MiB", k -> k.dmCreate("dnv-t-t", "0 8192 thin /dev/mapper/dnv-t-p 0")),
                write("/dev/mapper/dnv-t-t", 0, 1 << 20, 86),
                reload("dnv-t-t", "thin of 8 MiB", "0 16384 thin /dev/mapper/dnv-t-p 0"),
                status("dnv-t-t", "0 16384 thin 2048 2047"),
                write("/dev/mapper/dnv-t-t", 6 << 20, 1 << 20, 87),
                status("dnv-t-t", "0 16384 thin 4096 14335"),
                md5("/dev/mapper/dnv-t-t", 0, 1 << 20, Bytes.written(1 << 20, 86)),
                md5("/dev/mapper/dnv-t-t", 6 << 20, 1 << 20, Bytes.written(1 << 20, 87)))),
            DifferentialCase.of("striped reloaded larger over larger legs keeps where every sector was", steps(
                ok("leg a", k -> k.dmCreate("dnv-t-la", "0 4096 linear /dev/ram0 0")),
                ok("leg b", k -> k.dmCreate("dnv-t-lb", "0 4096 linear /dev/ram1 0")),
                ok("striped of 4 MiB", k -> k.dmCreate("dnv-t-s", "0 8192 striped 2 32 /dev/mapper/dnv-t-la 0 /dev/mapper/dnv-t-lb 0")),
                write("/dev/mapper/dnv-t-s", 0, 1 << 20, 88),
                reload("dnv-t-la", "leg a of 4 MiB", "0 8192 linear /dev/ram0 0"),
                reload("dnv-t-lb", "leg b of 4 MiB", "0 8192 linear /dev/ram1 0"),
                reload("dnv-t-s", "striped of 8 MiB", "0 16384 striped 2 32 /dev/mapper/dnv-t-la 0 /dev/mapper/dnv-t-lb 0"),
                table("dnv-t-s", "0 16384 striped 2 32 dnv-t-la 0 dnv-t-lb 0"),
                write("/dev/mapper/dnv-t-s", 6 << 20, 1 << 20, 89),
                md5("/dev/mapper/dnv-t-s", 0, 1 << 20, Bytes.written(1 << 20, 88)),
                md5("/dev/mapper/dnv-t-la", 0, 16 << 10, Bytes.written(1 << 20, 88).range(0, 16 << 10)),
                md5("/dev/mapper/dnv-t-s", 6 << 20, 1 << 20, Bytes.written(1 << 20, 89)),
                // sector 12288 is chunk 384 (leg a, at 3 MiB); the next chunk is leg b's at 3 MiB
                md5("/dev/mapper/dnv-t-lb", 3 << 20, 16 << 10, Bytes.written(1 << 20, 89).range(16 << 10, 32 << 10)))),
            DifferentialCase.of("an export's namespace takes a larger device's size only when told to revalidate_size", steps(
                export(),
                connect("connect as host1", SUB, HOST1, Names.hostId(HOST1)),
                fact("size of the host's namespace", 8192L, k -> headSize(k, NS_UUID)),
                reload("dnv-t-a", "device of 8 MiB", "0 16384 linear /dev/ram0 0"),
                pause(Duration.ofMillis(500)),
                fact("size of the host's namespace", 8192L, k -> headSize(k, NS_UUID)),
                ok("revalidate_size", k -> k.nvmetNamespaceRevalidate(SUB, 1)),
                pause(Duration.ofMillis(1000)),
                fact("size of the host's namespace", 16384L, k -> headSize(k, NS_UUID)),
                write(Step.namespace(NS_UUID), 7 << 20, 1 << 20, 90),
                md5("/dev/ram0", 7 << 20, 1 << 20, Bytes.written(1 << 20, 90)),
                ok("disable namespace", k -> k.nvmetNamespaceEnable(SUB, 1, false)),
                refused("EINVAL", "revalidate_size of a disabled namespace", k -> k.nvmetNamespaceRevalidate(SUB, 1))))
        );
    }
}
