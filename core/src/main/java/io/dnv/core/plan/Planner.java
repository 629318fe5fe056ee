package io.dnv.core.plan;

import io.dnv.core.kernel.AnaGroups;
import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.DeviceRef;
import io.dnv.core.kernel.DmDevice;
import io.dnv.core.kernel.DmLine;
import io.dnv.core.kernel.DmTable;
import io.dnv.core.kernel.DmTarget;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.Nqn;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.NvmetNamespace;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.kernel.NvmetSubsystem;
import io.dnv.core.kernel.Preparation;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.Snapshot;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.UUID;

/**
 * Turns one volume (spec, placement, attached hosts) into the kernel objects each node must
 * hold, layer by layer as docs/architecture.md draws it. Pure: the same input gives the same
 * objects, so an agent can be handed them again at any time.
 */
public final class Planner {

    private static final long RAID_META_BYTES = VolumeLayout.RAID_META_SECTORS * VolumeLayout.SECTOR;
    private static final int THIN_SUPERBLOCK_BYTES = 4096;

    private final String volumeId;
    private final VolumeSpec spec;
    private final VolumeLayout layout;
    private final Placement placement;
    private final List<String> attachments;
    private final Map<String, NodeEndpoints> nodes;
    private final List<SnapshotExport> snapshotExports;
    private final Optional<CloneSource> cloneSource;
    private final Map<String, NodeObjects.Builder> out = new LinkedHashMap<>();

    private Planner(String volumeId, VolumeSpec spec, VolumeLayout layout, Placement placement, List<String> attachments,
                    Map<String, NodeEndpoints> nodes, List<SnapshotExport> snapshotExports, Optional<CloneSource> cloneSource) {
        this.volumeId = volumeId;
        this.spec = spec;
        this.layout = layout;
        this.placement = placement;
        this.attachments = List.copyOf(attachments);
        this.nodes = nodes;
        this.snapshotExports = List.copyOf(snapshotExports);
        this.cloneSource = cloneSource;
    }

    public static Map<String, NodeObjects> plan(String volumeId, VolumeSpec spec, VolumeLayout layout, Placement placement,
                                                List<String> attachments, Map<String, NodeEndpoints> nodes) {
        return plan(volumeId, spec, layout, placement, attachments, nodes, List.of());
    }

    /** The same, with snapshots of the volume exported to the nodes each names. */
    public static Map<String, NodeObjects> plan(String volumeId, VolumeSpec spec, VolumeLayout layout, Placement placement,
                                                List<String> attachments, Map<String, NodeEndpoints> nodes,
                                                List<SnapshotExport> snapshotExports) {
        return plan(volumeId, spec, layout, placement, attachments, nodes, snapshotExports, Optional.empty());
    }

    /** The same, for a clone hydrating from {@code cloneSource} (docs/clone.md). */
    public static Map<String, NodeObjects> plan(String volumeId, VolumeSpec spec, VolumeLayout layout, Placement placement,
                                                List<String> attachments, Map<String, NodeEndpoints> nodes,
                                                List<SnapshotExport> snapshotExports, Optional<CloneSource> cloneSource) {
        Planner p = new Planner(volumeId, spec, layout, placement, attachments, nodes, snapshotExports, cloneSource);
        p.validate();
        for (int leg = 0; leg < spec.legCount(); leg++) {
            p.leg(leg);
        }
        for (int slot = 0; slot < placement.controllers().size(); slot++) {
            p.controller(slot);
        }
        Map<String, NodeObjects> result = new LinkedHashMap<>();
        p.out.forEach((node, b) -> result.put(node, b.build()));
        return result;
    }

    /** LDs on the disk nodes, then the leg's device stack on its owner, then its export to the other actives. */
    private void leg(int leg) {
        Placement.Controller owner = placement.owner(leg, spec);
        if (owner.role() == Placement.Role.FENCED) {
            fencedLeg(leg, owner);
            return;
        }
        String cn = owner.nodeId();
        NodeObjects.Builder cnObjects = objects(cn);
        List<Placement.Group> groups = placement.legs().get(leg).groups();
        List<DmLine> metaSlices = new ArrayList<>();
        List<DmLine> dataSlices = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            Placement.Group group = groups.get(g);
            VolumeLayout.GroupSize size = group.size(layout);
            List<DmTarget.Raid1.Side> sides = new ArrayList<>();
            List<Preparation> zeroMeta = new ArrayList<>();
            for (int s = 0; s < group.sides().size(); s++) {
                if (owner.assemblesWithout(group.sides().get(s).nodeId(), placement.lost())) {
                    // Its disk node failed before this owner took the leg over: md assembles the
                    // group without it (`- -`, dead from the start).
                    sides.add(DmTarget.Raid1.Side.missing());
                    continue;
                }
                DeviceRef ld = logicalDisk(leg, g, s, group.sides().get(s), size, Optional.of(cn));
                DmDevice meta = slice(Names.raidMeta(cn, volumeId, leg, g, s), VolumeLayout.RAID_META_SECTORS, ld, 0);
                DmDevice data = slice(Names.raidData(cn, volumeId, leg, g, s), size.raidDataSectors(), ld, VolumeLayout.RAID_META_SECTORS);
                cnObjects.dm.add(meta);
                cnObjects.dm.add(data);
                sides.add(DmTarget.Raid1.Side.of(meta.ref(), data.ref()));
                zeroMeta.add(new Preparation.ZeroRange(meta.ref(), 0, RAID_META_BYTES));
            }
            // No region size: the kernel's default (docs/architecture.md, "Leg layout").
            DmDevice raid = new DmDevice(Names.raid1(cn, volumeId, leg, g),
                    DmTable.of(size.raidDataSectors(),
                            new DmTarget.Raid1(OptionalLong.empty(), group.brandNew(), OptionalInt.empty(), sides)),
                    group.brandNew() ? zeroMeta : List.of());
            cnObjects.dm.add(raid);
            // A group an extend added joins the pool only once it is created: a host may write
            // into the pool at once, and a brand-new group may still be zeroed and made nosync.
            if (g == 0 || !group.brandNew()) {
                metaSlices.add(new DmLine(end(metaSlices), size.thinMetaSectors(), new DmTarget.Linear(raid.ref(), 0)));
                dataSlices.add(new DmLine(end(dataSlices), size.thinDataSectors(), new DmTarget.Linear(raid.ref(), size.thinMetaSectors())));
            }
        }
        boolean poolBrandNew = groups.get(0).brandNew();
        DmDevice thinMeta = new DmDevice(Names.thinMeta(cn, volumeId, leg), new DmTable(metaSlices));
        DmDevice thinData = new DmDevice(Names.thinData(cn, volumeId, leg), new DmTable(dataSlices));
        long dataBlocks = thinData.table().sizeSectors() / VolumeLayout.THIN_BLOCK_SECTORS;
        // error_if_no_space: a write the pool has no block for fails at once instead of waiting up to
        // dm-thin's 60 s no_space_timeout, longer than the hosts' I/O timeout (docs/kernel-rules.md).
        DmDevice pool = new DmDevice(Names.pool(cn, volumeId, leg),
                DmTable.of(thinData.table().sizeSectors(), new DmTarget.ThinPool(thinMeta.ref(), thinData.ref(),
                        VolumeLayout.THIN_BLOCK_SECTORS, Math.max(1, dataBlocks / 10), true, true)),
                poolBrandNew ? List.of(new Preparation.ZeroRange(thinMeta.ref(), 0, THIN_SUPERBLOCK_BYTES)) : List.of());
        DmDevice thin = new DmDevice(Names.thin(cn, volumeId, leg),
                DmTable.of(layout.legSectors(), new DmTarget.Thin(pool.ref(), 0)),
                poolBrandNew ? List.of(new Preparation.PoolMessage(pool.name(), "create_thin 0")) : List.of());
        cnObjects.dm.addAll(List.of(thinMeta, thinData, pool, thin));
        if (spec.activeControllers() > 1) {
            exportLeg(leg, owner, thin);
        }
        for (SnapshotExport e : snapshotExports) {
            // A thin of the snapshot's id beside the origin: the pool serves both, and the
            // snapshot's blocks stay shared until the origin overwrites them.
            DmDevice snap = new DmDevice(Names.snapshotLeg(cn, volumeId, e.thinId(), leg),
                    DmTable.of(e.legSectors(), new DmTarget.Thin(pool.ref(), e.thinId())));
            cnObjects.dm.add(snap);
            export(owner, snap, Names.snapshotLegNqn(volumeId, e.thinId(), leg), e.importers());
        }
    }

    private static long end(List<DmLine> lines) {
        return lines.isEmpty() ? 0 : lines.get(lines.size() - 1).start() + lines.get(lines.size() - 1).length();
    }

    /**
     * A leg whose owner's node failed: its LDs stay on their disk nodes with no host allowed (the
     * agents there fence the owner), nothing is built on the owner, and the other actives keep
     * their import of the leg: their held writes resume once the successor exports it, a new path
     * of the same namespace.
     */
    private void fencedLeg(int leg, Placement.Controller owner) {
        List<Placement.Group> groups = placement.legs().get(leg).groups();
        for (int g = 0; g < groups.size(); g++) {
            VolumeLayout.GroupSize size = groups.get(g).size(layout);
            for (int s = 0; s < groups.get(g).sides().size(); s++) {
                if (!placement.lost().contains(groups.get(g).sides().get(s).nodeId())) {
                    logicalDisk(leg, g, s, groups.get(g).sides().get(s), size, Optional.empty());
                }
            }
        }
        if (spec.activeControllers() > 1) {
            for (Placement.Controller other : placement.actives()) {
                objects(other.nodeId()).connections.add(connection(node(owner.nodeId()), legPort(owner.nodeId()),
                        Names.legNqn(volumeId, leg), other.nodeId(), ConnectTimeouts.PEER_LEG));
            }
        }
        for (SnapshotExport e : snapshotExports) {
            for (String importer : e.importers()) {
                objects(importer).connections.add(connection(node(owner.nodeId()), legPort(owner.nodeId()),
                        Names.snapshotLegNqn(volumeId, e.thinId(), leg), importer, ConnectTimeouts.PEER_LEG));
            }
        }
    }

    /**
     * A slice of a disk node's disk, exported to the controller node that owns the leg ({@code cn};
     * empty: the owner is fenced) and to the prepared standby (unless the disk node failed), with
     * their imports of it, and the standby's raid1 metadata and data slices over it.
     */
    private DeviceRef logicalDisk(int leg, int group, int side, Placement.Extent extent, VolumeLayout.GroupSize size,
                                  Optional<String> cn) {
        NodeEndpoints dn = node(extent.nodeId());
        String diskPath = dn.diskPath().orElseThrow(() -> new IllegalArgumentException(dn.nodeId() + " has no disk"));
        NvmetPort port = dn.diskPort().orElseThrow(() -> new IllegalArgumentException(dn.nodeId() + " has no disk port"));
        NodeObjects.Builder dnObjects = objects(dn.nodeId());
        DmDevice ld = new DmDevice(Names.ld(dn.nodeId(), volumeId, leg, group, side),
                DmTable.of(size.ldSectors(), new DmTarget.Linear(new DeviceRef.Disk(diskPath), extent.startSector())));
        dnObjects.dm.add(ld);
        String nqn = Names.ldNqn(volumeId, leg, group, side, dn.nodeId());
        UUID uuid = Names.namespaceUuid(nqn);
        DeviceRef imported = new DeviceRef.Namespace(uuid);
        List<String> importers = new ArrayList<>();
        cn.ifPresent(importers::add);
        // Nothing is prepared over a failed node's disk: a promotion assembles without every side
        // lost by then, and a connect to a dead node holds all of the standby's connects for its SYN
        // timeout. Its owner keeps the import of a side it runs; the side comes back with the node.
        Optional<String> standby = preparedStandby().filter(sb -> !importers.contains(sb) && !placement.lost().contains(dn.nodeId()));
        standby.ifPresent(sb -> {
            importers.add(sb);
            objects(sb).dm.add(slice(Names.raidMeta(sb, volumeId, leg, group, side), VolumeLayout.RAID_META_SECTORS, imported, 0));
            objects(sb).dm.add(slice(Names.raidData(sb, volumeId, leg, group, side), size.raidDataSectors(), imported,
                    VolumeLayout.RAID_META_SECTORS));
        });
        CntlidRanges.Range ids = CntlidRanges.ld();
        dnObjects.subsystems.add(new NvmetSubsystem(nqn, importers.stream().map(Names::hostNqn).toList(), ids.min(), ids.max(),
                Names.serial(nqn), List.of(new NvmetNamespace(1, ld.ref(), uuid, Names.nguid(uuid), AnaGroups.DEFAULT)), List.of(port.id())));
        importers.forEach(n -> objects(n).connections.add(connection(dn, port, nqn, n, ConnectTimeouts.DISK)));
        return imported;
    }

    /** raid1 metadata or data of one side: a linear slice of the side's LD. */
    private static DmDevice slice(String name, long sectors, DeviceRef ld, long offset) {
        return new DmDevice(name, DmTable.of(sectors, new DmTarget.Linear(ld, offset)));
    }

    /**
     * The standby a failure of an active promotes first (docs/failover.md, "Failover at scale"):
     * it imports every LD of the volume and holds the raid1 slices over them ahead of time, so a
     * promotion connects nothing and waits for no disk node. Only what does no I/O is prepared:
     * the raid1 groups, pools and thins would write their metadata while the active does.
     */
    private Optional<String> preparedStandby() {
        return placement.controllers().stream().filter(c -> c.role() == Placement.Role.STANDBY).map(Placement.Controller::nodeId)
                .findFirst();
    }

    /** One export per leg, under an NQN that does not name its owner, so a new owner is a new path. */
    private void exportLeg(int leg, Placement.Controller owner, DmDevice thin) {
        DmDevice legExport = new DmDevice(Names.legExport(owner.nodeId(), volumeId, leg),
                DmTable.of(layout.legSectors(), new DmTarget.Linear(thin.ref(), 0)));
        objects(owner.nodeId()).dm.add(legExport);
        List<String> others = placement.actives().stream().filter(other -> other != owner).map(Placement.Controller::nodeId).toList();
        export(owner, legExport, Names.legNqn(volumeId, leg), others);
    }

    /**
     * {@code device} of a leg's owner exported on its leg port under {@code nqn}, which names no
     * owner, and imported by each of {@code importers}. While a promotion replaces a failed owner,
     * the importers keep their path to it until the successor's is live everywhere: a namespace
     * whose last path went would take down what sits on it. The cntlids come from the owner's
     * slot's leg range, so the successor's export never repeats one the importers hold.
     */
    private void export(Placement.Controller owner, DmDevice device, String nqn, List<String> importers) {
        NodeEndpoints cn = node(owner.nodeId());
        NvmetPort port = legPort(owner.nodeId());
        UUID uuid = Names.namespaceUuid(nqn);
        int slot = placement.controllers().indexOf(owner);
        for (String importer : importers) {
            objects(importer).connections.add(connection(cn, port, nqn, importer, ConnectTimeouts.PEER_LEG));
            if (owner.replacing() != null) {
                objects(importer).connections.add(connection(node(owner.replacing()), legPort(owner.replacing()),
                        nqn, importer, ConnectTimeouts.PEER_LEG));
            }
        }
        CntlidRanges.Range ids = CntlidRanges.leg(owner.idSlot(slot));
        objects(cn.nodeId()).subsystems.add(new NvmetSubsystem(nqn, importers.stream().map(Names::hostNqn).toList(), ids.min(), ids.max(),
                Names.serial(nqn), List.of(new NvmetNamespace(1, device.ref(), uuid, Names.nguid(uuid), AnaGroups.DEFAULT)),
                List.of(port.id())));
    }

    /** The volume device (stripe on an active, error on a standby) exported to the attached hosts. */
    private void controller(int slot) {
        Placement.Controller c = placement.controllers().get(slot);
        if (c.role() == Placement.Role.FENCED) {
            return;   // its node failed: nothing of the volume is wanted there until it is replaced
        }
        String n = c.nodeId();
        NodeObjects.Builder objects = objects(n);
        DmTable table;
        if (c.role() == Placement.Role.ACTIVE && slot == 0 && cloneSource.isPresent()) {
            table = hydrating(c, cloneSource.get());
        } else if (c.role() == Placement.Role.ACTIVE) {
            table = DmTable.of(layout.stripeSectors(), stripe(c));
        } else {
            // The same dm name the stripe will take: promotion is a table reload.
            table = DmTable.of(layout.stripeSectors(), new DmTarget.Error());
        }
        DmDevice volume = new DmDevice(Names.volume(n, volumeId), table);
        objects.dm.add(volume);
        String nqn = Names.volumeNqn(volumeId);
        UUID uuid = Names.namespaceUuid(nqn);
        node(n).port(c.exportPortId());
        CntlidRanges.Range ids = CntlidRanges.volume(c.idSlot(slot));
        objects.subsystems.add(new NvmetSubsystem(nqn, attachments, ids.min(), ids.max(),
                Names.serial(nqn), List.of(new NvmetNamespace(1, volume.ref(), uuid, Names.nguid(uuid), c.anaGroup())),
                List.of(c.exportPortId())));
        // While a clone hydrates only its first active reads the source: the others' group is the
        // hydrating domain's, inaccessible until the swap (AnaGroups.hydrating).
        boolean serves = c.role() == Placement.Role.ACTIVE && (slot == 0 || cloneSource.isEmpty());
        objects.ana.add(new NodeObjects.AnaGroup(c.exportPortId(), c.anaGroup(), serves ? AnaState.OPTIMIZED : AnaState.INACCESSIBLE));
    }

    /** An active's stripe: its own legs' thins and the other actives' leg exports, in leg order. */
    private DmTarget stripe(Placement.Controller c) {
        List<DeviceRef> legs = new ArrayList<>();
        for (int leg = 0; leg < spec.legCount(); leg++) {
            legs.add(placement.owner(leg, spec) == c
                    ? new DeviceRef.Dm(Names.thin(c.nodeId(), volumeId, leg))
                    : new DeviceRef.Namespace(Names.namespaceUuid(Names.legNqn(volumeId, leg))));
        }
        return new DmTarget.Raid0(VolumeLayout.STRIPE_CHUNK_SECTORS, legs);
    }

    /**
     * The first active of a clone that hydrates (picture 150): the source snapshot's imported legs
     * striped as the source volume stripes them, the volume's own stripe as dm-clone's
     * destination, and its metadata on a thin in the first leg's pool (mirrored, and taken over
     * with the leg by a successor). The volume device is the clone over the source's size, and
     * past it, on a clone larger than its source, the stripe itself. Swapping it for the plain
     * stripe once hydrated is a reload of the same dm name: the export does not change.
     */
    private DmTable hydrating(Placement.Controller c, CloneSource src) {
        String n = c.nodeId();
        NodeObjects.Builder objects = objects(n);
        List<DeviceRef> sourceLegs = new ArrayList<>();
        for (int leg = 0; leg < src.legCount(); leg++) {
            sourceLegs.add(new DeviceRef.Namespace(Names.namespaceUuid(Names.snapshotLegNqn(src.volumeId(), src.thinId(), leg))));
        }
        DmDevice source = new DmDevice(Names.cloneSource(n, volumeId),
                DmTable.of(src.sectors(), new DmTarget.Raid0(VolumeLayout.STRIPE_CHUNK_SECTORS, sourceLegs)));
        DmDevice destination = new DmDevice(Names.cloneDestination(n, volumeId), DmTable.of(layout.stripeSectors(), stripe(c)));
        String pool = Names.pool(n, volumeId, 0);
        DmDevice metadata = new DmDevice(Names.cloneMetadata(n, volumeId),
                DmTable.of(src.metadataSectors(), new DmTarget.Thin(new DeviceRef.Dm(pool), Snapshot.CLONE_METADATA_THIN_ID)),
                List.of(new Preparation.PoolMessage(pool, "create_thin " + Snapshot.CLONE_METADATA_THIN_ID)));
        objects.dm.addAll(List.of(source, destination, metadata));
        List<DmLine> lines = new ArrayList<>();
        lines.add(new DmLine(0, src.sectors(), new DmTarget.Clone(metadata.ref(), destination.ref(), source.ref(),
                CloneSource.REGION_SECTORS, false, false, OptionalLong.empty(), OptionalLong.empty())));
        if (layout.stripeSectors() > src.sectors()) {
            lines.add(new DmLine(src.sectors(), layout.stripeSectors() - src.sectors(), new DmTarget.Linear(destination.ref(),
                    src.sectors())));
        }
        return new DmTable(lines);
    }

    private NvmetPort legPort(String nodeId) {
        return node(nodeId).legPort().orElseThrow(() -> new IllegalArgumentException(nodeId + " has no leg port"));
    }

    /** {@code hostNode}'s import of {@code nqn} from {@code target}'s {@code port}, as that node's host NQN. */
    static NvmeConnection connection(NodeEndpoints target, NvmetPort port, String nqn, String hostNode, ConnectTimeouts timeouts) {
        String hostNqn = Names.hostNqn(hostNode);
        return new NvmeConnection(port.transport(), target.address(), port.serviceId(), nqn, hostNqn,
                Names.hostId(hostNqn), timeouts);
    }

    private NodeObjects.Builder objects(String nodeId) {
        return out.computeIfAbsent(nodeId, k -> new NodeObjects.Builder());
    }

    private NodeEndpoints node(String nodeId) {
        NodeEndpoints n = nodes.get(nodeId);
        if (n == null) {
            throw new IllegalArgumentException("placement names unknown node " + nodeId);
        }
        return n;
    }

    private void validate() {
        if (!Names.isVolumeId(volumeId)) {
            throw new IllegalArgumentException("volume id must match " + Names.VOLUME_ID_PATTERN + ": " + volumeId);
        }
        // Each becomes a configfs directory on every controller (hosts/<nqn>, allowed_hosts/<nqn>).
        attachments.forEach(Nqn::require);
        List<Placement.Controller> cs = placement.controllers();
        // A failover may leave fewer standbys than the spec wants until one is placed, and keeps
        // the controllers it fenced until it ends; never fewer active slots.
        long serving = cs.stream().filter(c -> c.role() != Placement.Role.FENCED).count();
        if (serving > spec.controllerCount() || cs.size() < spec.activeControllers()) {
            throw new IllegalArgumentException("placement has " + serving + " controllers (" + cs.size() + " with fenced ones), spec wants "
                    + spec.controllerCount());
        }
        Set<String> controllerNodes = new HashSet<>();
        Set<Integer> idSlots = new HashSet<>();
        for (int slot = 0; slot < cs.size(); slot++) {
            Placement.Role expected = slot < spec.activeControllers() ? Placement.Role.ACTIVE : Placement.Role.STANDBY;
            if (cs.get(slot).role() != expected && cs.get(slot).role() != Placement.Role.FENCED) {
                throw new IllegalArgumentException("controller slot " + slot + " must be " + expected);
            }
            if (!idSlots.add(cs.get(slot).idSlot(slot))) {
                throw new IllegalArgumentException("two controllers with cntlid slot " + cs.get(slot).idSlot(slot));
            }
            if (!controllerNodes.add(cs.get(slot).nodeId())) {
                throw new IllegalArgumentException("two controllers on node " + cs.get(slot).nodeId());
            }
            // Its ANA state is its failover domain's, so never the default group every namespace starts in;
            // and never 128, which Debian's 6.1 stores as 0 (AnaGroups).
            if (!AnaGroups.isUsable(cs.get(slot).anaGroup())) {
                throw new IllegalArgumentException("controller ANA group must be " + AnaGroups.FIRST_CREATED + ".."
                        + AnaGroups.LAST_USABLE + ": " + cs.get(slot).anaGroup());
            }
        }
        cloneSource.ifPresent(src -> {
            if (src.volumeId().equals(volumeId) || src.sectors() > layout.stripeSectors()) {
                throw new IllegalArgumentException("a clone is of another volume and at least its size: " + src + " for " + volumeId
                        + " of " + layout.stripeSectors() + " sectors");
            }
        });
        Set<Integer> exported = new HashSet<>();
        for (SnapshotExport e : snapshotExports) {
            if (!exported.add(e.thinId())) {
                throw new IllegalArgumentException("snapshot " + e.thinId() + " exported twice");
            }
            e.importers().forEach(n -> {
                if (!Names.isNodeId(n)) {
                    throw new IllegalArgumentException("snapshot " + e.thinId() + " exported to " + n + ", not a node id");
                }
            });
        }
        if (placement.legs().size() != spec.legCount()) {
            throw new IllegalArgumentException("placement has " + placement.legs().size() + " legs, spec wants " + spec.legCount());
        }
        for (Placement.Leg leg : placement.legs()) {
            if (leg.groups().isEmpty()) {
                throw new IllegalArgumentException("a leg needs at least one raid1 group");
            }
            for (Placement.Group g : leg.groups()) {
                if (g.sides().size() != spec.replicas()) {
                    throw new IllegalArgumentException("a group has " + g.sides().size() + " sides, spec wants " + spec.replicas());
                }
                Set<String> dns = new HashSet<>();
                for (Placement.Extent e : g.sides()) {
                    if (!dns.add(e.nodeId())) {
                        throw new IllegalArgumentException("two sides of one raid1 group on node " + e.nodeId());
                    }
                    if (e.lengthSectors() < g.size(layout).ldSectors()) {
                        throw new IllegalArgumentException("extent of " + e.lengthSectors() + " sectors on " + e.nodeId()
                                + " is smaller than an LD (" + g.size(layout).ldSectors() + ")");
                    }
                }
            }
        }
    }
}
