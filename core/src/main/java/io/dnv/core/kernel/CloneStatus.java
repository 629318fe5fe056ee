package io.dnv.core.kernel;

import java.util.Optional;

/**
 * A dm-clone status line as Linux prints it: {@code <metadata block size> <used>/<total metadata
 * blocks> <region size> <hydrated>/<total regions> <hydrating regions> <#features> <feature>*
 * <#core args> <core arg>* <mode>} ({@code dmsetup status} prefixes the start, length and "clone").
 */
public record CloneStatus(long regionSectors, long hydratedRegions, long totalRegions, long hydratingRegions) {

    /** Empty for anything that is not a clone's status. */
    public static Optional<CloneStatus> parse(String status) {
        String[] w = status.trim().split("\\s+");
        int i = 0;
        while (i < w.length && !w[i].equals("clone")) {
            i++;
        }
        // the words after "clone" (or from the start, if the line is the target's own)
        int at = i < w.length ? i + 1 : 0;
        if (w.length < at + 5) {
            return Optional.empty();
        }
        String[] regions = w[at + 3].split("/");
        if (regions.length != 2 || !w[at + 1].contains("/")) {
            return Optional.empty();
        }
        try {
            return Optional.of(new CloneStatus(Long.parseLong(w[at + 2]), Long.parseLong(regions[0]), Long.parseLong(regions[1]),
                    Long.parseLong(w[at + 4])));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }
}
