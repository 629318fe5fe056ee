package io.dnv.node.agent;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.DmDevice;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.Raid1Status;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What a pass does about raid1 sides (docs/architecture.md, "Internal connections"); failing a
 * side whose disk node went away is {@link SideWatcher}'s.
 *
 * <p>When a dead side's import is back, the pass reloads the side's two slices onto the namespace
 * there is now (the old one went with its controller, even if the new one got its number) and then
 * the group, with the table it has once created (never nosync): md takes the side back and copies
 * the regions its bitmap marked written meanwhile. A side that fails again is re-added again
 * after a backoff.
 *
 * <p>Every group serving with a side down, dead or recovering is reported in the pass's
 * {@code degraded} list, not as a wait: the node is as converged as it can be while a disk node
 * is away, and the volume keeps serving.
 */
final class Raid1Sides {

    /** How soon the agent looks again while a side is down or coming back. */
    static final Duration RECHECK = Duration.ofSeconds(1);
    private static final Duration FIRST_READD_BACKOFF = Duration.ofSeconds(1);
    private static final Duration MAX_READD_BACKOFF = Duration.ofSeconds(60);

    /** Per group: {earliest next re-add (System.nanoTime), backoff after it}. */
    private final Map<String, long[]> readds = new HashMap<>();
    /** The groups of the desired state they were read from: read once per desired state, and only when needed. */
    private DesiredNode groupsOf;
    private Raid1Groups groups;
    private Set<String> sideSlices;

    /**
     * Re-adds each dead side whose import is live again and reports every group that is not
     * whole. Run after the dm devices converged.
     */
    void readdAndReport(Pass pass, DeviceResolver devices) {
        if (!anythingOff(pass)) {
            readds.clear();
            return;
        }
        long now = System.nanoTime();
        Set<String> seen = new HashSet<>();
        for (Raid1Groups.Group g : groups(pass).groups()) {
            seen.add(g.raid().name());
            Optional<Raid1Status> status = status(pass, g);
            if (status.isEmpty()) {
                continue;   // not assembled yet: a create, which waits for its imports as a create does
            }
            List<Integer> back = new ArrayList<>();
            for (int s = 0; s < g.sides().size(); s++) {
                Optional<NvmeConnection> c = g.sides().get(s).connection();
                String from = c.map(x -> " from " + Unreachable.target(x)).orElse("");
                boolean importLive = c.isEmpty() || live(pass, c.get().key());
                if (status.get().dead(s) && g.sides().get(s).slices().isEmpty()) {
                    pass.degraded(g.raid().name(), "side " + s + " missing: its disk node failed (a new side must be rebuilt)");
                } else if (status.get().dead(s)) {
                    if (importLive && g.sides().get(s).slices().stream().allMatch(slice -> present(devices, slice))) {
                        back.add(s);
                    } else {
                        pass.degraded(g.raid().name(), "side " + s + " failed; its import" + from + " is not back");
                    }
                } else if (!importLive) {
                    boolean partner = Raid1Groups.partner(g, status.get(), s, k -> live(pass, k)).isPresent();
                    pass.degraded(g.raid().name(), "side " + s + "'s import" + from + " is down" + (partner
                            ? "; failed if still down after " + SideWatcher.GRACE.toMillis() + " ms"
                            : " and no other side is in sync: writes wait for it (at most "
                                    + c.get().timeouts().holdSeconds() + " s)"));
                }
            }
            if (status.get().health().contains("a")) {
                pass.degraded(g.raid().name(), "recovering: " + status.get().syncedSectors() + " of "
                        + status.get().totalSectors() + " sectors in sync");
            }
            if (!back.isEmpty()) {
                readd(pass, devices, g, back, now);
            } else if (!status.get().health().contains("D")) {
                readds.remove(g.raid().name());
            }
        }
        readds.keySet().retainAll(seen);
    }

    private void readd(Pass pass, DeviceResolver devices, Raid1Groups.Group g, List<Integer> back, long now) {
        long[] retry = readds.get(g.raid().name());
        if (retry != null && now < retry[0]) {
            pass.degraded(g.raid().name(), "side(s) " + back + " back; re-added again in " + (retry[0] - now) / 1_000_000 + " ms");
            return;
        }
        long backoff = retry == null ? FIRST_READD_BACKOFF.toNanos() : Math.min(retry[1] * 2, MAX_READD_BACKOFF.toNanos());
        readds.put(g.raid().name(), new long[] {now + backoff, backoff});
        boolean done = true;
        for (int s : back) {
            for (DmDevice slice : g.sides().get(s).slices()) {
                done = done && reload(pass, devices, slice);
            }
        }
        done = done && reload(pass, devices, g.raid().created());
        pass.degraded(g.raid().name(), "side(s) " + back + " back: " + (done ? "re-added" : "re-adding refused"));
    }

    /** Whether something may be off: an import of the desired state not live, or a raid1 not all in sync. */
    private static boolean anythingOff(Pass pass) {
        for (NvmeConnection c : pass.desired.connections()) {
            if (!live(pass, c.key())) {
                return true;
            }
        }
        return pass.observed.dmDevices().stream().anyMatch(d -> Raid1Status.parse(d.status())
                .filter(st -> st.health().contains("D") || st.health().contains("a")).isPresent());
    }

    /**
     * The dm devices of sides (the slices over imports), whose import may be gone while the group
     * serves. Read once per pass: a pass after a disk node died asks for each of its thousands of slices.
     */
    Set<String> sideSlices(Pass pass) {
        groups(pass);
        return sideSlices;
    }

    /** The raid1 devices of the groups {@code desired} holds. */
    Set<String> raid1s(DesiredNode desired) {
        Set<String> names = new HashSet<>();
        groups(desired).groups().forEach(g -> names.add(g.raid().name()));
        return names;
    }

    /**
     * The group a desired import is one side of ("&lt;raid1 dm name&gt; side N"), if that group is
     * up with another side in sync and live: it serves without the import.
     */
    Optional<String> servingGroupOf(Pass pass, String connectionKey) {
        int[] at = groups(pass).sideOf().get(connectionKey);
        if (at == null) {
            return Optional.empty();
        }
        Raid1Groups.Group g = groups.groups().get(at[0]);
        Optional<Raid1Status> status = status(pass, g);
        boolean serving = status.isPresent()
                && Raid1Groups.partner(g, status.get(), at[1], k -> !k.equals(connectionKey) && live(pass, k)).isPresent();
        return serving ? Optional.of(g.raid().name() + " side " + at[1]) : Optional.empty();
    }

    private Raid1Groups groups(Pass pass) {
        return groups(pass.desired);
    }

    private Raid1Groups groups(DesiredNode desired) {
        if (groupsOf != desired) {
            groups = Raid1Groups.of(desired);
            Set<String> names = new HashSet<>();
            groups.groups().forEach(g -> g.sides().forEach(s -> s.slices().forEach(d -> names.add(d.name()))));
            sideSlices = names;
            groupsOf = desired;
        }
        return groups;
    }

    private static boolean present(DeviceResolver devices, DmDevice slice) {
        return slice.table().devices().stream().allMatch(ref -> devices.path(ref).isPresent());
    }

    private static boolean reload(Pass pass, DeviceResolver devices, DmDevice d) {
        String table = d.table().render(ref -> devices.path(ref).orElseThrow());
        return pass.mutate("dm load", d.name(), () -> pass.kernel.dmLoad(d.name(), table))
                && pass.mutate("dm suspend", d.name(), () -> pass.kernel.dmSuspend(d.name()))
                && pass.mutate("dm resume", d.name(), () -> pass.kernel.dmResume(d.name()));
    }

    private static Optional<Raid1Status> status(Pass pass, Raid1Groups.Group g) {
        return pass.dm(g.raid().name()).flatMap(d -> Raid1Status.parse(d.status()));
    }

    private static boolean live(Pass pass, String connectionKey) {
        return pass.controllers(connectionKey).stream().anyMatch(c -> c.state().equals("live"));
    }
}
