package io.dnv.node.sim.nvme;

import java.util.BitSet;
import java.util.OptionalInt;

/**
 * Linux's IDA: hands out the lowest free id in a range. nvmet draws cntlids from one such
 * allocator per kernel (not per subsystem), the host draws controller instances and head
 * instances from others; which number comes out therefore depends on everything else holding one.
 */
final class Ida {

    private final BitSet used = new BitSet();

    synchronized OptionalInt allocate(int min, int max) {
        int id = used.nextClearBit(min);
        if (id > max) {
            return OptionalInt.empty();
        }
        used.set(id);
        return OptionalInt.of(id);
    }

    synchronized void free(int id) {
        used.clear(id);
    }

    synchronized void clear() {
        used.clear();
    }
}
