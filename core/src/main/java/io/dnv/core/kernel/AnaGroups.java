package io.dnv.core.kernel;

import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeSet;

/**
 * ANA groups: what nvmet takes (Linux 6.1), and which group a controller's namespace goes in.
 *
 * <p><b>The kernel.</b> Group ids are 1..NVMET_MAX_ANAGRPS (128). A namespace's {@code ana_grpid}
 * is one number per namespace; each port keeps a state per group id (inaccessible unless the
 * group was made on the port and set otherwise). Group 1 is every port's default group: it exists
 * from the port's mkdir, cannot be made or removed, and every namespace not put elsewhere is in it.
 * Groups 2..128 are made and removed as ports/&lt;id&gt;/ana_groups/&lt;g&gt;. A namespace's
 * {@code ana_grpid} takes 1..128 at any time, enabled or not, whether or not any port has the
 * group (no check in {@code nvmet_ns_ana_grpid_store}), and tells the subsystem's hosts (an ANA
 * change AEN) — but Debian's 6.1 (since 6.1.67, "nvme: prevent potential spectre v1 gadget")
 * clamps the id with {@code array_index_nospec(id, NVMET_MAX_ANAGRPS)}, one too small: 128 is
 * stored as 0, a group no ANA log lists. So no namespace of dnv's is ever put in 128.
 *
 * <p><b>dnv's groups: one per role and failover domain, not per volume.</b> On a controller's
 * volume port every volume it serves as active shares one group ({@link #ACTIVE}, optimized); the
 * volumes it is the first standby of share one group per set of active nodes whose failure
 * promotes them ({@link #standbyOf}, inaccessible); later standbys share one more ({@link #SPARE}).
 * A port then carries any number of volumes (127 groups bound the failover domains, not the
 * volumes), and a failover of node F flips, on each survivor, the state of the groups whose
 * domain names F: every volume F served there is promoted by one ANA change, after which their
 * namespaces move to the node's active group ({@code ana_grpid} while enabled) and the emptied
 * group goes.
 */
public final class AnaGroups {

    public static final int DEFAULT = 1;
    /** NVMET_MAX_ANAGRPS: the highest id ana_grpid and ana_groups/ take. */
    public static final int MAX = 128;
    public static final int FIRST_CREATED = DEFAULT + 1;
    /** The highest group a namespace can be put in: Debian's 6.1 stores {@link #MAX} as 0. */
    public static final int LAST_USABLE = MAX - 1;
    /** How many failover domains (groups dnv makes) one volume port can hold. */
    public static final int USABLE_PER_PORT = LAST_USABLE - FIRST_CREATED + 1;

    /** The domain of the volumes a node serves as an active controller. */
    public static final String ACTIVE = "active";
    private static final String HYDRATING = "hydrating:";
    /** The domain of second and later standbys: no single failure promotes them. */
    public static final String SPARE = "spare";
    private static final String STANDBY_OF = "standby-of:";
    private static final String LEGACY = "volume:";

    private AnaGroups() {}

    /** What ana_grpid takes (else EINVAL). */
    public static boolean isGroup(int group) {
        return group >= DEFAULT && group <= MAX;
    }

    /** What ana_groups/ takes as a mkdir (else EINVAL). */
    public static boolean isCreated(int group) {
        return group >= FIRST_CREATED && group <= MAX;
    }

    /** What ana_grpid holds after {@code group} was written to it: Debian's 6.1 clamps 128 to 0. */
    public static int stored(int group) {
        return group < MAX ? group : 0;
    }

    /** A group dnv makes and puts namespaces in. */
    public static boolean isUsable(int group) {
        return group >= FIRST_CREATED && group <= LAST_USABLE;
    }

    /** The first standby's domain: the active nodes whose failure promotes it (order does not matter). */
    public static String standbyOf(List<String> activeNodes) {
        return STANDBY_OF + String.join("+", new TreeSet<>(activeNodes));
    }

    /**
     * The domain of controller {@code slot} of a volume with {@code activeControllers} actives
     * (slots 0..A-1, then the standbys); {@code controllerNodes} holds at least the actives' nodes.
     */
    public static String domain(int slot, int activeControllers, List<String> controllerNodes) {
        return domain(slot, activeControllers, controllerNodes, java.util.Optional.empty());
    }

    /**
     * The same for clone {@code hydrating} while it hydrates (empty: any other volume): its actives
     * but the first are in {@link #hydrating}'s domain.
     */
    public static String domain(int slot, int activeControllers, List<String> controllerNodes, java.util.Optional<String> hydrating) {
        if (slot < activeControllers) {
            return hydrating.isPresent() && slot > 0 ? hydrating(hydrating.get()) : ACTIVE;
        }
        return slot == activeControllers ? standbyOf(controllerNodes.subList(0, activeControllers)) : SPARE;
    }

    /**
     * The domain of a hydrating clone's actives but its first: only the first reads the source,
     * so the others' paths stay inaccessible until the clone is swapped for its stripe. The
     * clone's own, so its state is the clone's alone (an active domain is shared by every volume
     * a node serves); the finish moves them to {@link #ACTIVE}.
     */
    public static String hydrating(String volumeId) {
        return HYDRATING + volumeId;
    }

    /**
     * The domain of a group a journal from before domains handed out: the volume's own group
     * (nothing shares it, so it keeps the state its volume's role gives it).
     */
    public static String legacy(String volumeId) {
        return LEGACY + volumeId;
    }

    /**
     * The group for {@code domain} on a port whose groups are taken as {@code taken} (group →
     * domain): the domain's own group if the port has one, else the lowest group no domain holds;
     * empty when every usable group is another domain's.
     */
    public static OptionalInt groupFor(String domain, Map<Integer, String> taken) {
        for (Map.Entry<Integer, String> e : taken.entrySet()) {
            if (e.getValue().equals(domain)) {
                return OptionalInt.of(e.getKey());
            }
        }
        for (int g = FIRST_CREATED; g <= LAST_USABLE; g++) {
            if (!taken.containsKey(g)) {
                return OptionalInt.of(g);
            }
        }
        return OptionalInt.empty();
    }
}
