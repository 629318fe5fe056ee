package io.dnv.core.volume;

import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.volume.operation.FailOver;
import io.dnv.core.volume.operation.Operation;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** How a volume's state reads in the API. */
final class VolumeViews {

    private VolumeViews() {}

    /** {@code seen}: a hydrating clone's progress as last looked at, fresher than the recorded one. */
    static VolumeView of(String volumeId, Volume.State s, Optional<VolumeView.OperationView> operation, Optional<Clone.Progress> seen) {
        VolumeSpec spec = s.spec().orElse(null);
        long size = spec == null || s.phase() != Volume.Phase.READY ? 0 : VolumeLayout.of(spec).usableBytes();
        List<VolumeView.Controller> controllers = new ArrayList<>();
        List<VolumeView.LegView> legs = new ArrayList<>();
        s.placement().ifPresent(p -> {
            for (int slot = 0; slot < p.controllers().size(); slot++) {
                Placement.Controller c = p.controllers().get(slot);
                NodeEndpoints e = s.endpoints().get(c.nodeId());
                var port = e.port(c.exportPortId());
                // A hydrating clone's actives but the first wait, inaccessible, for the swap.
                boolean serves = c.role() == Placement.Role.ACTIVE && (slot == 0 || s.cloneOf().flatMap(Clone::hydratingFrom).isEmpty());
                controllers.add(new VolumeView.Controller(c.nodeId(), slot, c.role().name(), serves ? "optimized" : "inaccessible", port.transport(), port.address(), port.serviceId()));
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
                s.createdAt().orElse(Instant.EPOCH), operation, Optional.empty(), s.lastFailover().map(VolumeViews::failover),
                Optional.empty(),
                s.cloneOf().map(c -> clone(c, c.status() == Clone.Status.HYDRATING ? seen.orElse(c.progress()) : c.progress())));
    }

    private static VolumeView.CloneView clone(Clone c, Clone.Progress p) {
        long region = io.dnv.core.plan.CloneSource.REGION_SECTORS * VolumeLayout.SECTOR;
        long total = c.exported().map(e -> e.legCount() * e.legSectors() * VolumeLayout.SECTOR).orElse(0L);
        boolean done = c.status() == Clone.Status.HYDRATED || c.status() == Clone.Status.DONE;
        return new VolumeView.CloneView(c.source().volumeId(), c.snapshotId(), c.status().name(), done ? 100 : p.percent(),
                done ? total : Math.min(total, p.hydratedRegions() * region), total, done ? 0 : p.bytesPerSecond(), p.at());
    }

    /** Each stage with how long it took: until the next began, the last until {@code now} (or, once over, until "done"). */
    static List<VolumeView.StageTiming> stages(List<Operation.Timing> timeline, Instant now) {
        List<VolumeView.StageTiming> stages = new ArrayList<>();
        for (int i = 0; i < timeline.size(); i++) {
            Operation.Timing t = timeline.get(i);
            if (t.stage().equals(Operation.Timing.END)) {
                break;
            }
            Instant end = i + 1 < timeline.size() ? timeline.get(i + 1).at() : now;
            // In whole milliseconds of the clock, so the stages add up to the whole.
            stages.add(new VolumeView.StageTiming(t.stage(), t.at(), end.toEpochMilli() - t.at().toEpochMilli()));
        }
        return stages;
    }

    private static VolumeView.FailoverView failover(FailOver.Summary f) {
        List<Operation.Timing> t = f.timeline();
        Optional<Instant> ended = t.stream().filter(x -> x.stage().equals(Operation.Timing.END)).map(Operation.Timing::at).findFirst();
        return new VolumeView.FailoverView(f.failedNode(), f.requestedAt(), ended,
                ended.map(e -> e.toEpochMilli() - f.requestedAt().toEpochMilli()).orElse(0L), present(f.successor()), present(f.standby()),
                present(f.note()), present(f.error()), stages(t, ended.orElse(f.requestedAt())));
    }

    private static Optional<String> present(String s) {
        return s == null || s.isEmpty() ? Optional.empty() : Optional.of(s);
    }
}
