package io.dnv.node.agent;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.DeviceRef;
import io.dnv.core.kernel.DmDevice;
import io.dnv.core.kernel.DmTarget;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.Raid1Status;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Predicate;

/**
 * A node's desired raid1 groups, each side with the two slices it is made of and the import
 * (an LD of a disk node) the slices map: what {@link SideWatcher} and {@link Raid1Sides} look at.
 */
record Raid1Groups(List<Group> groups, Map<String, int[]> sideOf) {

    record Group(DmDevice raid, List<Side> sides) {}

    record Side(List<DmDevice> slices, Optional<NvmeConnection> connection) {}

    static Raid1Groups of(DesiredNode desired) {
        Map<String, DmDevice> dm = new HashMap<>();
        List<DmDevice> raids = new ArrayList<>();
        for (DmDevice d : desired.dmDevices()) {
            dm.put(d.name(), d);
            if (d.table().lines().size() == 1 && d.table().lines().get(0).target() instanceof DmTarget.Raid1) {
                raids.add(d);
            }
        }
        if (raids.isEmpty()) {
            return new Raid1Groups(List.of(), Map.of());
        }
        Map<java.util.UUID, NvmeConnection> imports = new HashMap<>();
        desired.connections().forEach(c -> imports.put(Names.namespaceUuid(c.subsystemNqn()), c));
        List<Group> groups = new ArrayList<>();
        Map<String, int[]> sideOf = new HashMap<>();
        for (DmDevice raid : raids) {
            List<Side> sides = new ArrayList<>();
            for (DmTarget.Raid1.Side side : ((DmTarget.Raid1) raid.table().lines().get(0).target()).sides()) {
                List<DmDevice> slices = new ArrayList<>();
                Optional<NvmeConnection> connection = Optional.empty();
                for (Optional<DeviceRef> ref : List.of(side.meta(), side.data())) {
                    if (ref.isPresent() && ref.get() instanceof DeviceRef.Dm d && dm.containsKey(d.name())) {
                        DmDevice slice = dm.get(d.name());
                        slices.add(slice);
                        for (DeviceRef below : slice.table().devices()) {
                            if (below instanceof DeviceRef.Namespace ns && imports.containsKey(ns.uuid())) {
                                connection = Optional.of(imports.get(ns.uuid()));
                            }
                        }
                    }
                }
                int[] at = {groups.size(), sides.size()};
                connection.ifPresent(c -> sideOf.put(c.key(), at));
                sides.add(new Side(slices, connection));
            }
            groups.add(new Group(raid, sides));
        }
        return new Raid1Groups(groups, sideOf);
    }

    boolean isEmpty() {
        return groups.isEmpty();
    }

    /**
     * Another side of the group that md has in sync and whose import, if it has one, is live: a
     * side the group can serve from without {@code side}.
     */
    static OptionalInt partner(Group g, Raid1Status status, int side, Predicate<String> importLive) {
        for (int o = 0; o < g.sides().size(); o++) {
            Optional<NvmeConnection> c = g.sides().get(o).connection();
            if (o != side && status.inSync(o) && (c.isEmpty() || importLive.test(c.get().key()))) {
                return OptionalInt.of(o);
            }
        }
        return OptionalInt.empty();
    }
}
