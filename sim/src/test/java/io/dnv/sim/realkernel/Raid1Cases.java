package io.dnv.sim.realkernel;

import java.time.Duration;
import java.util.List;

import static io.dnv.sim.realkernel.Step.md5;
import static io.dnv.sim.realkernel.Step.ok;
import static io.dnv.sim.realkernel.Step.refused;
import static io.dnv.sim.realkernel.Step.settledStatus;
import static io.dnv.sim.realkernel.Step.status;
import static io.dnv.sim.realkernel.Step.table;
import static io.dnv.sim.realkernel.Step.write;

/** dm-raid raid1: its table words, its region size, both sides written, a side lost and recovered. */
final class Raid1Cases {

    static final String SIDES = " 2 /dev/mapper/dnv-t-m0 /dev/mapper/dnv-t-d0 /dev/mapper/dnv-t-m1 /dev/mapper/dnv-t-d1";
    private static final String NAMED_SIDES = " 2 dnv-t-m0 dnv-t-d0 dnv-t-m1 dnv-t-d1";
    private static final String IN_SYNC = "0 61440 raid raid1 2 AA 61440/61440 idle 0 0 -";

    private Raid1Cases() {}

    /** Two (meta, data) pairs on ram0 and ram1 for a raid1 of 61440 sectors. */
    static List<Step> sides() {
        return List.of(
            ok("meta 0", k -> k.dmCreate("dnv-t-m0", "0 2048 linear /dev/ram0 0")),
            ok("data 0", k -> k.dmCreate("dnv-t-d0", "0 61440 linear /dev/ram0 2048")),
            ok("meta 1", k -> k.dmCreate("dnv-t-m1", "0 2048 linear /dev/ram1 0")),
            ok("data 1", k -> k.dmCreate("dnv-t-d1", "0 61440 linear /dev/ram1 2048")));
    }

    /** A resync or recovery has ended: every side in sync and nothing running. */
    static boolean settled(String status) {
        return status.contains(" idle ") && !status.matches("(?s).* [AD]*a[aAD]* .*");
    }

    static List<DifferentialCase> all() {
        return List.of(
            DifferentialCase.of("raid1 #params counts the chunk and every option word: 2 is refused", sides(),
                refused("EINVAL", "raid1 with #params 2", k -> k.dmCreate("dnv-t-r", "0 61440 raid raid1 2 0 region_size 1024" + SIDES))),
            DifferentialCase.of("raid1 #params 3 plain, 4 with nosync; printed in the kernel's word order", sides(),
                ok("raid1 nosync after region_size", k -> k.dmCreate("dnv-t-r", "0 61440 raid raid1 4 0 region_size 1024 nosync" + SIDES)),
                table("dnv-t-r", "0 61440 raid raid1 4 0 nosync region_size 1024" + NAMED_SIDES),
                status("dnv-t-r", IN_SYNC)),
            DifferentialCase.of("raid1 #params 5 with rebuild, which stays in the live table", sides(),
                ok("raid1 rebuild 1", k -> k.dmCreate("dnv-t-r", "0 61440 raid raid1 5 0 rebuild 1 region_size 1024" + SIDES)),
                table("dnv-t-r", "0 61440 raid raid1 5 0 rebuild 1 region_size 1024" + NAMED_SIDES)),
            DifferentialCase.of("raid1 region size must be a power of two", sides(),
                refused("EINVAL", "region 1000", k -> k.dmCreate("dnv-t-r", "0 61440 raid raid1 3 0 region_size 1000" + SIDES))),
            DifferentialCase.of("raid1 region size must not exceed the array", sides(),
                refused("EINVAL", "region 131072", k -> k.dmCreate("dnv-t-r", "0 61440 raid raid1 3 0 region_size 131072" + SIDES))),
            DifferentialCase.of("raid1 writes land on both sides", sides(),
                ok("raid1", k -> k.dmCreate("dnv-t-r", "0 61440 raid raid1 4 0 nosync region_size 1024" + SIDES)),
                write("/dev/mapper/dnv-t-r", 1 << 20, 256 << 10, 11),
                md5("/dev/mapper/dnv-t-r", 1 << 20, 256 << 10, Bytes.written(256 << 10, 11)),
                md5("/dev/mapper/dnv-t-d0", 1 << 20, 256 << 10, Bytes.written(256 << 10, 11)),
                md5("/dev/mapper/dnv-t-d1", 1 << 20, 256 << 10, Bytes.written(256 << 10, 11))),
            DifferentialCase.of("raid1 without nosync on fresh metadata copies side 0 to side 1", sides(),
                write("/dev/mapper/dnv-t-d0", 0, 128 << 10, 12),
                ok("raid1 (resync)", k -> k.dmCreate("dnv-t-r", "0 61440 raid raid1 3 0 region_size 1024" + SIDES)),
                settledStatus("dnv-t-r", Raid1Cases::settled, Duration.ofSeconds(20), IN_SYNC),
                md5("/dev/mapper/dnv-t-d1", 0, 128 << 10, Bytes.written(128 << 10, 12))),
            DifferentialCase.of("a raid1 side whose writes fail is marked D and writes go on; back and reloaded, it gets what it missed", sides(),
                ok("raid1", k -> k.dmCreate("dnv-t-r", "0 61440 raid raid1 4 0 nosync region_size 1024" + SIDES)),
                ok("suspend data 1", k -> k.dmSuspend("dnv-t-d1")),
                ok("data 1 fails (error target)", k -> k.dmLoad("dnv-t-d1", "0 61440 error")),
                ok("resume data 1", k -> k.dmResume("dnv-t-d1")),
                write("/dev/mapper/dnv-t-r", 2 << 20, 1 << 20, 61),
                status("dnv-t-r", "0 61440 raid raid1 2 AD 61440/61440 idle 0 0 -"),
                md5("/dev/mapper/dnv-t-r", 2 << 20, 1 << 20, Bytes.written(1 << 20, 61)),
                ok("suspend data 1", k -> k.dmSuspend("dnv-t-d1")),
                ok("data 1 back", k -> k.dmLoad("dnv-t-d1", "0 61440 linear /dev/ram1 2048")),
                ok("resume data 1", k -> k.dmResume("dnv-t-d1")),
                status("dnv-t-r", "0 61440 raid raid1 2 AD 61440/61440 idle 0 0 -"),
                ok("suspend raid1", k -> k.dmSuspend("dnv-t-r")),
                ok("reload raid1", k -> k.dmLoad("dnv-t-r", "0 61440 raid raid1 3 0 region_size 1024" + SIDES)),
                ok("resume raid1", k -> k.dmResume("dnv-t-r")),
                settledStatus("dnv-t-r", Raid1Cases::settled, Duration.ofSeconds(20), IN_SYNC),
                md5("/dev/mapper/dnv-t-d1", 2 << 20, 1 << 20, Bytes.written(1 << 20, 61))),
            DifferentialCase.of("raid1 rebuild of a replaced side copies everything onto it", sides(),
                ok("raid1", k -> k.dmCreate("dnv-t-r", "0 61440 raid raid1 4 0 nosync region_size 1024" + SIDES)),
                write("/dev/mapper/dnv-t-r", 0, 1 << 20, 62),
                write("/dev/mapper/dnv-t-r", 29 << 20, 1 << 20, 63),
                ok("new meta 1", k -> k.dmCreate("dnv-t-m2", "0 2048 linear /dev/ram2 0")),
                ok("new data 1", k -> k.dmCreate("dnv-t-d2", "0 61440 linear /dev/ram2 2048")),
                ok("suspend raid1", k -> k.dmSuspend("dnv-t-r")),
                ok("reload with side 1 replaced, rebuild 1", k -> k.dmLoad("dnv-t-r", "0 61440 raid raid1 5 0 rebuild 1 region_size 1024"
                        + " 2 /dev/mapper/dnv-t-m0 /dev/mapper/dnv-t-d0 /dev/mapper/dnv-t-m2 /dev/mapper/dnv-t-d2")),
                ok("resume raid1", k -> k.dmResume("dnv-t-r")),
                settledStatus("dnv-t-r", Raid1Cases::settled, Duration.ofSeconds(20), IN_SYNC),
                table("dnv-t-r", "0 61440 raid raid1 5 0 rebuild 1 region_size 1024 2 dnv-t-m0 dnv-t-d0 dnv-t-m2 dnv-t-d2"),
                md5("/dev/mapper/dnv-t-d2", 0, 1 << 20, Bytes.written(1 << 20, 62)),
                md5("/dev/mapper/dnv-t-d2", 29 << 20, 1 << 20, Bytes.written(1 << 20, 63)))
        );
    }
}
