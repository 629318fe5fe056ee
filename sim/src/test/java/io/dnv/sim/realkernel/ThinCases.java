package io.dnv.sim.realkernel;

import java.time.Duration;
import java.util.List;

import static io.dnv.sim.realkernel.Step.awaitWrite;
import static io.dnv.sim.realkernel.Step.md5;
import static io.dnv.sim.realkernel.Step.ok;
import static io.dnv.sim.realkernel.Step.refused;
import static io.dnv.sim.realkernel.Step.startWrite;
import static io.dnv.sim.realkernel.Step.status;
import static io.dnv.sim.realkernel.Step.table;
import static io.dnv.sim.realkernel.Step.write;

/** thin-pool and thin: block sizes, ids, block zeroing, snapshots, deletes, running out of space. */
final class ThinCases {

    private ThinCases() {}

    /** Metadata on ram2, {@code dataSectors} of data on ram3, a pool of 1 MiB blocks with {@code features}. */
    static List<Step> pool(long dataSectors, String features) {
        return List.of(
            ok("thin meta", k -> k.dmCreate("dnv-t-tm", "0 8192 linear /dev/ram2 0")),
            ok("thin data", k -> k.dmCreate("dnv-t-td", "0 " + dataSectors + " linear /dev/ram3 0")),
            ok("pool", k -> k.dmCreate("dnv-t-p", "0 " + dataSectors + " thin-pool /dev/mapper/dnv-t-tm /dev/mapper/dnv-t-td 2048 0 " + features)));
    }

    static List<Step> pool(String features) {
        return pool(65536, features);
    }

    static List<DifferentialCase> all() {
        return List.of(
            DifferentialCase.of("thin-pool block size must be a multiple of 128 sectors, at least 128",
                ok("thin meta", k -> k.dmCreate("dnv-t-tm", "0 8192 linear /dev/ram2 0")),
                ok("thin data", k -> k.dmCreate("dnv-t-td", "0 65536 linear /dev/ram3 0")),
                refused("EINVAL", "block 100", k -> k.dmCreate("dnv-t-p", "0 65536 thin-pool /dev/mapper/dnv-t-tm /dev/mapper/dnv-t-td 100 16 0")),
                refused("EINVAL", "block 64", k -> k.dmCreate("dnv-t-p2", "0 65536 thin-pool /dev/mapper/dnv-t-tm /dev/mapper/dnv-t-td 64 16 0")),
                ok("block 384", k -> k.dmCreate("dnv-t-p3", "0 65536 thin-pool /dev/mapper/dnv-t-tm /dev/mapper/dnv-t-td 384 16 0"))),
            DifferentialCase.of("thin-pool features are printed in the kernel's order; a new pool's status", pool("2 error_if_no_space skip_block_zeroing"),
                table("dnv-t-p", "0 65536 thin-pool dnv-t-tm dnv-t-td 2048 0 2 skip_block_zeroing error_if_no_space"),
                status("dnv-t-p", "0 65536 thin-pool 0 [meta] 0/32 - rw no_discard_passdown error_if_no_space -")),
            DifferentialCase.of("a thin device needs an id the pool has", pool("1 skip_block_zeroing"),
                refused("ENODATA", "thin id 5 before create_thin", k -> k.dmCreate("dnv-t-t", "0 8192 thin /dev/mapper/dnv-t-p 5")),
                ok("create_thin 5", k -> k.dmMessage("dnv-t-p", 0, "create_thin 5")),
                refused("EEXIST", "create_thin 5 again", k -> k.dmMessage("dnv-t-p", 0, "create_thin 5")),
                ok("thin id 5", k -> k.dmCreate("dnv-t-t", "0 8192 thin /dev/mapper/dnv-t-p 5")),
                table("dnv-t-t", "0 8192 thin dnv-t-p 5"),
                status("dnv-t-t", "0 8192 thin 0 -")),
            DifferentialCase.of("skip_block_zeroing: a newly provisioned block shows the old bytes of its extent",
                write("/dev/ram3", 0, 1 << 20, 31),
                ok("thin meta", k -> k.dmCreate("dnv-t-tm", "0 8192 linear /dev/ram2 0")),
                ok("thin data", k -> k.dmCreate("dnv-t-td", "0 65536 linear /dev/ram3 0")),
                ok("pool", k -> k.dmCreate("dnv-t-p", "0 65536 thin-pool /dev/mapper/dnv-t-tm /dev/mapper/dnv-t-td 2048 16 1 skip_block_zeroing")),
                ok("create_thin 0", k -> k.dmMessage("dnv-t-p", 0, "create_thin 0")),
                ok("thin", k -> k.dmCreate("dnv-t-t", "0 8192 thin /dev/mapper/dnv-t-p 0")),
                write("/dev/mapper/dnv-t-t", 0, 4096, 32),
                md5("/dev/mapper/dnv-t-t", 4096, (1 << 20) - 4096, Bytes.written(1 << 20, 31).range(4096, 1 << 20)),
                md5("/dev/ram3", 4096, (1 << 20) - 4096, Bytes.written(1 << 20, 31).range(4096, 1 << 20)),
                status("dnv-t-t", "0 8192 thin 2048 2047")),
            DifferentialCase.of("without skip_block_zeroing a newly provisioned block reads zeroes around a write",
                write("/dev/ram3", 0, 1 << 20, 33),
                ok("thin meta", k -> k.dmCreate("dnv-t-tm", "0 8192 linear /dev/ram2 0")),
                ok("thin data", k -> k.dmCreate("dnv-t-td", "0 65536 linear /dev/ram3 0")),
                ok("pool", k -> k.dmCreate("dnv-t-p", "0 65536 thin-pool /dev/mapper/dnv-t-tm /dev/mapper/dnv-t-td 2048 16 0")),
                ok("create_thin 0", k -> k.dmMessage("dnv-t-p", 0, "create_thin 0")),
                ok("thin", k -> k.dmCreate("dnv-t-t", "0 8192 thin /dev/mapper/dnv-t-p 0")),
                write("/dev/mapper/dnv-t-t", 0, 4096, 34),
                md5("/dev/mapper/dnv-t-t", 0, 1 << 20, Bytes.written(4096, 34).then(Bytes.zeroes((1 << 20) - 4096)))),
            DifferentialCase.of("create_snap of an active, unsuspended origin is accepted (and, with no I/O in flight, consistent)",
                pool("1 skip_block_zeroing"),
                ok("create_thin 0", k -> k.dmMessage("dnv-t-p", 0, "create_thin 0")),
                ok("origin", k -> k.dmCreate("dnv-t-o", "0 8192 thin /dev/mapper/dnv-t-p 0")),
                write("/dev/mapper/dnv-t-o", 0, 1 << 20, 41),
                ok("create_snap 1 0 (origin not suspended)", k -> k.dmMessage("dnv-t-p", 0, "create_snap 1 0")),
                write("/dev/mapper/dnv-t-o", 0, 4096, 44),
                ok("snapshot", k -> k.dmCreate("dnv-t-s", "0 8192 thin /dev/mapper/dnv-t-p 1")),
                md5("/dev/mapper/dnv-t-s", 0, 1 << 20, Bytes.written(1 << 20, 41))),
            DifferentialCase.of("create_snap of a suspended origin keeps the snapshot's bytes when the origin changes", pool("1 skip_block_zeroing"),
                ok("create_thin 0", k -> k.dmMessage("dnv-t-p", 0, "create_thin 0")),
                ok("origin", k -> k.dmCreate("dnv-t-o", "0 8192 thin /dev/mapper/dnv-t-p 0")),
                write("/dev/mapper/dnv-t-o", 0, 1 << 20, 42),
                ok("suspend origin", k -> k.dmSuspend("dnv-t-o")),
                ok("create_snap 1 0", k -> k.dmMessage("dnv-t-p", 0, "create_snap 1 0")),
                ok("resume origin", k -> k.dmResume("dnv-t-o")),
                write("/dev/mapper/dnv-t-o", 0, 1 << 20, 43),
                ok("snapshot", k -> k.dmCreate("dnv-t-s", "0 8192 thin /dev/mapper/dnv-t-p 1")),
                md5("/dev/mapper/dnv-t-s", 0, 1 << 20, Bytes.written(1 << 20, 42)),
                md5("/dev/mapper/dnv-t-o", 0, 1 << 20, Bytes.written(1 << 20, 43)),
                status("dnv-t-p", "0 65536 thin-pool 0 [meta] 2/32 - rw no_discard_passdown queue_if_no_space -")),
            DifferentialCase.of("an open thin device cannot be deleted from its pool", pool("1 skip_block_zeroing"),
                ok("create_thin 0", k -> k.dmMessage("dnv-t-p", 0, "create_thin 0")),
                ok("thin", k -> k.dmCreate("dnv-t-t", "0 8192 thin /dev/mapper/dnv-t-p 0")),
                refused("EBUSY", "delete 0 while active", k -> k.dmMessage("dnv-t-p", 0, "delete 0")),
                ok("remove thin", k -> k.dmRemove("dnv-t-t")),
                ok("delete 0", k -> k.dmMessage("dnv-t-p", 0, "delete 0"))),
            DifferentialCase.of("error_if_no_space: a write that needs a block of a full pool fails with ENOSPC at once",
                pool(16384, "2 skip_block_zeroing error_if_no_space"),
                ok("create_thin 0", k -> k.dmMessage("dnv-t-p", 0, "create_thin 0")),
                ok("thin of 16 MiB over 8 MiB of data", k -> k.dmCreate("dnv-t-t", "0 32768 thin /dev/mapper/dnv-t-p 0")),
                write("/dev/mapper/dnv-t-t", 0, 8 << 20, 71),
                status("dnv-t-p", "0 16384 thin-pool 0 [meta] 8/8 - rw no_discard_passdown error_if_no_space -"),
                startWrite("w", "/dev/mapper/dnv-t-t", 8 << 20, 1 << 20, 72),
                awaitWrite("w", Duration.ofSeconds(2), "failed ENOSPC"),
                status("dnv-t-p", "0 16384 thin-pool 0 [meta] 8/8 - out_of_data_space no_discard_passdown error_if_no_space -"),
                status("dnv-t-t", "0 32768 thin 16384 16383"),
                write("/dev/mapper/dnv-t-t", 0, 1 << 20, 73),
                md5("/dev/mapper/dnv-t-t", 0, 1 << 20, Bytes.written(1 << 20, 73))),
            DifferentialCase.of("queue_if_no_space: a write that needs a block of a full pool waits until the pool grows",
                pool(16384, "1 skip_block_zeroing"),
                ok("create_thin 0", k -> k.dmMessage("dnv-t-p", 0, "create_thin 0")),
                ok("thin of 16 MiB over 8 MiB of data", k -> k.dmCreate("dnv-t-t", "0 32768 thin /dev/mapper/dnv-t-p 0")),
                write("/dev/mapper/dnv-t-t", 0, 8 << 20, 74),
                startWrite("w", "/dev/mapper/dnv-t-t", 8 << 20, 1 << 20, 75),
                awaitWrite("w", Duration.ofSeconds(1), "pending"),
                status("dnv-t-p", "0 16384 thin-pool 0 [meta] 8/8 - out_of_data_space no_discard_passdown queue_if_no_space -"),
                ok("suspend thin data", k -> k.dmSuspend("dnv-t-td")),
                ok("thin data grows to 16 MiB", k -> k.dmLoad("dnv-t-td", "0 32768 linear /dev/ram3 0")),
                ok("resume thin data", k -> k.dmResume("dnv-t-td")),
                ok("suspend pool", k -> k.dmSuspend("dnv-t-p")),
                ok("pool grows to 16 MiB", k -> k.dmLoad("dnv-t-p", "0 32768 thin-pool /dev/mapper/dnv-t-tm /dev/mapper/dnv-t-td 2048 0 1 skip_block_zeroing")),
                ok("resume pool", k -> k.dmResume("dnv-t-p")),
                awaitWrite("w", Duration.ofSeconds(10), "ok"),
                status("dnv-t-p", "0 32768 thin-pool 0 [meta] 9/16 - rw no_discard_passdown queue_if_no_space -"),
                md5("/dev/mapper/dnv-t-t", 8 << 20, 1 << 20, Bytes.written(1 << 20, 75)))
        );
    }
}
