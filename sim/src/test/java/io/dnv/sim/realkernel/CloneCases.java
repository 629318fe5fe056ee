package io.dnv.sim.realkernel;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static io.dnv.sim.realkernel.Step.md5;
import static io.dnv.sim.realkernel.Step.ok;
import static io.dnv.sim.realkernel.Step.refused;
import static io.dnv.sim.realkernel.Step.settledStatus;
import static io.dnv.sim.realkernel.Step.status;
import static io.dnv.sim.realkernel.Step.table;
import static io.dnv.sim.realkernel.Step.write;

/**
 * dm-clone, which clone and move build on (Debian's kernel lacks it; the test guests build it out
 * of tree): its table, reads through to the source, hydration, and the region sizes it takes.
 */
final class CloneCases {

    private static final String DEVICES = " /dev/mapper/dnv-t-cm /dev/mapper/dnv-t-cd /dev/mapper/dnv-t-cs ";
    private static final int REGION = 512 << 10;

    private CloneCases() {}

    /** 1 MiB of metadata on ram0, an 8 MiB destination on ram1, an 8 MiB source on ram2 holding write #91. */
    private static List<Step> devices(Step... more) {
        List<Step> steps = new ArrayList<>(List.of(
            ok("clone metadata", k -> k.dmCreate("dnv-t-cm", "0 2048 linear /dev/ram0 0")),
            ok("destination", k -> k.dmCreate("dnv-t-cd", "0 16384 linear /dev/ram1 0")),
            ok("source", k -> k.dmCreate("dnv-t-cs", "0 16384 linear /dev/ram2 0")),
            write("/dev/mapper/dnv-t-cs", 0, 8 << 20, 91)));
        steps.addAll(List.of(more));
        return steps;
    }

    static List<DifferentialCase> all() {
        Bytes source = Bytes.written(8 << 20, 91);
        // a 4 KiB write at 600 KiB, inside region 1 ([512 KiB, 1 MiB))
        Bytes region1 = source.range(REGION, 600 << 10).then(Bytes.written(4096, 92)).then(source.range(604 << 10, 2 * REGION));
        Bytes cloned = source.range(0, REGION).then(region1).then(source.range(2 * REGION, 8 << 20));
        return List.of(
            DifferentialCase.of("dm-clone reads the source until a region is hydrated; a write hydrates its region; enable_hydration copies the rest",
                devices(),
                ok("clone, no_hydration", k -> k.dmCreate("dnv-t-c", "0 16384 clone" + DEVICES + "1024 1 no_hydration")),
                table("dnv-t-c", "0 16384 clone dnv-t-cm dnv-t-cd dnv-t-cs 1024 1 no_hydration"),
                status("dnv-t-c", "0 16384 clone 8 [meta] 1024 0/16 0 2 no_hydration no_discard_passdown 4 hydration_threshold 1 hydration_batch_size 1 rw"),
                md5("/dev/mapper/dnv-t-c", 0, 8 << 20, source),
                md5("/dev/mapper/dnv-t-cd", 0, 1 << 20, Bytes.zeroes(1 << 20)),
                write("/dev/mapper/dnv-t-c", 600 << 10, 4096, 92),
                status("dnv-t-c", "0 16384 clone 8 [meta] 1024 1/16 0 2 no_hydration no_discard_passdown 4 hydration_threshold 1 hydration_batch_size 1 rw"),
                md5("/dev/mapper/dnv-t-cd", REGION, REGION, region1),
                md5("/dev/mapper/dnv-t-cd", 0, REGION, Bytes.zeroes(REGION)),
                ok("enable_hydration", k -> k.dmMessage("dnv-t-c", 0, "enable_hydration")),
                settledStatus("dnv-t-c", s -> s.contains(" 16/16 "), Duration.ofSeconds(20),
                        "0 16384 clone 8 [meta] 1024 16/16 0 1 no_discard_passdown 4 hydration_threshold 1 hydration_batch_size 1 rw"),
                md5("/dev/mapper/dnv-t-cd", 0, 8 << 20, cloned),
                table("dnv-t-c", "0 16384 clone dnv-t-cm dnv-t-cd dnv-t-cs 1024 1 no_hydration")),
            DifferentialCase.of("dm-clone region size is a power of two from 8 to 2097152 sectors", devices(),
                refused("EINVAL", "region 12", k -> k.dmCreate("dnv-t-c", "0 16384 clone" + DEVICES + "12 1 no_hydration")),
                refused("EINVAL", "region 4", k -> k.dmCreate("dnv-t-c", "0 16384 clone" + DEVICES + "4 1 no_hydration")),
                refused("EINVAL", "region 4194304", k -> k.dmCreate("dnv-t-c", "0 16384 clone" + DEVICES + "4194304 1 no_hydration")),
                ok("region 8", k -> k.dmCreate("dnv-t-c", "0 16384 clone" + DEVICES + "8 1 no_hydration")),
                status("dnv-t-c", "0 16384 clone 8 [meta] 8 0/2048 0 2 no_hydration no_discard_passdown 4 hydration_threshold 1 hydration_batch_size 1 rw")),
            DifferentialCase.of("dm-clone refuses a target larger than its destination, and messages it does not know", devices(),
                refused("EINVAL", "clone of 16 MiB", k -> k.dmCreate("dnv-t-c", "0 32768 clone" + DEVICES + "1024")),
                ok("clone of 8 MiB", k -> k.dmCreate("dnv-t-c", "0 16384 clone" + DEVICES + "1024 1 no_hydration")),
                refused("EINVAL", "message nonsense", k -> k.dmMessage("dnv-t-c", 0, "nonsense")),
                ok("message hydration_threshold 8", k -> k.dmMessage("dnv-t-c", 0, "hydration_threshold 8")),
                status("dnv-t-c", "0 16384 clone 8 [meta] 1024 0/16 0 2 no_hydration no_discard_passdown 4 hydration_threshold 8 hydration_batch_size 1 rw"))
        );
    }
}
