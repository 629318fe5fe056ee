package io.dnv.node.sim.nvme;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * The host's nvme_subsystem: every controller to one subsystem NQN, whatever the address, and the
 * multipath heads they share. Its instance is that of its first controller and stays reserved
 * until the subsystem goes, which is why heads are named after it. Guarded by the owning NvmeHost.
 */
final class HostSubsystem {

    final String nqn;
    final int instance;
    final List<HostController> controllers = new ArrayList<>();
    final TreeMap<Integer, MultipathHead> heads = new TreeMap<>();
    /** Heads whose last path went while something held them open: gone from sysfs, not yet freed. */
    final List<MultipathHead> detached = new ArrayList<>();
    /** Head instances (the Y in nvmeXnY) come from a per-subsystem IDA starting at 1. */
    final Ida headInstances = new Ida();

    HostSubsystem(String nqn, int instance) {
        this.nqn = nqn;
        this.instance = instance;
    }

    boolean unused() {
        return controllers.isEmpty() && heads.isEmpty() && detached.isEmpty();
    }
}
