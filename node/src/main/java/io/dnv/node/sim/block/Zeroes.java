package io.dnv.node.sim.block;

/** A MiB of zeroes to write from; nothing ever writes into it. */
final class Zeroes {

    static final byte[] MIB = new byte[1 << 20];

    private Zeroes() {}
}
