package io.dnv.core.kernel;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Collectors;

/** A device-mapper table: lines that cover [0, size) without gaps. */
public record DmTable(List<DmLine> lines) {

    public DmTable {
        lines = List.copyOf(lines);
    }

    public static DmTable of(long length, DmTarget target) {
        return new DmTable(List.of(new DmLine(0, length, target)));
    }

    public long sizeSectors() {
        return lines.stream().mapToLong(l -> l.start() + l.length()).max().orElse(0);
    }

    /** The table as dmsetup takes it (one target per line). */
    public String render(Function<DeviceRef, String> device) {
        return lines.stream().map(l -> l.render(device)).collect(Collectors.joining("\n"));
    }

    /** Each device below, once, in table order. An agent asks this of every device it compares, so no streams. */
    public List<DeviceRef> devices() {
        List<DeviceRef> out = new ArrayList<>();
        for (DmLine l : lines) {
            for (DeviceRef d : l.target().devices()) {
                if (!out.contains(d)) {
                    out.add(d);
                }
            }
        }
        return out;
    }

    /** The table once its device exists (see {@link DmTarget#created()}). */
    public DmTable created() {
        List<DmLine> out = new ArrayList<>(lines.size());
        for (DmLine l : lines) {
            out.add(new DmLine(l.start(), l.length(), l.target().created()));
        }
        return new DmTable(out);
    }

    /** Same sectors mapped the same way; creation-time words do not count. */
    public boolean sameMapping(DmTable other) {
        if (other.lines.size() != lines.size()) {
            return false;
        }
        for (int i = 0; i < lines.size(); i++) {
            DmLine a = lines.get(i);
            DmLine b = other.lines.get(i);
            if (a.start() != b.start() || a.length() != b.length() || !a.target().sameMapping(b.target())) {
                return false;
            }
        }
        return true;
    }
}
