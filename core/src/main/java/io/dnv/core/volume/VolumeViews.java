package io.dnv.core.volume;

import io.dnv.core.node.NodeEndpoints;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** How a volume's state reads in the API. */
final class VolumeViews {

    private VolumeViews() {}

    static VolumeView of(String volumeId, Volume.State s, Optional<VolumeView.OperationView> operation) {
        VolumeSpec spec = s.spec().orElse(null);
        long size = spec == null || s.phase() != Volume.Phase.READY ? 0 : VolumeLayout.of(spec).usableBytes();
        List<VolumeView.Controller> controllers = new ArrayList<>();
        List<VolumeView.LegView> legs = new ArrayList<>();
        s.placement().ifPresent(p -> {
            for (int slot = 0; slot < p.controllers().size(); slot++) {
                Placement.Controller c = p.controllers().get(slot);
                NodeEndpoints e = s.endpoints().get(c.nodeId());
                var port = e.port(c.exportPortId());
                controllers.add(new VolumeView.Controller(c.nodeId(), slot, c.role().name(),
                        c.role() == Placement.Role.ACTIVE ? "optimized" : "inaccessible", port.transport(), port.address(), port.serviceId()));
            }
            for (int leg = 0; leg < p.legs().size(); leg++) {
                List<VolumeView.GroupView> groups = new ArrayList<>();
                List<Placement.Group> gs = p.legs().get(leg).groups();
                for (int g = 0; g < gs.size(); g++) {
                    groups.add(new VolumeView.GroupView(g, gs.get(g).brandNew(), gs.get(g).sides().stream()
                            .map(x -> new VolumeView.Side(x.nodeId(), x.startSector(), x.lengthSectors())).toList()));
                }
                legs.add(new VolumeView.LegView(leg, p.owner(leg, spec).nodeId(), groups));
            }
        });
        String state = switch (s.phase()) {
            case EMPTY, DELETED -> "DELETED";
            default -> s.phase().name();
        };
        String step = operation.map(VolumeView.OperationView::stage).orElse(s.phase().name().toLowerCase());
        return new VolumeView(volumeId, s.name(), state, step, size, spec, controllers, legs, s.attachments(), s.error(),
                s.createdAt().orElse(Instant.EPOCH), operation, Optional.empty());
    }
}
