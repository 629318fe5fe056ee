package io.dnv.node.sim.dm;

import io.dnv.core.kernel.DeviceRef;
import io.dnv.core.kernel.DmLine;
import io.dnv.core.kernel.DmTableParser;
import io.dnv.node.sim.block.BlockDevice;
import io.dnv.node.sim.block.BlockDevices;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/** A constructed table (live or inactive): its lines' targets and the devices it holds open. */
final class LoadedTable {

    private record Line(DmLine spec, Target target) {}

    private final List<Line> lines;
    private final Map<DeviceRef, BlockDevices.Entry> devices;
    private final Set<String> held;
    private String rendered;
    /** The last status text and the lines' statuses it was built from (observers may race: one reference). */
    private volatile Status lastStatus;

    private record Status(String[] ofLines, String text) {}

    private LoadedTable(List<Line> lines, Map<DeviceRef, BlockDevices.Entry> devices) {
        this.lines = List.copyOf(lines);
        this.devices = Map.copyOf(devices);
        this.held = devices.values().stream().map(BlockDevices.Entry::path).collect(Collectors.toCollection(LinkedHashSet::new));
    }

    /** dm_table_create up to dm_table_complete: every line parsed and constructed, then the area checks. */
    static LoadedTable build(String text, DmDevice owner, BlockDevices devices, ThinPoolModule thinPool, Kcopyd kcopyd,
                            BitmapDaemon bitmapDaemon, Set<String> targets)
            throws TableError {
        List<DmTableParser.Line> raw = TableRules.split(text);
        TargetFactory factory = new TargetFactory(owner, devices, thinPool, kcopyd, bitmapDaemon);
        List<Line> lines = new ArrayList<>();
        long end = 0;
        for (DmTableParser.Line r : raw) {
            DmLine line = TableRules.line(r, end, targets);
            lines.add(new Line(line, factory.build(line)));
            end = line.start() + line.length();
        }
        factory.checkAreas();
        return new LoadedTable(lines, factory.resolved());
    }

    /** Whether every device the table resolved is still registered as it was. */
    boolean devicesStillThere(BlockDevices registry) {
        return devices.values().stream().allMatch(e -> registry.resolve(e.path()).filter(now -> now.device() == e.device()).isPresent());
    }

    void hold(BlockDevices registry, String holder) {
        held.forEach(p -> registry.open(p, holder));
        lines.forEach(l -> l.target().open());
    }

    void release(BlockDevices registry, String holder) {
        lines.forEach(l -> l.target().close());
        held.forEach(p -> registry.close(p, holder));
    }

    void activate() throws TableError {
        for (Line l : lines) {
            l.target().activate();
        }
    }

    void postsuspend() {
        lines.forEach(l -> l.target().postsuspend());
    }

    void resumed() {
        lines.forEach(l -> l.target().resumed());
    }

    boolean hasPool() {
        return lines.stream().anyMatch(l -> l.target() instanceof ThinPoolTarget);
    }

    long sizeSectors() {
        Line last = lines.get(lines.size() - 1);
        return last.spec().start() + last.spec().length();
    }

    /** `dmsetup table` without the name: devices as major:minor. */
    String table() {
        // The devices a loaded table maps never change, so neither does its text.
        if (rendered == null) {
            rendered = lines.stream().map(l -> l.spec().render(ref -> devices.get(ref).majorMinor())).collect(Collectors.joining("\n"));
        }
        return rendered;
    }

    /** `dmsetup status` without the name. */
    String status() {
        // Every observation of the node asks every device, and most statuses do not change
        // between two (a linear line has none): the text is built again only when a line's is new.
        Status last = lastStatus;
        String[] now = new String[lines.size()];
        boolean same = last != null;
        for (int i = 0; i < now.length; i++) {
            now[i] = lines.get(i).target().status();
            same = same && now[i].equals(last.ofLines()[i]);
        }
        if (same) {
            return last.text();
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < now.length; i++) {
            Line l = lines.get(i);
            if (!out.isEmpty()) {
                out.append('\n');
            }
            out.append(l.spec().start()).append(' ').append(l.spec().length()).append(' ').append(l.spec().target().type());
            if (!now[i].isEmpty()) {
                out.append(' ').append(now[i]);
            }
        }
        lastStatus = new Status(now, out.toString());
        return lastStatus.text();
    }

    String message(long sector, String[] words) throws TableError {
        return lineAt(sector * BlockDevice.SECTOR).target().message(words);
    }

    void read(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        eachLine(offset, length, (target, at, done, n) -> target.read(at, buf, bufOffset + (int) done, (int) n));
    }

    void write(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        eachLine(offset, length, (target, at, done, n) -> target.write(at, buf, bufOffset + (int) done, (int) n));
    }

    void writeZeroes(long offset, long length) throws IOException {
        eachLine(offset, length, (target, at, done, n) -> target.writeZeroes(at, n));
    }

    private interface LinePart {
        /** {@code n} bytes from {@code at} within the line's target, {@code done} bytes into the request. */
        void io(Target target, long at, long done, long n) throws IOException;
    }

    /** Splits a request at line boundaries and hands each line its part. */
    private void eachLine(long offset, long length, LinePart part) throws IOException {
        check(offset, length);
        for (long done = 0; done < length; ) {
            Line l = lineAt(offset + done);
            long lineStart = l.spec().start() * BlockDevice.SECTOR;
            long n = Math.min(length - done, lineStart + l.spec().length() * BlockDevice.SECTOR - offset - done);
            part.io(l.target(), offset + done - lineStart, done, n);
            done += n;
        }
    }

    private void check(long offset, long length) throws IOException {
        if (offset < 0 || length < 0 || offset % BlockDevice.SECTOR != 0 || length % BlockDevice.SECTOR != 0
                || offset + length > sizeSectors() * BlockDevice.SECTOR) {
            throw new IOException("I/O outside the device or not sector aligned: offset " + offset + " length " + length);
        }
    }

    private Line lineAt(long offset) {
        for (Line l : lines) {
            if (offset < (l.spec().start() + l.spec().length()) * BlockDevice.SECTOR) {
                return l;
            }
        }
        return lines.get(lines.size() - 1);
    }
}
