package io.dnv.core.plan;

import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.DmDevice;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.NvmetSubsystem;

import java.util.ArrayList;
import java.util.List;

/** What one volume needs on one node: dm devices bottom-up, exports, imports and ANA group states. */
public record NodeObjects(List<DmDevice> dmDevices, List<NvmetSubsystem> subsystems, List<NvmeConnection> connections,
                          List<AnaGroup> anaGroups) {

    public record AnaGroup(int portId, int group, AnaState state) {}

    /** Nothing: what a node holds of a volume that is being removed from it. */
    public static final NodeObjects NONE = new NodeObjects(List.of(), List.of(), List.of(), List.of());

    public NodeObjects {
        dmDevices = List.copyOf(dmDevices);
        subsystems = List.copyOf(subsystems);
        connections = List.copyOf(connections);
        anaGroups = List.copyOf(anaGroups);
    }

    public boolean isEmpty() {
        return dmDevices.isEmpty() && subsystems.isEmpty() && connections.isEmpty() && anaGroups.isEmpty();
    }

    /**
     * The objects once the volume's groups were created: what {@link Planner} plans for the same
     * placement with no group brand new (PlannerTest holds the two to each other).
     */
    public NodeObjects created() {
        return new NodeObjects(dmDevices.stream().map(DmDevice::created).toList(), subsystems, connections, anaGroups);
    }

    /** The names an agent's pass gives these objects when it leaves one unsettled. */
    public List<String> names() {
        List<String> names = new ArrayList<>();
        dmDevices.forEach(d -> names.add(d.name()));
        subsystems.forEach(s -> names.add(s.nqn()));
        connections.forEach(c -> names.add(c.key()));
        anaGroups.forEach(g -> {
            names.add("port " + g.portId());
            names.add("port " + g.portId() + " ana group " + g.group());
        });
        return names;
    }

    /** Collects a node's objects while the planner walks the volume. */
    static final class Builder {
        final List<DmDevice> dm = new ArrayList<>();
        final List<NvmetSubsystem> subsystems = new ArrayList<>();
        final List<NvmeConnection> connections = new ArrayList<>();
        final List<AnaGroup> ana = new ArrayList<>();

        NodeObjects build() {
            return new NodeObjects(dm, subsystems, connections, ana);
        }
    }
}
