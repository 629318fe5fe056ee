package io.dnv.core.kernel;

/**
 * nvmet's ANA group ids (Linux 6.1): 1..NVMET_MAX_ANAGRPS (128) on every port. Group 1 is the
 * port's default group: it exists from the port's mkdir, cannot be made or removed, and every
 * namespace not put elsewhere is in it. Groups 2..128 are made and removed as
 * ports/&lt;id&gt;/ana_groups/&lt;g&gt;; dnv gives each volume exported on a port one of those, so
 * its ANA state changes alone.
 */
public final class AnaGroups {

    public static final int DEFAULT = 1;
    public static final int MAX = 128;
    public static final int FIRST_CREATED = DEFAULT + 1;
    /** How many volumes one volume port can be a controller of. */
    public static final int CREATED_PER_PORT = MAX - FIRST_CREATED + 1;

    private AnaGroups() {}

    /** A namespace's ana_grpid. */
    public static boolean isGroup(int group) {
        return group >= DEFAULT && group <= MAX;
    }

    /** A group made with mkdir, as a volume's own group is. */
    public static boolean isCreated(int group) {
        return group >= FIRST_CREATED && group <= MAX;
    }
}
