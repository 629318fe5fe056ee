package io.dnv.core.kernel;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Every kernel name derived from ids, so an agent finds what it owns by listing the kernel.
 * dm names carry the owning node (several storage servers may share one kernel); NQNs of
 * exports do not, so a leg or volume exported by another node after a failover is another
 * path of the same namespace.
 */
public final class Names {

    public static final String DM_PREFIX = "dnv-";
    public static final String NQN_PREFIX = "nqn.2024-01.io.dnv:";
    /** Linux's DM_NAME_LEN (128) with its terminating NUL. */
    static final int DM_NAME_MAX = 127;
    /** Node ids lead every dm name, whose parts '-' separates, so an id has no '-'. */
    public static final String NODE_ID_PATTERN = "[a-z0-9]{1,20}";
    /**
     * Volume ids, the names users give volumes, are part of every dm name and NQN of the volume.
     * The longest of those, an LD's "dnv-&lt;node&gt;-ld-&lt;volume&gt;-&lt;leg&gt;-&lt;group&gt;-&lt;side&gt;",
     * takes 45 bytes besides the id (node id 20, leg up to 127, group up to 10 digits, side up
     * to 2), so the 127 bytes of a dm name leave at most 82 (the 223 of an NQN would leave 163).
     * The limit is the planner's 40, half of that: the planner never planned a longer id, and
     * a limit can be raised later but never lowered.
     */
    public static final int VOLUME_ID_MAX = 40;
    public static final String VOLUME_ID_PATTERN = "[a-z0-9][a-z0-9-]{0," + (VOLUME_ID_MAX - 1) + "}";
    private static final Pattern NODE_ID = Pattern.compile(NODE_ID_PATTERN);
    private static final Pattern VOLUME_ID = Pattern.compile(VOLUME_ID_PATTERN);
    /** Each dm kind and how many numbers (leg, group, side) follow the volume in its names. */
    private static final Map<String, Integer> DM_KIND_IDS = Map.ofEntries(Map.entry("ld", 3), Map.entry("rm", 3),
            Map.entry("rd", 3), Map.entry("r1", 2), Map.entry("tmeta", 1), Map.entry("tdata", 1), Map.entry("pool", 1),
            Map.entry("thin", 1), Map.entry("legx", 1), Map.entry("snapx", 2), Map.entry("vol", 0),
            Map.entry("clsrc", 0), Map.entry("cldst", 0), Map.entry("clmeta", 0));

    private Names() {}

    public static boolean isNodeId(String id) {
        return id != null && NODE_ID.matcher(id).matches();
    }

    public static boolean isVolumeId(String id) {
        return id != null && VOLUME_ID.matcher(id).matches();
    }

    public static String dmPrefix(String nodeId) {
        return DM_PREFIX + nodeId + "-";
    }

    public static boolean ownsDm(String nodeId, String dmName) {
        return dmName.startsWith(dmPrefix(nodeId));
    }

    /** The volume a dm device of {@code nodeId} belongs to, read back from its name; empty for any other name. */
    public static Optional<String> volumeOfDm(String nodeId, String dmName) {
        if (!ownsDm(nodeId, dmName)) {
            return Optional.empty();
        }
        String rest = dmName.substring(dmPrefix(nodeId).length());
        int dash = rest.indexOf('-');
        Integer ids = dash < 0 ? null : DM_KIND_IDS.get(rest.substring(0, dash));
        if (ids == null) {
            return Optional.empty();
        }
        String volume = rest.substring(dash + 1);
        for (int i = 0; i < ids; i++) {
            int d = volume.lastIndexOf('-');
            if (d < 0) {
                return Optional.empty();
            }
            volume = volume.substring(0, d);
        }
        return volume.isEmpty() ? Optional.empty() : Optional.of(volume);
    }

    public static String hostNqn(String nodeId) {
        return nqn("node:" + nodeId);
    }

    /** Linux refuses one host id under two host NQNs, so each NQN gets its own id. */
    public static UUID hostId(String hostNqn) {
        return UUID.nameUUIDFromBytes(hostNqn.getBytes(StandardCharsets.UTF_8));
    }

    // disk node

    public static String ld(String dn, String vol, int leg, int group, int side) {
        return dm(dn, "ld", vol, leg, group, side);
    }

    public static String ldNqn(String vol, int leg, int group, int side, String dn) {
        return nqn("ld:" + vol + ":" + leg + ":" + group + ":" + side + ":" + dn);
    }

    // the controller node that owns a leg

    public static String raidMeta(String cn, String vol, int leg, int group, int side) {
        return dm(cn, "rm", vol, leg, group, side);
    }

    public static String raidData(String cn, String vol, int leg, int group, int side) {
        return dm(cn, "rd", vol, leg, group, side);
    }

    public static String raid1(String cn, String vol, int leg, int group) {
        return dm(cn, "r1", vol, leg, group);
    }

    public static String thinMeta(String cn, String vol, int leg) {
        return dm(cn, "tmeta", vol, leg);
    }

    public static String thinData(String cn, String vol, int leg) {
        return dm(cn, "tdata", vol, leg);
    }

    public static String pool(String cn, String vol, int leg) {
        return dm(cn, "pool", vol, leg);
    }

    public static String thin(String cn, String vol, int leg) {
        return dm(cn, "thin", vol, leg);
    }

    public static String legExport(String cn, String vol, int leg) {
        return dm(cn, "legx", vol, leg);
    }

    public static String legNqn(String vol, int leg) {
        return nqn("leg:" + vol + ":" + leg);
    }

    /**
     * A snapshot's thin {@code thinId} of a leg, activated beside the leg's pool on its owner to
     * be exported (a clone's source). Its dm name carries the thin id before the leg.
     */
    public static String snapshotLeg(String cn, String vol, int thinId, int leg) {
        return dm(cn, "snapx", vol, thinId, leg);
    }

    /**
     * The export of a leg's snapshot thin: like a leg's, it does not name its owner, so after a
     * failover the new owner's export is another path of the same namespace.
     */
    public static String snapshotLegNqn(String vol, int thinId, int leg) {
        return nqn("snap:" + vol + ":" + thinId + ":" + leg);
    }

    // a clone's first active, while it hydrates (docs/clone.md)

    /** The source snapshot's legs, imported and striped as the source volume stripes them. */
    public static String cloneSource(String cn, String vol) {
        return dm(cn, "clsrc", vol);
    }

    /** The clone's own stripe, which dm-clone fills; the volume device maps it plainly once hydrated. */
    public static String cloneDestination(String cn, String vol) {
        return dm(cn, "cldst", vol);
    }

    /** dm-clone's metadata: a thin in the pool of the clone's first leg, so mirrored, and owned by whoever owns the leg. */
    public static String cloneMetadata(String cn, String vol) {
        return dm(cn, "clmeta", vol);
    }

    // every controller of the volume

    public static String volume(String cn, String vol) {
        return dm(cn, "vol", vol);
    }

    /**
     * Whether an export is internal (an LD to its leg owner, a leg to the other actives, a leg's
     * snapshot to a clone's active): a host taken off one of those is fenced, its connections
     * dropped and its I/O drained.
     */
    public static boolean isInternalNqn(String nqn) {
        return nqn.startsWith(NQN_PREFIX + "ld:") || nqn.startsWith(NQN_PREFIX + "leg:") || nqn.startsWith(NQN_PREFIX + "snap:");
    }

    /**
     * A storage node's witness export: a subsystem with no namespace that a few peers import with
     * a short keep-alive, so their host-side state of it (live, connecting) is the data path's
     * word on whether this node's kernel still serves (docs/failover.md, "Detection"). It names
     * its node: it is that node's kernel that answers, and only that node ever exports it.
     */
    public static String witnessNqn(String nodeId) {
        return nqn("witness:" + nodeId);
    }

    public static boolean isWitnessNqn(String nqn) {
        return nqn.startsWith(NQN_PREFIX + "witness:");
    }

    public static String volumeNqn(String vol) {
        return nqn("vol:" + vol);
    }

    /** Whether an export is a volume's, to its hosts. */
    public static boolean isVolumeNqn(String nqn) {
        return nqn.startsWith(NQN_PREFIX + "vol:");
    }

    /** The namespace identity of an export: the same whoever exports it. */
    public static UUID namespaceUuid(String nqn) {
        return UUID.nameUUIDFromBytes(("ns1:" + nqn).getBytes(StandardCharsets.UTF_8));
    }

    public static String nguid(UUID uuid) {
        return uuid.toString().replace("-", "");
    }

    /** attr_serial, equal on every exporter of an NQN (the host checks it across paths). */
    public static String serial(String nqn) {
        return nguid(namespaceUuid(nqn)).substring(0, 20);
    }

    private static String dm(String node, String kind, String vol, int... ids) {
        if (DM_KIND_IDS.get(kind) != ids.length) {
            throw new IllegalArgumentException("dm kind " + kind + " takes " + DM_KIND_IDS.get(kind) + " numbers, not " + ids.length);
        }
        StringBuilder sb = new StringBuilder(dmPrefix(node)).append(kind).append('-').append(vol);
        for (int id : ids) {
            sb.append('-').append(id);
        }
        String name = sb.toString();
        if (name.length() > DM_NAME_MAX) {
            throw new IllegalArgumentException("dm name over " + DM_NAME_MAX + " bytes: " + name);
        }
        return name;
    }

    private static String nqn(String suffix) {
        return Nqn.require(NQN_PREFIX + suffix);
    }
}
