package io.dnv.node.sim.nvme;

/**
 * The NVMe I/O commands the simulated fabric carries. Write Zeroes is its own command, as in
 * Linux: nvme-tcp sends REQ_OP_WRITE_ZEROES as one command (nvmet advertises it in ONCS), and
 * nvmet's block backend zeroes the range on its device, so no buffer of zeroes crosses the wire.
 */
enum IoOp { READ, WRITE, WRITE_ZEROES }
