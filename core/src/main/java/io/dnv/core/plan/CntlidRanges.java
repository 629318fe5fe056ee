package io.dnv.core.plan;

/**
 * Controller id ranges. A host refuses a second path of one subsystem NQN whose cntlid it
 * already has, and Linux 6.1 nvmet draws cntlids from one allocator per kernel; so every
 * controller slot of a volume exports (its volume and the legs it owns) from its own range,
 * as wide as 16 slots allow.
 */
public final class CntlidRanges {

    public static final int MAX = 0xffef;
    public static final int SLOT_WIDTH = 4094;
    public static final int SLOTS = MAX / SLOT_WIDTH;

    private CntlidRanges() {}

    public static int min(int slot) {
        checkSlot(slot);
        return slot * SLOT_WIDTH + 1;
    }

    public static int max(int slot) {
        checkSlot(slot);
        return (slot + 1) * SLOT_WIDTH;
    }

    private static void checkSlot(int slot) {
        if (slot < 0 || slot >= SLOTS) {
            throw new IllegalArgumentException("controller slot " + slot + " outside 0.." + (SLOTS - 1));
        }
    }
}
