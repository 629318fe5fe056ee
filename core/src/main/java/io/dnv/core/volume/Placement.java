package io.dnv.core.volume;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;

/**
 * Where a volume lives: which node runs each controller (slots 0..A-1 active, then the
 * standbys) and which disk extent holds each raid1 side of each group of each leg. Leg i is
 * owned by active controller i / L. Ports and ANA groups are node resources the control plane
 * allocated; the planner never invents them.
 */
public record Placement(List<Controller> controllers, List<Leg> legs, Set<String> lost) {

    /** {@code lost}: nodes that failed; their raid1 sides are assembled as missing (null in journals from before: none). */
    public Placement {
        controllers = List.copyOf(controllers);
        legs = List.copyOf(legs);
        lost = lost == null ? Set.of() : Set.copyOf(lost);
    }

    public Placement(List<Controller> controllers, List<Leg> legs) {
        this(controllers, legs, Set.of());
    }

    /** The same placement with {@code nodeId}'s disk lost too. */
    public Placement losing(String nodeId) {
        Set<String> more = new TreeSet<>(lost);
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
     * {@code replacing}: while a failover promotes this controller, the failed node whose place it
     * took; the other actives keep their path to that node's leg exports until the failover is
     * past promotion, so a leg they stripe over never loses its last path (null: none).
     * {@code assembledWithout}: the failed nodes whose raid1 sides this controller's legs are
     * assembled without, as missing: those lost when it took the legs over, whose LDs no longer
     * exist to import. An owner that already runs a group keeps a side lost later as it is (md
     * fails it; the agent reports the group degraded), so nothing of its legs is reloaded. Null
     * in journals from before: every lost node.
     */
    public record Controller(String nodeId, Role role, int exportPortId, int anaGroup, Integer idSlot, String replacing,
                             Set<String> assembledWithout) {

        public Controller {
            assembledWithout = assembledWithout == null ? null : Set.copyOf(assembledWithout);
        }

        public Controller(String nodeId, Role role, int exportPortId, int anaGroup) {
            this(nodeId, role, exportPortId, anaGroup, null, null, Set.of());
        }

        public Controller(String nodeId, Role role, int exportPortId, int anaGroup, int idSlot) {
            this(nodeId, role, exportPortId, anaGroup, idSlot, null, Set.of());
        }

        public int idSlot(int slot) {
            return idSlot == null ? slot : idSlot;
        }

        public Controller as(Role newRole, int newAnaGroup, int slotNow) {
            return new Controller(nodeId, newRole, exportPortId, newAnaGroup, idSlot(slotNow), replacing, assembledWithout);
        }

        /** Whether this controller's legs assemble a side on {@code node}, one of {@code lost}, as missing. */
        public boolean assemblesWithout(String node, Set<String> lost) {
            return lost.contains(node) && (assembledWithout == null || assembledWithout.contains(node));
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

    public List<Controller> standbys() {
        return controllers.stream().filter(c -> c.role() == Role.STANDBY).toList();
    }

    // ---------------------------------------------------------------- a failover's steps (docs/failover.md)

    /**
     * {@code nodeId} failed: its controller FENCED, in its slot and keeping its cntlid ranges,
     * and its disk lost (a leg taken over from now on assembles its sides there as missing).
     */
    public Placement fencing(String nodeId) {
        List<Controller> cs = new ArrayList<>(controllers);
        for (int slot = 0; slot < cs.size(); slot++) {
            Controller c = cs.get(slot);
            if (c.nodeId().equals(nodeId)) {
                cs.set(slot, c.as(Role.FENCED, c.anaGroup(), slot));
            }
        }
        return new Placement(cs, legs, lost).losing(nodeId);
    }

    /** The slot of {@code nodeId}'s fenced active, if it still holds one (a failed standby holds none). */
    public OptionalInt fencedActive(String nodeId, int activeControllers) {
        for (int slot = 0; slot < Math.min(activeControllers, controllers.size()); slot++) {
            Controller c = controllers.get(slot);
            if (c.nodeId().equals(nodeId) && c.role() == Role.FENCED) {
                return OptionalInt.of(slot);
            }
        }
        return OptionalInt.empty();
    }

    /**
     * The first standby takes the fenced active's slot {@code slot}, keeping its cntlid ranges, in
     * ANA group {@code group} (its node's active domain), {@link Controller#replacing} the failed
     * node and assembling the legs without every lost node's sides. The fenced controller moves
     * behind the others, where it keeps its cntlid ranges taken until the failover ends: hosts may
     * hold its dead controllers for ctrl_loss_tmo.
     */
    public Placement promoting(int slot, int group) {
        Controller failed = controllers.get(slot);
        Controller next = standbys().get(0);
        int from = controllers.indexOf(next);
        List<Controller> cs = new ArrayList<>(controllers);
        cs.set(slot, new Controller(next.nodeId(), Role.ACTIVE, next.exportPortId(), group, next.idSlot(from), failed.nodeId(), lost));
        cs.remove(from);
        cs.add(failed.as(Role.FENCED, failed.anaGroup(), slot));
        return new Placement(cs, legs, lost);
    }

    /** Every successor serves on its own: the other actives' paths to the failed nodes' leg exports go. */
    public Placement promoted() {
        return new Placement(controllers.stream().map(c -> c.replacing() == null ? c
                : new Controller(c.nodeId(), c.role(), c.exportPortId(), c.anaGroup(), c.idSlot(), null, c.assembledWithout())).toList(),
                legs, lost);
    }

    /** One more standby, behind the controllers there are. */
    public Placement withStandby(Controller standby) {
        List<Controller> cs = new ArrayList<>(controllers);
        cs.add(standby);
        return new Placement(cs, legs, lost);
    }

    /** The same, with the standby of node {@code nodeId} in ANA group {@code group}. */
    public Placement regrouped(String nodeId, int group) {
        return new Placement(controllers.stream().map(c -> !c.nodeId().equals(nodeId) ? c
                : new Controller(c.nodeId(), c.role(), c.exportPortId(), group, c.idSlot(), c.replacing(), c.assembledWithout())).toList(),
                legs, lost);
    }

    /**
     * The failover is over: fenced controllers that were replaced, or were standbys, leave. A
     * fenced active nobody could replace stays in its slot: its legs stay fenced.
     */
    public Placement withoutFenced(int activeControllers) {
        List<Controller> cs = new ArrayList<>();
        for (int slot = 0; slot < controllers.size(); slot++) {
            if (controllers.get(slot).role() != Role.FENCED || slot < activeControllers) {
                cs.add(controllers.get(slot));
            }
        }
        return new Placement(cs, legs, lost);
    }

    /**
     * The cntlid slot for a new controller: the first after the highest one taken (fenced
     * controllers included), wrapping. A failed controller's ranges are then not handed out again
     * until every other slot was: a host keeps a dead controller, with its cntlid, for up to
     * ctrl_loss_tmo, and refuses a new path of the subsystem with the same cntlid. Empty when
     * every slot is taken.
     */
    public OptionalInt nextIdSlot(int slots) {
        Set<Integer> taken = new HashSet<>();
        int highest = -1;
        for (int slot = 0; slot < controllers.size(); slot++) {
            int id = controllers.get(slot).idSlot(slot);
            taken.add(id);
            highest = Math.max(highest, id);
        }
        for (int i = 1; i <= slots; i++) {
            int id = (highest + i) % slots;
            if (!taken.contains(id)) {
                return OptionalInt.of(id);
            }
        }
        return OptionalInt.empty();
    }
}
