package io.dnv.node.sim.dm;

/**
 * The kernel's copy service (dm-kcopyd), as far as the simulator models it: what a copy of
 * {@code bytes} from one device to another costs. A target that copies in the background (dm-clone's
 * hydration, and md's raid1 resync, charged the same: both move bytes between the same disks)
 * spends it on its own thread, outside every lock, before the copy lands.
 */
@FunctionalInterface
public interface Kcopyd {

    /** Copies cost nothing beyond the disk files' own I/O: the default suite. */
    Kcopyd FREE = bytes -> {};

    void spend(long bytes);
}
