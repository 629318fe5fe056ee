package io.dnv.sim.realkernel;

import java.util.ArrayList;
import java.util.List;

/**
 * A kernel rule and the steps that show it, each with the answer Linux gives, run on every
 * kernel under test from a fresh state. {@code twoKernels}: some steps run on the kernel's peer.
 */
record DifferentialCase(String rule, List<Step> steps, boolean twoKernels) {

    static DifferentialCase of(String rule, Step... steps) {
        return new DifferentialCase(rule, List.of(steps), false);
    }

    static DifferentialCase of(String rule, List<Step> first, Step... more) {
        return new DifferentialCase(rule, concat(first, more), false);
    }

    /** A case on two machines: the kernel under test and its peer. */
    static DifferentialCase twoKernels(String rule, List<Step> first, Step... more) {
        return new DifferentialCase(rule, concat(first, more), true);
    }

    /** Steps and lists of steps (a setup several cases share), in order, as one list. */
    static List<Step> steps(Object... parts) {
        List<Step> all = new ArrayList<>();
        for (Object p : parts) {
            if (p instanceof Step s) {
                all.add(s);
            } else if (p instanceof List<?> l) {
                l.forEach(s -> all.add((Step) s));
            } else {
                throw new IllegalArgumentException("not a step: " + p);
            }
        }
        return all;
    }

    private static List<Step> concat(List<Step> first, Step... more) {
        return List.copyOf(steps(first, List.of(more)));
    }
}
