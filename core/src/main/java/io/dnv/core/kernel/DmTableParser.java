package io.dnv.core.kernel;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Reads a table as `dmsetup table` prints it back (devices as major:minor, dm-raid words in
 * the kernel's order) into typed targets, so the agent compares what runs with what it wants
 * by meaning, not by string. Unknown target types are refused: the agent then treats the
 * device as different from what it wants.
 */
public final class DmTableParser {

    private DmTableParser() {}

    public static DmTable parse(String text) {
        List<DmLine> lines = new ArrayList<>();
        for (String raw : text.split("\n")) {
            String line = raw.trim();
            if (!line.isEmpty()) {
                lines.add(line(line));
            }
        }
        return new DmTable(lines);
    }

    private static DmLine line(String line) {
        Words w = new Words(line);
        long start = w.number();
        long length = w.number();
        String type = w.next();
        DmTarget target = switch (type) {
            case "linear" -> new DmTarget.Linear(w.device(), w.number());
            case "error" -> new DmTarget.Error();
            case "striped" -> striped(w);
            case "raid" -> raid(w);
            case "thin-pool" -> thinPool(w);
            case "thin" -> new DmTarget.Thin(w.device(), w.number());
            default -> throw new IllegalArgumentException("unknown target type '" + type + "' in: " + line);
        };
        if (w.hasNext()) {
            throw new IllegalArgumentException("unexpected words after " + type + " target in: " + line);
        }
        return new DmLine(start, length, target);
    }

    private static DmTarget striped(Words w) {
        int n = (int) w.number();
        int chunk = (int) w.number();
        List<DeviceRef> devs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            devs.add(w.device());
            if (w.number() != 0) {
                throw new IllegalArgumentException("striped with a device offset is not a layout dnv writes");
            }
        }
        return new DmTarget.Striped(chunk, devs);
    }

    private static DmTarget raid(Words w) {
        String level = w.next();
        int params = (int) w.number();
        int chunk = (int) w.number();
        boolean nosync = false;
        OptionalInt rebuild = OptionalInt.empty();
        long region = 0;
        for (int i = 1; i < params; i++) {
            String word = w.next();
            switch (word) {
                case "nosync" -> nosync = true;
                case "sync" -> { }
                case "rebuild" -> {
                    rebuild = OptionalInt.of((int) w.number());
                    i++;
                }
                case "region_size" -> {
                    region = w.number();
                    i++;
                }
                default -> throw new IllegalArgumentException("raid option '" + word + "' is not one dnv writes");
            }
        }
        int devices = (int) w.number();
        if (level.equals("raid0")) {
            List<DeviceRef> legs = new ArrayList<>();
            for (int i = 0; i < devices; i++) {
                w.next(); // raid0 has no metadata devices: "-"
                legs.add(w.device());
            }
            return new DmTarget.Raid0(chunk, legs);
        }
        if (!level.equals("raid1")) {
            throw new IllegalArgumentException("raid level " + level + " is not one dnv writes");
        }
        List<DmTarget.Raid1.Side> sides = new ArrayList<>();
        for (int i = 0; i < devices; i++) {
            sides.add(new DmTarget.Raid1.Side(w.optionalDevice(), w.optionalDevice()));
        }
        return new DmTarget.Raid1(region, nosync, rebuild, sides);
    }

    private static DmTarget thinPool(Words w) {
        DeviceRef meta = w.device();
        DeviceRef data = w.device();
        long block = w.number();
        long lowWater = w.number();
        int features = (int) w.number();
        boolean skipZeroing = false;
        boolean errorIfNoSpace = false;
        for (int i = 0; i < features; i++) {
            String f = w.next();
            switch (f) {
                case "skip_block_zeroing" -> skipZeroing = true;
                case "error_if_no_space" -> errorIfNoSpace = true;
                default -> throw new IllegalArgumentException("thin-pool feature '" + f + "' is not one dnv writes");
            }
        }
        return new DmTarget.ThinPool(meta, data, block, lowWater, skipZeroing, errorIfNoSpace);
    }

    private static final class Words {
        private final String line;
        private final String[] words;
        private int next;

        Words(String line) {
            this.line = line;
            this.words = line.split("\\s+");
        }

        boolean hasNext() {
            return next < words.length;
        }

        String next() {
            if (!hasNext()) {
                throw new IllegalArgumentException("table line ends too early: " + line);
            }
            return words[next++];
        }

        long number() {
            String s = next();
            try {
                return Long.parseLong(s);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + s + "' is not a number in: " + line);
            }
        }

        DeviceRef device() {
            return new DeviceRef.Raw(next());
        }

        Optional<DeviceRef> optionalDevice() {
            String s = next();
            return s.equals("-") ? Optional.empty() : Optional.of(new DeviceRef.Raw(s));
        }
    }
}
