package io.dnv.sim.realkernel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * `dmsetup status` as the differential suite compares it: every field the simulator models,
 * word for word. Left out are the numbers that count blocks of a metadata format: the
 * simulator keeps raid1, thin and clone metadata in formats of its own (kernel-rules.md), so
 * used/total metadata blocks, and thin-pool's metadata low-water mark derived from them, are
 * shown as {@code [meta]} on both kernels.
 */
final class Statuses {

    private Statuses() {}

    static String compared(String status) {
        List<String> lines = new ArrayList<>();
        for (String line : status.strip().split("\n")) {
            lines.add(line(line.strip().split("\\s+")));
        }
        return String.join("\n", lines);
    }

    private static String line(String[] w) {
        if (w.length < 3) {
            return String.join(" ", w);
        }
        String[] f = Arrays.copyOfRange(w, 3, w.length);
        switch (w[2]) {
            // <transaction id> <used>/<total metadata> <used>/<total data> <held root> <mode> <discard> <no space> <needs_check> <low water>
            case "thin-pool" -> {
                if (f.length >= 9) {
                    f[1] = "[meta]";
                    f = Arrays.copyOf(f, 8);
                }
            }
            // <metadata block size> <used>/<total metadata> <region size> <hydrated>/<regions> <hydrating> <features> <core args> <mode>
            case "clone" -> {
                if (f.length >= 2) {
                    f[1] = "[meta]";
                }
            }
            default -> {
            }
        }
        List<String> out = new ArrayList<>(List.of(w[0], w[1], w[2]));
        out.addAll(List.of(f));
        return String.join(" ", out);
    }
}
