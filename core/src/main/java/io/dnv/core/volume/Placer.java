package io.dnv.core.volume;

import io.dnv.core.kernel.AnaGroups;
import io.dnv.core.node.NodeView;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Chooses nodes for a new volume (and for a failover's new standby, an extend's new groups) from
 * what the storage nodes report: controllers on distinct
 * controller nodes whose volume port has a group for the controller's ANA domain, its own or a
 * free one ({@link AnaGroups#domain}; fewest controller volumes first, within
 * {@link #SPREAD_VOLUMES}), every raid1 side of a group on a distinct disk node (distinct
 * failure domains when nodes carry a "failure-domain" label) with room for an LD, most free
 * space first — only among nodes that are up, not still removing an earlier volume of the
 * same name, and whose kernels have what a volume needs ({@link #REQUIRED}). Pure: the extents themselves are reserved by the nodes.
 */
public final class Placer {

    public static final String FAILURE_DOMAIN = "failure-domain";
    /** What every node of a volume's data path must be able to do (reported by its agent at start). */
    public static final Set<String> REQUIRED = Set.of("transport:tcp", "dm-raid", "dm-thin-pool");
    /**
     * What a clone's hydrating active needs besides: its stripe is built over a clone target
     * (docs/operations.md says how to get the module where the distribution lacks it).
     */
    public static final String DM_CLONE = "dm-clone";

    /** Node ids by controller slot, and by leg and side of the leg's first group. */
    public record Choice(List<String> controllers, List<List<String>> sides) {}

    public record Result(Optional<Choice> choice, String refusal) {}

    private Placer() {}

    /**
     * {@code volumeId} breaks ties: creates that run at once all see the same loads, and a tie
     * broken by node id alone would send every one of them to the same nodes.
     */
    public static Result choose(String volumeId, VolumeSpec spec, VolumeLayout layout, List<NodeView> nodes) {
        return choose(volumeId, spec, layout, nodes, Set.of());
    }

    /** The same, never on a node of {@code avoid} (nodes that failed under this create). */
    public static Result choose(String volumeId, VolumeSpec spec, VolumeLayout layout, List<NodeView> nodes, Set<String> avoid) {
        return choose(volumeId, spec, layout, nodes, avoid, Set.of());
    }

    /**
     * The same, with the first active on a node that also has {@code firstActiveNeeds}: a clone's
     * hydrating active ({@link #DM_CLONE}). No such node up: refused, naming what is missing.
     */
    public static Result choose(String volumeId, VolumeSpec spec, VolumeLayout layout, List<NodeView> nodes, Set<String> avoid,
                                Set<String> firstActiveNeeds) {
        // A node still removing an earlier volume of this name keeps its extents and ANA group
        // (same keys) until its agent confirms them gone: it cannot take the name again yet.
        List<NodeView> up = able(volumeId, nodes, avoid);
        List<NodeView> cns = controllerNodes(volumeId, up);
        List<String> controllers = new ArrayList<>();
        for (int slot = 0; slot < spec.controllerCount(); slot++) {
            // Actives first: a standby's ANA domain is named by the nodes of the actives.
            // (A clone's other actives wait for the hydration in a group of the clone's own.)
            String domain = AnaGroups.domain(slot, spec.activeControllers(), controllers,
                    firstActiveNeeds.contains(DM_CLONE) ? Optional.of(volumeId) : Optional.empty());
            Set<String> needs = slot == 0 ? firstActiveNeeds : Set.of();
            Optional<NodeView> next = cns.stream().filter(n -> !controllers.contains(n.id()))
                    .filter(n -> n.info().orElseThrow().capabilities().containsAll(needs))
                    .filter(n -> n.hasAnaGroupFor(volumePort(n), domain)).findFirst();
            if (next.isEmpty() && !needs.isEmpty()) {
                return refused(lacking(cns, needs, " with an ANA group free"));
            }
            if (next.isEmpty()) {
                return refused("needs " + spec.controllerCount() + " controller nodes that are up, found " + controllers.size()
                        + " with an ANA group for their role (" + cns.size() + " up)");
            }
            controllers.add(next.get().id());
        }
        return sides(volumeId, spec, 0, layout.ldSectors(), up)
                .map(sides -> new Result(Optional.of(new Choice(controllers, sides)), ""));
    }

    /**
     * Why no controller node up can take a clone's first active ({@code firstActiveNeeds}: what
     * it must have besides); empty when one can. What the API answers before it creates a clone.
     */
    public static Optional<String> firstActiveRefusal(String volumeId, List<NodeView> nodes, Set<String> firstActiveNeeds) {
        List<NodeView> cns = controllerNodes(volumeId, able(volumeId, nodes, Set.of()));
        return cns.stream().anyMatch(n -> n.info().orElseThrow().capabilities().containsAll(firstActiveNeeds)) ? Optional.empty()
                : Optional.of(lacking(cns, firstActiveNeeds, ""));
    }

    private static String lacking(List<NodeView> cns, Set<String> needs, String having) {
        List<String> lacking = cns.stream().filter(n -> !n.info().orElseThrow().capabilities().containsAll(needs))
                .map(NodeView::id).sorted().toList();
        return "a clone's hydrating active needs a controller node with " + String.join(", ", new TreeSet<>(needs))
                + " (see docs/operations.md): " + (cns.size() - lacking.size()) + " of the " + cns.size()
                + " controller nodes up have it" + having + (lacking.isEmpty() ? "" : "; lacking it: " + String.join(", ", lacking));
    }

    /**
     * A node for a new standby of an existing volume (a failover's), in ANA domain {@code domain}:
     * by the create's rules for controllers, on none of the nodes in {@code taken} (the volume's
     * other controllers, fenced ones included) nor {@code avoid} (nodes that failed under it). The
     * result's choice names the one controller and no sides.
     */
    public static Result chooseStandby(String volumeId, String domain, Set<String> taken, Set<String> avoid, List<NodeView> nodes) {
        List<NodeView> cns = controllerNodes(volumeId, able(volumeId, nodes, avoid));
        return cns.stream().filter(n -> !taken.contains(n.id())).filter(n -> n.hasAnaGroupFor(volumePort(n), domain)).findFirst()
                .map(n -> new Result(Optional.of(new Choice(List.of(n.id()), List.of())), ""))
                .orElseGet(() -> refused("no controller node up with an ANA group for " + domain + " besides " + String.join(", ",
                        new TreeSet<>(taken)) + " (" + cns.size() + " controller nodes up"
                        + (avoid.isEmpty() ? "" : "; failed: " + String.join(", ", new TreeSet<>(avoid))) + ")"));
    }

    /**
     * Disk nodes for one more raid1 group of every leg of an existing volume (an extend): the
     * same rules as a create's first group, among the nodes that are up and able and not in
     * {@code avoid} (the volume's lost nodes: a side there would be assembled as missing). The
     * result's choice names no controllers.
     */
    public static Result chooseGroup(String volumeId, VolumeSpec spec, int group, long ldSectors, List<NodeView> nodes,
                                     Set<String> avoid) {
        return sides(volumeId, spec, group, ldSectors, able(volumeId, nodes, avoid))
                .map(sides -> new Result(Optional.of(new Choice(List.of(), sides)), ""));
    }

    private static List<NodeView> able(String volumeId, List<NodeView> nodes, Set<String> avoid) {
        return nodes.stream().filter(NodeView::up).filter(n -> !n.removing().contains(volumeId)).filter(n -> !avoid.contains(n.id()))
                .filter(n -> n.info().map(i -> i.capabilities().containsAll(REQUIRED)).orElse(false)).toList();
    }

    /** Controller nodes with a volume port, least loaded first (within {@link #SPREAD_VOLUMES}), ties spread by volume. */
    private static List<NodeView> controllerNodes(String volumeId, List<NodeView> up) {
        List<NodeView> ctrlNodes = up.stream()
                .filter(n -> has(n, "ctrl") && n.info().flatMap(i -> i.endpoints().volumePort()).isPresent()).toList();
        int fewest = ctrlNodes.stream().mapToInt(NodeView::controllerVolumes).min().orElse(0);
        return ctrlNodes.stream()
                .sorted(Comparator.comparingInt((NodeView n) -> (n.controllerVolumes() - fewest) / SPREAD_VOLUMES)
                        .thenComparing(n -> spread(volumeId, n.id()))).toList();
    }

    private static int volumePort(NodeView n) {
        return n.info().orElseThrow().endpoints().volumePort().orElseThrow().id();
    }

    /** R distinct disk nodes per leg (distinct failure domains when labelled) with room for an LD, most free first. */
    private static Sides sides(String volumeId, VolumeSpec spec, int group, long ldSectors, List<NodeView> up) {
        long ldBytes = ldSectors * VolumeLayout.SECTOR;
        Map<String, Long> free = new HashMap<>();
        up.stream().filter(n -> has(n, "disk")).forEach(n -> free.put(n.id(), n.capacity().largestFreeBytes()));
        List<List<String>> sides = new ArrayList<>();
        for (int leg = 0; leg < spec.legCount(); leg++) {
            String legKey = volumeId + "/" + leg + (group == 0 ? "" : "/" + group);
            List<String> chosen = new ArrayList<>();
            Set<String> domains = new HashSet<>();
            List<NodeView> candidates = up.stream().filter(n -> free.containsKey(n.id()))
                    .sorted(Comparator.comparing((NodeView n) -> -free.get(n.id()) / SPREAD_BYTES)
                            .thenComparing(n -> spread(legKey, n.id()))).toList();
            for (NodeView n : candidates) {
                if (chosen.size() == spec.replicas()) {
                    break;
                }
                String domain = n.info().map(i -> i.labels().get(FAILURE_DOMAIN)).orElse(null);
                if (free.get(n.id()) >= ldBytes && (domain == null || !domains.contains(domain))) {
                    chosen.add(n.id());
                    if (domain != null) {
                        domains.add(domain);
                    }
                }
            }
            if (chosen.size() < spec.replicas()) {
                return new Sides(null, "needs " + spec.replicas() + " disk nodes in distinct failure domains with " + mib(ldBytes)
                        + " MiB free for group " + group + " of leg " + leg + ", found " + chosen.size());
            }
            chosen.forEach(id -> free.merge(id, -ldBytes, Long::sum));
            sides.add(List.copyOf(chosen));
        }
        return new Sides(sides, "");
    }

    /** Sides for every leg, or why not. */
    private record Sides(List<List<String>> sides, String refusal) {
        Result map(java.util.function.Function<List<List<String>>, Result> f) {
            return sides == null ? refused(refusal) : f.apply(sides);
        }
    }

    /**
     * Controller nodes within this many volumes of the least loaded count as equally loaded. A
     * node's count moves when a create reserves its ANA group, after it chose: the creates of a
     * burst all choose on the same counts, and ranked strictly every one of them chose the node
     * with one volume fewer, until its volume port ran out of ANA groups and the creates failed.
     */
    static final int SPREAD_VOLUMES = 16;

    /** Free space this close counts as equal, so ties are broken by {@link #spread}, not by a few MiB. */
    static final long SPREAD_BYTES = 1L << 30;

    /**
     * A per-key order of the nodes: among equally loaded nodes, a volume's controllers go to those
     * of the lowest values for its id. Mixed (murmur3's finalizer): String.hashCode of "key|n1" and
     * "key|n2" differ by one, so unmixed every key would order the nodes alike.
     */
    public static int spread(String key, String nodeId) {
        int h = (key + "|" + nodeId).hashCode();
        h ^= h >>> 16;
        h *= 0x85ebca6b;
        h ^= h >>> 13;
        h *= 0xc2b2ae35;
        return h ^ (h >>> 16);
    }

    private static boolean has(NodeView n, String role) {
        return n.info().map(i -> i.roles().contains(role)).orElse(false);
    }

    private static long mib(long bytes) {
        return (bytes + (1 << 20) - 1) >> 20;
    }

    private static Result refused(String why) {
        return new Result(Optional.empty(), why);
    }
}
