package io.dnv.core.node;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A node's periodic check that every reservation it keeps (extents, ANA groups, objects) still
 * belongs to a volume that holds it. A release can be lost (a leg's give-back after a refused
 * reservation failed, a create's ask timed out after the node reserved): without the audit the
 * capacity would stay taken forever. A volume found not holding twice in a row, one audit apart
 * (the grace), is an orphan: everything it has here is released the way a delete's is, after the
 * agent confirmed its objects gone. Not thread-safe: the entity owns it.
 */
final class ReservationAudit {

    /** Volumes found not holding at the last audit: orphans if the next one finds the same. */
    private Set<String> suspects = Set.of();

    /** Every volume with an extent, an ANA group or objects here that is not already being removed. */
    static Set<String> volumes(StorageNode.State s) {
        Set<String> volumes = new TreeSet<>();
        s.extents().keySet().forEach(key -> volumes.add(volumeOfKey(key)));
        volumes.addAll(s.anaGroups().keySet());
        volumes.addAll(s.objects().keySet());
        volumes.removeAll(s.removals().keySet());
        return volumes;
    }

    /** Extent keys are "&lt;volume&gt;/&lt;leg&gt;/&lt;group&gt;/&lt;side&gt;", as legs make them. */
    static String volumeOfKey(String key) {
        int slash = key.indexOf('/');
        return slash < 0 ? key : key.substring(0, slash);
    }

    static List<String> keysOf(StorageNode.State s, String volumeId) {
        return s.extents().keySet().stream().filter(k -> volumeOfKey(k).equals(volumeId)).sorted().toList();
    }

    /**
     * Takes one audit's answers (volume → holds); answers the orphans: not holding now and at the
     * audit before. A volume that did not answer counts as holding.
     */
    List<String> orphans(Map<String, Boolean> holds) {
        Set<String> notHolding = new HashSet<>();
        holds.forEach((volume, held) -> {
            if (!held) {
                notHolding.add(volume);
            }
        });
        List<String> orphans = notHolding.stream().filter(suspects::contains).sorted().toList();
        notHolding.removeAll(orphans);
        suspects = notHolding;
        return orphans;
    }
}
