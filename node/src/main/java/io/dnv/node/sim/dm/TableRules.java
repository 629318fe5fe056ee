package io.dnv.node.sim.dm;

import io.dnv.core.kernel.DmLine;
import io.dnv.core.kernel.DmTableParser;
import io.dnv.core.kernel.DmTarget;

import java.util.List;
import java.util.OptionalLong;
import java.util.Set;

/**
 * What Linux refuses in a table, line by line, as dm_table_add_target and the targets'
 * constructors do. The words are read by core's {@link DmTableParser}, the same reader the agent
 * compares tables with; this class adds what the kernel checks of their meaning (lengths that
 * split into chunks, region and block sizes, ids in range) and turns every refusal into the
 * error and log line Linux gives. Checks that need the devices are {@link TargetFactory}'s.
 */
final class TableRules {

    private static final long THIN_BLOCK_MIN = 128;
    private static final long THIN_BLOCK_MAX = 2097152;
    private static final long MAX_THIN_ID = (1L << 24) - 1;
    /** dm-clone's MIN_REGION_SIZE (4 KiB) and MAX_REGION_SIZE (1 GiB), in sectors. */
    private static final long CLONE_REGION_MIN = 8;
    private static final long CLONE_REGION_MAX = 2097152;

    private TableRules() {}

    /** dmsetup's own reading of the whole table: refused here, the kernel never sees it. */
    static List<DmTableParser.Line> split(String table) throws TableError {
        try {
            return DmTableParser.split(table);
        } catch (DmTableParser.Refused r) {
            throw error(r);
        }
    }

    /**
     * dm_table_add_target up to the end of the constructor; {@code end} is where the previous line
     * ended, {@code targets} the target types the kernel has (a module not built, as dm-clone in
     * Debian's kernel, is an unknown type).
     */
    static DmLine line(DmTableParser.Line raw, long end, Set<String> targets) throws TableError {
        if (raw.length() == 0) {
            throw TableError.table("zero-length target");
        }
        if (!DmTableParser.models(raw.type()) || !targets.contains(raw.type())) {
            throw TableError.table(raw.type() + ": unknown target type");
        }
        if (raw.start() != end) {
            throw TableError.target(raw.type(), "Gap in table");
        }
        DmTarget target;
        try {
            target = DmTableParser.target(raw);
        } catch (DmTableParser.Refused r) {
            throw error(r);
        }
        return new DmLine(raw.start(), raw.length(), checked(target, raw.length()));
    }

    private static TableError error(DmTableParser.Refused r) {
        return switch (r.by()) {
            case DMSETUP -> TableError.dmsetup(r.reason());
            case TARGET -> TableError.target(r.type(), r.reason());
            case MODEL -> TableError.target(r.type(), "dnv simulator: " + r.reason());
        };
    }

    /** The target as the kernel builds it (a raid1 region given as 0 becomes the default), or its refusal. */
    private static DmTarget checked(DmTarget t, long length) throws TableError {
        if (t instanceof DmTarget.Striped s) {
            striped(s, length);
        } else if (t instanceof DmTarget.Raid0 r) {
            raid0(r, length);
        } else if (t instanceof DmTarget.Raid1 r) {
            return raid1(r, length);
        } else if (t instanceof DmTarget.ThinPool p) {
            long block = p.blockSectors();
            if (block < THIN_BLOCK_MIN || block > THIN_BLOCK_MAX || block % THIN_BLOCK_MIN != 0) {
                throw TableError.target("thin-pool", "Invalid block size");
            }
        } else if (t instanceof DmTarget.Thin thin && thin.deviceId() > MAX_THIN_ID) {
            throw TableError.target("thin", "Invalid device id");
        } else if (t instanceof DmTarget.Clone c) {
            if (c.regionSectors() < CLONE_REGION_MIN || c.regionSectors() > CLONE_REGION_MAX) {
                throw TableError.target("clone", "Invalid region size");
            }
            if (Long.bitCount(c.regionSectors()) != 1) {
                throw TableError.target("clone", "Region size is not a power of 2");
            }
        }
        return t;
    }

    private static void striped(DmTarget.Striped s, long length) throws TableError {
        long chunk = s.chunkSectors();
        int stripes = s.stripes().size();
        // Linux 6.1 takes any chunk; the simulator keeps the planner to the power-of-two chunks raid0 needs too.
        if (chunk < 8 || Long.bitCount(chunk) != 1) {
            throw TableError.target("striped", "Invalid chunk_size");
        }
        if (length % stripes != 0) {
            throw TableError.target("striped", "Target length not divisible by number of stripes");
        }
        if ((length / stripes) % chunk != 0) {
            throw TableError.target("striped", "Target length not divisible by chunk size");
        }
    }

    private static void raid0(DmTarget.Raid0 r, long length) throws TableError {
        long chunk = r.chunkSectors();
        if (Long.bitCount(chunk) != 1) {
            throw TableError.target("raid", "Chunk size must be a power of 2");
        }
        if (chunk < 8) {
            throw TableError.target("raid", "Chunk size value is too small");
        }
        int n = r.legs().size();
        if (length % n != 0) {
            throw TableError.target("raid", "Target length not divisible by number of data devices");
        }
        if ((length / n) % chunk != 0) {
            throw TableError.target("raid", "Array size does not match requested target length");
        }
    }

    /**
     * dm-raid's validate_region_size. A region given is checked against the length; one given
     * as 0 is the default, and the table then prints the region chosen. Without one the kernel
     * chooses later (an existing array keeps its bitmap's), see {@link #defaultRegionSectors}.
     */
    private static DmTarget.Raid1 raid1(DmTarget.Raid1 r, long length) throws TableError {
        if (r.regionSectors().isPresent()) {
            long region = r.regionSectors().getAsLong();
            if (region == 0) {
                r = new DmTarget.Raid1(OptionalLong.of(defaultRegionSectors(length)), r.nosync(), r.rebuild(), r.sides());
            } else if (region > length) {
                throw TableError.target("raid", "Supplied region size is too large");
            } else if (region < length >> 21) {
                throw TableError.target("raid", "Supplied region size is too small");
            } else if (Long.bitCount(region) != 1) {
                throw TableError.target("raid", "Region size is not a power of 2");
            }
        }
        int present = 0;
        for (DmTarget.Raid1.Side side : r.sides()) {
            if (side.meta().isPresent() != side.data().isPresent()) {
                throw TableError.target("raid", "dnv simulator: a raid1 side needs both metadata and data devices");
            }
            present += side.meta().isPresent() ? 1 : 0;
        }
        if (present == 0) {
            throw TableError.target("raid", "Insufficient redundancy to activate array");
        }
        return r;
    }

    /**
     * The region dm-raid picks when a table names none (Linux 6.1 drivers/md/dm-raid.c,
     * validate_region_size): 4 MiB, or for arrays over 8 TiB the power of two at or above
     * len/2^21 (the bitmap's limit of 2^21 regions). It is not held to the array's length.
     */
    static long defaultRegionSectors(long lengthSectors) {
        long min = lengthSectors >> 21;
        long fourMiB = 1 << 13;
        return min > fourMiB ? Long.highestOneBit(min - 1) << 1 : fourMiB;
    }
}
