package io.dnv.node.sim.dm;

import io.dnv.core.kernel.DeviceRef;
import io.dnv.core.kernel.DmLine;
import io.dnv.core.kernel.DmTarget;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.regex.Pattern;

/**
 * Table text to typed lines, with the refusals Linux gives for the words themselves. Checks that
 * need the devices (lookup, sizes, the pool's metadata) are {@link TargetFactory}'s.
 */
final class TableParser {

    /** One line as dmsetup splits it before it talks to the kernel. */
    record RawLine(long start, long length, String type, List<String> args) {}

    private static final int MAX_RAID_DEVICES = 253;
    private static final long THIN_BLOCK_MIN = 128;
    private static final long THIN_BLOCK_MAX = 2097152;
    private static final long MAX_THIN_ID = (1L << 24) - 1;
    // Compiled once: String.split and String.matches compile a regex per call, and every dm
    // create parses its table.
    static final Pattern WHITESPACE = Pattern.compile("\\s+");
    private static final Pattern MAJOR_MINOR = Pattern.compile("\\d+:\\d+");
    private static final Pattern DECIMAL = Pattern.compile("\\d{1,18}");

    private TableParser() {}

    /** dmsetup's own parsing of the whole table: refused here, the kernel never sees it. */
    static List<RawLine> split(String table) throws TableError {
        List<RawLine> lines = new ArrayList<>();
        String[] text = table.split("\n", -1);
        for (int i = 0; i < text.length; i++) {
            String t = text[i].strip();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            String[] w = WHITESPACE.split(t);
            if (w.length < 3) {
                throw TableError.dmsetup("Invalid format on line " + (i + 1) + " of table");
            }
            try {
                long start = Long.parseUnsignedLong(w[0]);
                long length = Long.parseUnsignedLong(w[1]);
                lines.add(new RawLine(start, length, w[2], List.of(Arrays.copyOfRange(w, 3, w.length))));
            } catch (NumberFormatException e) {
                throw TableError.dmsetup("Invalid format on line " + (i + 1) + " of table");
            }
        }
        if (lines.isEmpty()) {
            throw TableError.dmsetup("No input found in table");
        }
        return lines;
    }

    /** dm_table_add_target up to the constructor's argument parsing; {@code end} is where the previous line ended. */
    static DmLine parse(RawLine raw, long end) throws TableError {
        if (raw.length() == 0) {
            throw TableError.table("zero-length target");
        }
        String type = raw.type();
        if (!List.of("linear", "error", "striped", "raid", "thin-pool", "thin").contains(type)) {
            throw TableError.table(type + ": unknown target type");
        }
        if (raw.start() != end) {
            throw TableError.target(type, "Gap in table");
        }
        List<String> a = raw.args();
        DmTarget target = switch (type) {
            case "linear" -> linear(a);
            case "error" -> new DmTarget.Error();
            case "striped" -> striped(a, raw.length());
            case "raid" -> raid(a, raw.length());
            case "thin-pool" -> thinPool(a);
            default -> thin(a);
        };
        return new DmLine(raw.start(), raw.length(), target);
    }

    static DeviceRef device(String word) {
        return MAJOR_MINOR.matcher(word).matches() ? new DeviceRef.Raw(word) : new DeviceRef.Disk(word);
    }

    private static DmTarget linear(List<String> a) throws TableError {
        if (a.size() != 2) {
            throw TableError.target("linear", "Invalid argument count");
        }
        long offset = number(a.get(1), "linear", "Invalid device sector");
        return new DmTarget.Linear(device(a.get(0)), offset);
    }

    private static DmTarget striped(List<String> a, long length) throws TableError {
        if (a.size() < 2) {
            throw TableError.target("striped", "Not enough arguments");
        }
        long stripes = number(a.get(0), "striped", "Invalid stripe count");
        long chunk = number(a.get(1), "striped", "Invalid chunk_size");
        if (stripes == 0) {
            throw TableError.target("striped", "Invalid stripe count");
        }
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
        if (a.size() != 2 + 2 * stripes) {
            throw TableError.target("striped", "Not enough destinations specified");
        }
        List<DeviceRef> devs = new ArrayList<>();
        for (int i = 0; i < stripes; i++) {
            if (number(a.get(3 + 2 * i), "striped", "Invalid stripe destination") != 0) {
                throw TableError.target("striped", "dnv simulator: stripes must start at offset 0");
            }
            devs.add(device(a.get(2 + 2 * i)));
        }
        return new DmTarget.Striped((int) chunk, devs);
    }

    private static DmTarget raid(List<String> a, long length) throws TableError {
        if (a.isEmpty()) {
            throw TableError.target("raid", "Not enough arguments");
        }
        String level = a.get(0);
        if (!level.equals("raid0") && !level.equals("raid1")) {
            throw TableError.target("raid", List.of("raid4", "raid5_la", "raid5_ra", "raid5_ls", "raid5_rs", "raid6_zr",
                    "raid6_nr", "raid6_nc", "raid10").contains(level)
                    ? "dnv simulator: " + level + " is not simulated" : "Unrecognised raid_type");
        }
        int at = 1;
        long nParams = a.size() > at ? parseOr(a.get(at), -1) : -1;
        if (nParams < 1 || at + 1 + nParams > a.size()) {
            throw TableError.target("raid", "Cannot understand number of RAID parameters");
        }
        List<String> params = a.subList(at + 1, at + 1 + (int) nParams);
        at += 1 + (int) nParams;
        long nDevs = a.size() > at ? parseOr(a.get(at), -1) : -1;
        if (nDevs < 1 || nDevs > MAX_RAID_DEVICES) {
            throw TableError.target("raid", "Cannot understand number of raid devices parameters");
        }
        List<String> devWords = a.subList(at + 1, a.size());
        if (devWords.size() != 2 * nDevs) {
            throw TableError.target("raid", "Supplied RAID devices does not match the count given");
        }
        long chunk = number(params.get(0), "raid", "Bad numerical argument given for chunk_size");
        return level.equals("raid0")
                ? raid0(chunk, params, devWords, length)
                : raid1(params, devWords, length);
    }

    private static DmTarget raid0(long chunk, List<String> params, List<String> devWords, long length) throws TableError {
        if (Long.bitCount(chunk) != 1) {
            throw TableError.target("raid", "Chunk size must be a power of 2");
        }
        if (chunk < 8) {
            throw TableError.target("raid", "Chunk size value is too small");
        }
        if (params.size() > 1) {
            throw TableError.target("raid", "dnv simulator: raid0 takes only the chunk size");
        }
        int n = devWords.size() / 2;
        if (length % n != 0) {
            throw TableError.target("raid", "Target length not divisible by number of data devices");
        }
        if ((length / n) % chunk != 0) {
            throw TableError.target("raid", "Array size does not match requested target length");
        }
        List<DeviceRef> legs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (!devWords.get(2 * i).equals("-")) {
                throw TableError.target("raid", "dnv simulator: raid0 with metadata devices is not simulated");
            }
            if (devWords.get(2 * i + 1).equals("-")) {
                throw TableError.target("raid", "Insufficient redundancy to activate array");
            }
            legs.add(device(devWords.get(2 * i + 1)));
        }
        return new DmTarget.Raid0((int) chunk, legs);
    }

    private static DmTarget raid1(List<String> params, List<String> devWords, long length) throws TableError {
        // dm-raid ignores raid1's chunk size ("Ignoring chunk size parameter for RAID 1") and prints 0.
        boolean nosync = false;
        OptionalInt rebuild = OptionalInt.empty();
        long region = 0;
        int n = devWords.size() / 2;
        for (int i = 1; i < params.size(); i++) {
            String key = params.get(i);
            switch (key) {
                case "nosync" -> nosync = true;
                case "sync" -> nosync = false;
                case "rebuild", "region_size" -> {
                    if (i + 1 >= params.size()) {
                        throw TableError.target("raid", "Wrong number of raid parameters given");
                    }
                    long value = number(params.get(++i), "raid", "Bad numerical argument given in raid params");
                    if (key.equals("region_size")) {
                        region = value;
                    } else if (value >= n || rebuild.isPresent()) {
                        throw TableError.target("raid", "Invalid rebuild index given");
                    } else {
                        rebuild = OptionalInt.of((int) value);
                    }
                }
                default -> throw TableError.target("raid", "Unable to parse RAID parameter: " + key);
            }
        }
        long min = length >> 21;
        if (region == 0) {
            // dm-raid's default: 4 MiB, or the smallest power of two that keeps the bitmap at 2^21 bits.
            region = min > (1 << 13) ? Long.highestOneBit(min - 1) << 1 : Math.min(1 << 13, Long.highestOneBit(length));
        }
        if (region > length) {
            throw TableError.target("raid", "Supplied region size is too large");
        }
        if (region < min) {
            throw TableError.target("raid", "Supplied region size is too small");
        }
        if (Long.bitCount(region) != 1) {
            throw TableError.target("raid", "Region size is not a power of 2");
        }
        List<DmTarget.Raid1.Side> sides = new ArrayList<>();
        int present = 0;
        for (int i = 0; i < n; i++) {
            String m = devWords.get(2 * i);
            String d = devWords.get(2 * i + 1);
            if (m.equals("-") && d.equals("-")) {
                sides.add(DmTarget.Raid1.Side.missing());
            } else if (m.equals("-") || d.equals("-")) {
                throw TableError.target("raid", "dnv simulator: a raid1 side needs both metadata and data devices");
            } else {
                sides.add(DmTarget.Raid1.Side.of(device(m), device(d)));
                present++;
            }
        }
        if (present == 0) {
            throw TableError.target("raid", "Insufficient redundancy to activate array");
        }
        return new DmTarget.Raid1(region, nosync, rebuild, sides);
    }

    private static DmTarget thinPool(List<String> a) throws TableError {
        if (a.size() < 4) {
            throw TableError.target("thin-pool", "Invalid argument count");
        }
        long block = parseOr(a.get(2), -1);
        if (block < THIN_BLOCK_MIN || block > THIN_BLOCK_MAX || block % THIN_BLOCK_MIN != 0) {
            throw TableError.target("thin-pool", "Invalid block size");
        }
        long lowWater = number(a.get(3), "thin-pool", "Invalid low water mark");
        long nFeatures = a.size() > 4 ? parseOr(a.get(4), -1) : 0;
        if (nFeatures < 0 || nFeatures > 4 || a.size() != 5 + nFeatures && !(a.size() == 4 && nFeatures == 0)) {
            throw TableError.target("thin-pool", "Invalid number of pool feature arguments");
        }
        boolean skipZeroing = false;
        boolean errorIfNoSpace = false;
        for (String f : a.subList(Math.min(5, a.size()), a.size())) {
            switch (f) {
                case "skip_block_zeroing" -> skipZeroing = true;
                case "error_if_no_space" -> errorIfNoSpace = true;
                case "ignore_discard", "no_discard_passdown", "read_only" ->
                        throw TableError.target("thin-pool", "dnv simulator: feature " + f + " is not simulated");
                default -> throw TableError.target("thin-pool", "Unrecognised pool feature requested");
            }
        }
        return new DmTarget.ThinPool(device(a.get(0)), device(a.get(1)), block, lowWater, skipZeroing, errorIfNoSpace);
    }

    private static DmTarget thin(List<String> a) throws TableError {
        if (a.size() == 3) {
            throw TableError.target("thin", "dnv simulator: external origins are not simulated");
        }
        if (a.size() != 2) {
            throw TableError.target("thin", "Invalid argument count");
        }
        long id = parseOr(a.get(1), -1);
        if (id < 0 || id > MAX_THIN_ID) {
            throw TableError.target("thin", "Invalid device id");
        }
        return new DmTarget.Thin(device(a.get(0)), id);
    }

    private static long number(String word, String type, String reason) throws TableError {
        long v = parseOr(word, -1);
        if (v < 0) {
            throw TableError.target(type, reason);
        }
        return v;
    }

    private static long parseOr(String word, long otherwise) {
        if (!DECIMAL.matcher(word).matches()) {
            return otherwise;
        }
        try {
            return Long.parseLong(word);
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }
}
