package io.dnv.sim.realkernel;

import java.util.List;

/** A kernel rule and the steps that show it, run on both kernels from a fresh state. */
record DifferentialCase(String rule, List<Step> steps) {

    static DifferentialCase of(String rule, Step... steps) {
        return new DifferentialCase(rule, List.of(steps));
    }
}
