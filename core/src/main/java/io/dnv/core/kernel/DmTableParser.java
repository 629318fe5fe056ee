package io.dnv.core.kernel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The one reader of device-mapper table text: the agent reads what `dmsetup table` printed to
 * compare it by meaning with what it wants, the simulated kernel reads what it is asked to
 * load. It does what dmsetup does with the text (lines, words, comments) and what each
 * target's constructor does with its words, and refuses in Linux's words. Whether the numbers
 * fit together (chunk sizes, lengths, region sizes) and the devices exist is the kernel's
 * question, not the reader's: the simulator asks it of the typed targets read here.
 */
public final class DmTableParser {

    /** One line as dmsetup splits it before it talks to the kernel. */
    public record Line(long start, long length, String type, List<String> args) {}

    /** Table text refused for its words. */
    public static final class Refused extends IllegalArgumentException {

        public enum By {
            /** dmsetup itself, before any ioctl: {@link #reason} is its whole message. */
            DMSETUP,
            /** The target's constructor, as Linux 6.1 logs it: "type: reason". */
            TARGET,
            /** Linux takes it, but dnv's typed targets have no such shape (no dnv table has it either). */
            MODEL
        }

        private final By by;
        private final String type;
        private final String reason;

        Refused(By by, String type, String reason) {
            super(type == null ? reason : type + ": " + reason);
            this.by = by;
            this.type = type;
            this.reason = reason;
        }

        public By by() {
            return by;
        }

        public String type() {
            return type;
        }

        public String reason() {
            return reason;
        }
    }

    private static final Set<String> TYPES = Set.of("linear", "error", "striped", "raid", "thin-pool", "thin", "clone");
    private static final Set<String> OTHER_RAID_LEVELS = Set.of("raid4", "raid5_la", "raid5_ra", "raid5_ls", "raid5_rs",
            "raid6_zr", "raid6_nr", "raid6_nc", "raid10");
    private static final int MAX_RAID_DEVICES = 253;
    // Compiled once: every dm create the simulator takes and every table an agent compares is read here.
    private static final Pattern WHITESPACE = Pattern.compile("\\s+");
    private static final Pattern MAJOR_MINOR = Pattern.compile("\\d+:\\d+");
    /** The kernel's kstrto* and "%llu%c" take plain decimal digits only: no sign, no base prefix. */
    private static final Pattern DECIMAL = Pattern.compile("\\d{1,18}");

    private DmTableParser() {}

    public static DmTable parse(String text) {
        List<DmLine> lines = new ArrayList<>();
        for (Line l : split(text)) {
            lines.add(new DmLine(l.start(), l.length(), target(l)));
        }
        return new DmTable(lines);
    }

    /** dmsetup's reading of the text: one line per target, blank lines and '#' comments skipped. */
    public static List<Line> split(String table) {
        List<Line> lines = new ArrayList<>();
        String[] text = table.split("\n", -1);
        for (int i = 0; i < text.length; i++) {
            String t = text[i].strip();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            String[] w = WHITESPACE.split(t);
            if (w.length < 3) {
                throw new Refused(Refused.By.DMSETUP, null, "Invalid format on line " + (i + 1) + " of table");
            }
            try {
                lines.add(new Line(Long.parseUnsignedLong(w[0]), Long.parseUnsignedLong(w[1]), w[2],
                        List.of(Arrays.copyOfRange(w, 3, w.length))));
            } catch (NumberFormatException e) {
                throw new Refused(Refused.By.DMSETUP, null, "Invalid format on line " + (i + 1) + " of table");
            }
        }
        if (lines.isEmpty()) {
            throw new Refused(Refused.By.DMSETUP, null, "No input found in table");
        }
        return lines;
    }

    /** Every target type dnv has a typed target for. */
    public static Set<String> modelled() {
        return TYPES;
    }

    /** Whether dnv has a typed target for this target type. */
    public static boolean models(String type) {
        return TYPES.contains(type);
    }

    /** The target's constructor reading its words. */
    public static DmTarget target(Line line) {
        List<String> a = line.args();
        return switch (line.type()) {
            case "linear" -> linear(a);
            case "error" -> new DmTarget.Error(); // dm-error ignores its arguments
            case "striped" -> striped(a);
            case "raid" -> raid(a);
            case "thin-pool" -> thinPool(a);
            case "thin" -> thin(a);
            case "clone" -> clone(a);
            default -> throw new Refused(Refused.By.TARGET, line.type(), "unknown target type");
        };
    }

    private static DmTarget linear(List<String> a) {
        if (a.size() != 2) {
            throw refused("linear", "Invalid argument count");
        }
        return new DmTarget.Linear(device(a.get(0)), number(a.get(1), "linear", "Invalid device sector"));
    }

    private static DmTarget striped(List<String> a) {
        if (a.size() < 2) {
            throw refused("striped", "Not enough arguments");
        }
        long stripes = number(a.get(0), "striped", "Invalid stripe count");
        if (stripes == 0 || stripes > Integer.MAX_VALUE) {
            throw refused("striped", "Invalid stripe count");
        }
        int chunk = (int) number(a.get(1), "striped", "Invalid chunk_size", Integer.MAX_VALUE);
        if (a.size() != 2 + 2 * stripes) {
            throw refused("striped", "Not enough destinations specified");
        }
        List<DeviceRef> devs = new ArrayList<>();
        for (int i = 0; i < stripes; i++) {
            if (number(a.get(3 + 2 * i), "striped", "Invalid stripe destination") != 0) {
                throw new Refused(Refused.By.MODEL, "striped", "stripes must start at offset 0");
            }
            devs.add(device(a.get(2 + 2 * i)));
        }
        return new DmTarget.Striped(chunk, devs);
    }

    private static DmTarget raid(List<String> a) {
        if (a.isEmpty()) {
            throw refused("raid", "Not enough arguments");
        }
        String level = a.get(0);
        if (OTHER_RAID_LEVELS.contains(level)) {
            throw new Refused(Refused.By.MODEL, "raid", level + " is not modelled");
        }
        if (!level.equals("raid0") && !level.equals("raid1")) {
            throw refused("raid", "Unrecognised raid_type");
        }
        long nParams = a.size() > 1 ? numberOr(a.get(1), -1) : -1;
        if (nParams < 1 || 2 + nParams > a.size()) {
            throw refused("raid", "Cannot understand number of RAID parameters");
        }
        List<String> params = a.subList(2, 2 + (int) nParams);
        int at = 2 + (int) nParams;
        long nDevs = a.size() > at ? numberOr(a.get(at), -1) : -1;
        if (nDevs < 1 || nDevs > MAX_RAID_DEVICES) {
            throw refused("raid", "Cannot understand number of raid devices parameters");
        }
        List<String> devWords = a.subList(at + 1, a.size());
        if (devWords.size() != 2 * nDevs) {
            throw refused("raid", "Supplied RAID devices does not match the count given");
        }
        int chunk = (int) number(params.get(0), "raid", "Bad numerical argument given for chunk_size", Integer.MAX_VALUE);
        return level.equals("raid0") ? raid0(chunk, params, devWords) : raid1(params, devWords);
    }

    private static DmTarget raid0(int chunk, List<String> params, List<String> devWords) {
        if (params.size() > 1) {
            throw new Refused(Refused.By.MODEL, "raid", "raid0 takes only the chunk size");
        }
        List<DeviceRef> legs = new ArrayList<>();
        for (int i = 0; i < devWords.size() / 2; i++) {
            if (!devWords.get(2 * i).equals("-")) {
                throw new Refused(Refused.By.MODEL, "raid", "raid0 with metadata devices is not modelled");
            }
            if (devWords.get(2 * i + 1).equals("-")) {
                throw refused("raid", "Insufficient redundancy to activate array");
            }
            legs.add(device(devWords.get(2 * i + 1)));
        }
        return new DmTarget.Raid0(chunk, legs);
    }

    /** dm-raid ignores raid1's chunk size ("Ignoring chunk size parameter for RAID 1"); the region size is optional. */
    private static DmTarget raid1(List<String> params, List<String> devWords) {
        int n = devWords.size() / 2;
        boolean nosync = false;
        OptionalInt rebuild = OptionalInt.empty();
        OptionalLong region = OptionalLong.empty();
        for (int i = 1; i < params.size(); i++) {
            String key = params.get(i);
            switch (key) {
                case "nosync" -> nosync = true;
                case "sync" -> nosync = false;
                case "rebuild", "region_size" -> {
                    if (i + 1 >= params.size()) {
                        throw refused("raid", "Wrong number of raid parameters given");
                    }
                    long value = number(params.get(++i), "raid", "Bad numerical argument given in raid params");
                    if (key.equals("region_size")) {
                        region = OptionalLong.of(value);
                    } else if (value >= n || rebuild.isPresent()) {
                        throw refused("raid", "Invalid rebuild index given");
                    } else {
                        rebuild = OptionalInt.of((int) value);
                    }
                }
                default -> throw refused("raid", "Unable to parse RAID parameter: " + key);
            }
        }
        List<DmTarget.Raid1.Side> sides = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            sides.add(new DmTarget.Raid1.Side(optionalDevice(devWords.get(2 * i)), optionalDevice(devWords.get(2 * i + 1))));
        }
        return new DmTarget.Raid1(region, nosync, rebuild, sides);
    }

    private static DmTarget thinPool(List<String> a) {
        if (a.size() < 4) {
            throw refused("thin-pool", "Invalid argument count");
        }
        long block = number(a.get(2), "thin-pool", "Invalid block size");
        long lowWater = number(a.get(3), "thin-pool", "Invalid low water mark");
        long nFeatures = a.size() > 4 ? numberOr(a.get(4), -1) : 0;
        if (nFeatures < 0 || nFeatures > 4 || a.size() != 5 + nFeatures && !(a.size() == 4 && nFeatures == 0)) {
            throw refused("thin-pool", "Invalid number of pool feature arguments");
        }
        boolean skipZeroing = false;
        boolean errorIfNoSpace = false;
        for (String f : a.subList(Math.min(5, a.size()), a.size())) {
            switch (f) {
                case "skip_block_zeroing" -> skipZeroing = true;
                case "error_if_no_space" -> errorIfNoSpace = true;
                case "ignore_discard", "no_discard_passdown", "read_only" ->
                        throw new Refused(Refused.By.MODEL, "thin-pool", "feature " + f + " is not modelled");
                default -> throw refused("thin-pool", "Unrecognised pool feature requested");
            }
        }
        return new DmTarget.ThinPool(device(a.get(0)), device(a.get(1)), block, lowWater, skipZeroing, errorIfNoSpace);
    }

    private static DmTarget thin(List<String> a) {
        if (a.size() == 3) {
            throw new Refused(Refused.By.MODEL, "thin", "external origins are not modelled");
        }
        if (a.size() != 2) {
            throw refused("thin", "Invalid argument count");
        }
        return new DmTarget.Thin(device(a.get(0)), number(a.get(1), "thin", "Invalid device id"));
    }

    /**
     * clone_ctr's reading: {@code <metadata> <destination> <source> <region size> [<#features>
     * <feature>* [<#core args> <key> <value>]*]}. Keywords are case-insensitive, as dm-clone's strcasecmp.
     */
    private static DmTarget clone(List<String> a) {
        if (a.size() < 4) {
            throw refused("clone", "Invalid number of arguments");
        }
        long region = number(a.get(3), "clone", "Invalid region size", 0xffffffffL);
        int at = 4;
        boolean noHydration = false;
        boolean noDiscardPassdown = false;
        if (at < a.size()) {
            long n = numberOr(a.get(at++), -1);
            if (n < 0 || n > 2 || at + n > a.size()) {
                throw refused("clone", "Invalid number of feature arguments");
            }
            for (int i = 0; i < n; i++) {
                String f = a.get(at++).toLowerCase(Locale.ROOT);
                switch (f) {
                    case "no_hydration" -> noHydration = true;
                    case "no_discard_passdown" -> noDiscardPassdown = true;
                    default -> throw refused("clone", "Invalid feature argument");
                }
            }
        }
        OptionalLong threshold = OptionalLong.empty();
        OptionalLong batch = OptionalLong.empty();
        if (at < a.size()) {
            long n = numberOr(a.get(at++), -1);
            if (n < 0 || n > 4 || at + n > a.size()) {
                throw refused("clone", "Invalid number of core arguments");
            }
            if (n % 2 != 0) {
                throw refused("clone", "Number of core arguments must be even");
            }
            for (int i = 0; i < n; i += 2) {
                String key = a.get(at++).toLowerCase(Locale.ROOT);
                String value = a.get(at++);
                switch (key) {
                    case "hydration_threshold" -> threshold = OptionalLong.of(
                            number(value, "clone", "Invalid value for argument `hydration_threshold'", 0xffffffffL));
                    case "hydration_batch_size" -> batch = OptionalLong.of(
                            number(value, "clone", "Invalid value for argument `hydration_batch_size'", 0xffffffffL));
                    default -> throw refused("clone", "Invalid core argument");
                }
            }
        }
        if (at < a.size()) {
            throw new Refused(Refused.By.MODEL, "clone", "words after the core arguments are not modelled");
        }
        return new DmTarget.Clone(device(a.get(0)), device(a.get(1)), device(a.get(2)), region, noHydration, noDiscardPassdown,
                threshold, batch);
    }

    /** A device as a table names it: major:minor as the kernel prints it, or a path. */
    private static DeviceRef device(String word) {
        return MAJOR_MINOR.matcher(word).matches() ? new DeviceRef.Raw(word) : new DeviceRef.Disk(word);
    }

    private static Optional<DeviceRef> optionalDevice(String word) {
        return word.equals("-") ? Optional.empty() : Optional.of(device(word));
    }

    private static Refused refused(String type, String reason) {
        return new Refused(Refused.By.TARGET, type, reason);
    }

    private static long number(String word, String type, String reason) {
        return number(word, type, reason, Long.MAX_VALUE);
    }

    private static long number(String word, String type, String reason, long max) {
        long v = numberOr(word, -1);
        if (v < 0 || v > max) {
            throw refused(type, reason);
        }
        return v;
    }

    private static long numberOr(String word, long otherwise) {
        return DECIMAL.matcher(word).matches() ? Long.parseLong(word) : otherwise;
    }
}
