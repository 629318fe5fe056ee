package io.dnv.node.member;

import io.dnv.core.node.ToAgent;
import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.plan.DesiredNodes;
import io.dnv.core.plan.NodeObjects;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What the control plane has pushed to this node, volume by volume, each in the version it was
 * sent with; a Sync turns it into a generation for the agent once every volume it names is here
 * as named. Not thread-safe: the member's actor owns it.
 */
final class PushedVolumes {

    private final Map<String, NodeObjects> volumes = new HashMap<>();
    private final Map<String, Long> versions = new HashMap<>();

    void put(ToAgent.PutVolume put) {
        volumes.put(put.volumeId(), put.objects());
        versions.put(put.volumeId(), put.version());
    }

    /**
     * The same fold the entity made. Held in another version (or not at all), it is left alone:
     * the next Sync then names a version this node does not have, and the entity sends everything again.
     */
    void created(ToAgent.VolumeCreated created) {
        Long held = versions.get(created.volumeId());
        if (held != null && held == created.fromVersion()) {
            volumes.put(created.volumeId(), volumes.get(created.volumeId()).created());
            versions.put(created.volumeId(), created.version());
        }
    }

    /** Drops the volumes the Sync does not name; the generation, if every named one is here as named. */
    Optional<DesiredNode> sync(ToAgent.Sync sync) {
        volumes.keySet().retainAll(sync.versions().keySet());
        versions.keySet().retainAll(sync.versions().keySet());
        if (!versions.equals(sync.versions())) {
            return Optional.empty();
        }
        return Optional.of(DesiredNodes.assemble(sync.endpoints(), sync.generation(), volumes.values()));
    }

    /** The volumes held here that have an object named in {@code names} (a pass's unsettled objects). */
    Set<String> volumesWithAny(Set<String> names) {
        if (names.isEmpty()) {
            return Set.of();
        }
        Set<String> volumeIds = new HashSet<>();
        volumes.forEach((id, objects) -> {
            if (objects.names().stream().anyMatch(names::contains)) {
                volumeIds.add(id);
            }
        });
        return volumeIds;
    }

    int size() {
        return versions.size();
    }
}
