package io.dnv.node.sim.dm;

import io.dnv.core.kernel.DeviceRef;
import io.dnv.core.kernel.DmLine;
import io.dnv.core.kernel.DmTarget;
import io.dnv.node.sim.block.BlockDevice;
import io.dnv.node.sim.block.BlockDevices;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds the targets of one table: looks up each device the way dm_get_device does, then, once
 * every line is built, checks that each line fits on its devices (dm_table_complete's area check).
 */
final class TargetFactory {

    private record Area(BlockDevices.Entry device, long start, long length) {}

    private final DmDevice owner;
    private final BlockDevices devices;
    private final ThinPoolModule thinPool;
    private final Kcopyd kcopyd;
    private final BitmapDaemon bitmapDaemon;
    private final Map<DeviceRef, BlockDevices.Entry> resolved = new LinkedHashMap<>();
    private final List<Area> areas = new ArrayList<>();

    TargetFactory(DmDevice owner, BlockDevices devices, ThinPoolModule thinPool, Kcopyd kcopyd, BitmapDaemon bitmapDaemon) {
        this.bitmapDaemon = bitmapDaemon;
        this.owner = owner;
        this.devices = devices;
        this.thinPool = thinPool;
        this.kcopyd = kcopyd;
    }

    Target build(DmLine line) throws TableError {
        DmTarget t = line.target();
        long len = line.length();
        if (t instanceof DmTarget.Linear l) {
            BlockDevices.Entry dev = resolve(l.device(), "linear", "Device lookup failed");
            areas.add(new Area(dev, l.offset(), len));
            return new LinearTarget(dev.device(), l.offset());
        }
        if (t instanceof DmTarget.Error) {
            return new ErrorTarget();
        }
        if (t instanceof DmTarget.Striped s) {
            List<BlockDevice> legs = legs(s.stripes(), "striped", "Couldn't parse stripe destination", len);
            List<String> numbers = s.stripes().stream().map(r -> resolved.get(r).majorMinor()).toList();
            return StripeTarget.striped(legs, s.chunkSectors(), numbers);
        }
        if (t instanceof DmTarget.Raid0 r) {
            return StripeTarget.raid0(legs(r.legs(), "raid", "RAID device lookup failure", len), r.chunkSectors(), len);
        }
        if (t instanceof DmTarget.Raid1 r) {
            return raid1(r, len);
        }
        if (t instanceof DmTarget.ThinPool p) {
            BlockDevices.Entry meta = resolve(p.metadata(), "thin-pool", "Error opening metadata block device");
            BlockDevices.Entry data = resolve(p.data(), "thin-pool", "Error getting data device");
            areas.add(new Area(data, 0, len));
            return new ThinPoolTarget(owner, p, len, meta.device(), data.device(), thinPool);
        }
        if (t instanceof DmTarget.Clone c) {
            BlockDevices.Entry meta = resolve(c.metadata(), "clone", "Error opening metadata device");
            BlockDevices.Entry dest = resolve(c.destination(), "clone", "Error opening destination device");
            BlockDevices.Entry src = resolve(c.source(), "clone", "Error opening source device");
            return new CloneTarget(c, len, meta.device(), dest.device(), src.device(), kcopyd);
        }
        return thin((DmTarget.Thin) t);
    }

    private List<BlockDevice> legs(List<DeviceRef> refs, String type, String reason, long len) throws TableError {
        List<BlockDevice> legs = new ArrayList<>();
        for (DeviceRef ref : refs) {
            BlockDevices.Entry leg = resolve(ref, type, reason);
            areas.add(new Area(leg, 0, len / refs.size()));
            legs.add(leg.device());
        }
        return legs;
    }

    private Target raid1(DmTarget.Raid1 r, long len) throws TableError {
        List<BlockDevice> meta = new ArrayList<>();
        List<BlockDevice> data = new ArrayList<>();
        for (DmTarget.Raid1.Side side : r.sides()) {
            if (side.meta().isEmpty()) {
                meta.add(null);
                data.add(null);
                continue;
            }
            meta.add(resolve(side.meta().get(), "raid", "RAID device lookup failure").device());
            BlockDevices.Entry d = resolve(side.data().orElseThrow(), "raid", "RAID device lookup failure");
            areas.add(new Area(d, 0, len));
            data.add(d.device());
        }
        return new Raid1Target(r, len, meta, data, kcopyd, bitmapDaemon);
    }

    private Target thin(DmTarget.Thin t) throws TableError {
        BlockDevices.Entry poolDev = resolve(t.pool(), "thin", "Error opening pool device");
        ThinPool pool = poolDev.device() instanceof DmDevice d ? d.pool() : null;
        if (pool == null) {
            throw TableError.target("thin", "Couldn't find pool object");
        }
        if (!pool.exists(t.deviceId())) {
            throw TableError.target(Errno.ENODATA, "thin", "Couldn't open thin internal device");
        }
        return new ThinTarget(pool, t.deviceId());
    }

    /** dm_get_device: a path that names nothing is ENODEV, a major:minor without a device ENXIO. */
    private BlockDevices.Entry resolve(DeviceRef ref, String type, String reason) throws TableError {
        String word = ref instanceof DeviceRef.Raw raw ? raw.majorMinor()
                : ref instanceof DeviceRef.Disk disk ? disk.path()
                : ref instanceof DeviceRef.Dm dm ? dm.path() : null;
        BlockDevices.Entry e = word == null ? null : devices.resolve(word).orElse(null);
        if (e == null) {
            throw TableError.target(ref instanceof DeviceRef.Raw ? Errno.ENXIO : Errno.ENODEV, type, reason);
        }
        // dm_get_device refuses the device the table is for: its I/O would recurse into itself.
        if (e.device() == owner) {
            throw TableError.target(type, reason);
        }
        resolved.put(ref, e);
        return e;
    }

    void checkAreas() throws TableError {
        for (Area a : areas) {
            long size = a.device().device().sizeSectors();
            if (a.start() + a.length() > size) {
                throw TableError.table(kernelName(a.device()) + " too small for target: start=" + a.start()
                        + ", len=" + a.length() + ", dev_size=" + size);
            }
        }
    }

    /** The name the kernel logs for a block device: dm-N for device-mapper, else the /dev name. */
    private static String kernelName(BlockDevices.Entry e) {
        return e.major() == DeviceMapper.MAJOR ? "dm-" + e.minor() : e.path().substring(e.path().lastIndexOf('/') + 1);
    }

    Map<DeviceRef, BlockDevices.Entry> resolved() {
        return resolved;
    }
}
