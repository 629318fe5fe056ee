package io.dnv.core.plan;

import io.dnv.core.volume.VolumeSpec;

/**
 * Controller id ranges: the one home of which export draws its cntlids from where. Linux 6.1
 * nvmet hands out the cntlids of every subsystem of a kernel from one allocator
 * (ida_alloc_range over the subsystem's [cntlid_min, cntlid_max], lowest free first; a full
 * range refuses the connect, CONNECT_CTRL_BUSY), and a host refuses a second path of one
 * subsystem NQN whose cntlid it already has. Hence:
 * <ul>
 *   <li>each controller slot of a volume exports the volume from a range of its own, so the
 *       paths a host has to one volume never share an id;</li>
 *   <li>and its legs from another range of its own: after a failover the new owner's export of
 *       a leg is a second path of the same NQN on the other actives;</li>
 *   <li>LDs (one connection each, from the leg owner) from a range of their own.</li>
 * </ul>
 * A node's witness export ({@link Witnesses}) draws from the LD range: like an LD's, each of its
 * connections has its own importer, and there are a few of them per node.
 * No two ranges overlap, so on a node that is a disk node and a controller node at once one
 * kind of export cannot take the ids another needs (thousands of LD connections used to take
 * every id of slot 0's volume exports). Per kernel that allows 2048 host connections to the
 * volume exports of each slot, 2048 connections to the leg exports of each slot and 16367 LD
 * connections.
 */
public final class CntlidRanges {

    /** A cntlid range, both ends included, as attr_cntlid_min and attr_cntlid_max take it. */
    public record Range(int min, int max) {
        public int size() {
            return max - min + 1;
        }

        public boolean overlaps(Range other) {
            return min <= other.max && other.min <= max;
        }
    }

    /** The highest cntlid: the NVMe spec reserves 0xfff0 and up. */
    public static final int MAX = 0xffef;
    /** Every slot a volume can have: its actives, then its standbys. */
    public static final int SLOTS = VolumeSpec.MAX_ACTIVE + VolumeSpec.MAX_STANDBY;
    static final int SLOT_WIDTH = 2048;

    private CntlidRanges() {}

    /** The volume export of controller slot {@code slot}. */
    public static Range volume(int slot) {
        return slotRange(0, slot);
    }

    /** The leg exports of the controller in slot {@code slot}. */
    public static Range leg(int slot) {
        return slotRange(SLOTS, slot);
    }

    /** Every LD export: each LD has one importer, so they need no ranges of their own. */
    public static Range ld() {
        return new Range(2 * SLOTS * SLOT_WIDTH + 1, MAX);
    }

    /** A node's witness export: a few importers, one connection each, as LDs have. */
    public static Range witness() {
        return ld();
    }

    private static Range slotRange(int firstSlotOfKind, int slot) {
        if (slot < 0 || slot >= SLOTS) {
            throw new IllegalArgumentException("controller slot " + slot + " outside 0.." + (SLOTS - 1));
        }
        int min = (firstSlotOfKind + slot) * SLOT_WIDTH + 1;
        return new Range(min, min + SLOT_WIDTH - 1);
    }
}
