package io.dnv.core.volume;

import java.util.List;

/**
 * Where a volume lives: which node runs each controller (slots 0..A-1 active, then the
 * standbys) and which disk extent holds each raid1 side of each group of each leg. Leg i is
 * owned by active controller i / L. Ports and ANA groups are node resources the control plane
 * allocated; the planner never invents them.
 */
public record Placement(List<Controller> controllers, List<Leg> legs, java.util.Set<String> lost) {

    /** {@code lost}: nodes that failed; their raid1 sides are assembled as missing (null in journals from before: none). */
    public Placement {
        controllers = List.copyOf(controllers);
        legs = List.copyOf(legs);
        lost = lost == null ? java.util.Set.of() : java.util.Set.copyOf(lost);
    }

    public Placement(List<Controller> controllers, List<Leg> legs) {
        this(controllers, legs, java.util.Set.of());
    }

    /** The same placement with {@code nodeId}'s disk lost too. */
    public Placement losing(String nodeId) {
        java.util.Set<String> more = new java.util.TreeSet<>(lost);
        more.add(nodeId);
        return new Placement(controllers, legs, more);
    }

    /** FENCED: the controller's node failed; it holds nothing of the volume until a failover replaces it. */
    public enum Role { ACTIVE, STANDBY, FENCED }

    /**
     * A controller: its node, its role, the port its volume export is linked to and its ANA group
     * there. {@code idSlot} picks its exports' cntlid ranges ({@code CntlidRanges}); it stays with
     * the controller when a failover moves it to another slot, since a range cannot change under
     * live connections (null: its slot, as every controller had before failovers).
     */
    public record Controller(String nodeId, Role role, int exportPortId, int anaGroup, Integer idSlot) {

        public Controller(String nodeId, Role role, int exportPortId, int anaGroup) {
            this(nodeId, role, exportPortId, anaGroup, null);
        }

        public int idSlot(int slot) {
            return idSlot == null ? slot : idSlot;
        }

        public Controller as(Role newRole, int newAnaGroup, int slotNow) {
            return new Controller(nodeId, newRole, exportPortId, newAnaGroup, idSlot(slotNow));
        }
    }

    public record Leg(List<Group> groups) {
        public Leg {
            groups = List.copyOf(groups);
        }
    }

    /**
     * One raid1 group of a leg. {@code brandNew} holds until the control plane has persisted
     * that the group was created: until then its metadata may be zeroed and raid1 told nosync.
     * {@code thinMetaSectors} and {@code thinDataSectors} are its slices of the leg's pool; 0 (a
     * create's group, and every group of journals from before extends) means the first group of
     * the volume's spec ({@link VolumeLayout#firstGroup()}). An extend records every group's
     * sizes before the spec changes.
     */
    public record Group(boolean brandNew, List<Extent> sides, long thinMetaSectors, long thinDataSectors) {
        public Group {
            sides = List.copyOf(sides);
        }

        public static Group placed(List<Extent> sides) {
            return new Group(true, sides, 0, 0);
        }

        public VolumeLayout.GroupSize size(VolumeLayout layout) {
            return thinDataSectors == 0 ? layout.firstGroup() : new VolumeLayout.GroupSize(thinMetaSectors, thinDataSectors);
        }

        public Group sized(VolumeLayout.GroupSize size) {
            return new Group(brandNew, sides, size.thinMetaSectors(), size.thinDataSectors());
        }

        public Group created() {
            return new Group(false, sides, thinMetaSectors, thinDataSectors);
        }
    }

    /** A slice of a disk node's physical disk, in sectors. */
    public record Extent(String nodeId, long startSector, long lengthSectors) {}

    public Controller owner(int leg, VolumeSpec spec) {
        return controllers.get(leg / spec.legsPerController());
    }

    public List<Controller> actives() {
        return controllers.stream().filter(c -> c.role() == Role.ACTIVE).toList();
    }
}
