package io.dnv.core.kernel;

import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * NVMe Qualified Names, the one rule for every NQN dnv takes or makes: the API's host NQNs, the
 * planner's exports and allowed hosts, the agent's configfs writes, the simulated nvmet.
 *
 * <p>The NVMe base specification (2.0, 4.5) allows "nqn.yyyy-mm.&lt;reverse domain&gt;:&lt;text&gt;"
 * and "nqn.2014-08.org.nvmexpress:uuid:&lt;UUID&gt;" of at most 223 bytes. dnv narrows the text to
 * printable ASCII without '/' and ',' because of where Linux takes an NQN: as one configfs
 * directory name (nvmet/hosts/&lt;nqn&gt;, subsystems/&lt;nqn&gt;), where a '/' turns it into a path
 * that ".." climbs out of, and in the option string of /dev/nvme-fabrics, which ',' separates.
 */
public final class Nqn {

    public static final int MAX_BYTES = 223;
    static final String UUID_FORM = "nqn.2014-08.org.nvmexpress:uuid:";
    public static final String RULE = "nqn.yyyy-mm.<reverse domain>:<printable ASCII but space, '/' and ','> or "
            + UUID_FORM + "<8-4-4-4-12 hex digits>, at most " + MAX_BYTES + " bytes";

    private static final Pattern NAME = Pattern.compile("nqn\\.[0-9]{4}-(0[1-9]|1[0-2])\\.[a-z0-9][a-z0-9.-]*:[\\x21-\\x7e&&[^/,]]+");
    private static final Pattern UUID = Pattern.compile("\\p{XDigit}{8}-\\p{XDigit}{4}-\\p{XDigit}{4}-\\p{XDigit}{4}-\\p{XDigit}{12}");

    private Nqn() {}

    public static boolean valid(String nqn) {
        if (nqn == null || nqn.getBytes(StandardCharsets.UTF_8).length > MAX_BYTES || !NAME.matcher(nqn).matches()) {
            return false;
        }
        // The UUID form is the generic form too, with "uuid:..." as its text: only a UUID may follow.
        return !nqn.startsWith(UUID_FORM) || UUID.matcher(nqn.substring(UUID_FORM.length())).matches();
    }

    /** The NQN, or an IllegalArgumentException saying why it is not one. */
    public static String require(String nqn) {
        if (!valid(nqn)) {
            throw new IllegalArgumentException("not an NQN (" + RULE + "): " + nqn);
        }
        return nqn;
    }
}
