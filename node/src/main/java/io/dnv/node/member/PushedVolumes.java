package io.dnv.node.member;

import io.dnv.core.node.ToAgent;
import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.core.node.ZeroingProgress;
import io.dnv.core.plan.DesiredNodes;
import io.dnv.core.plan.NodeObjects;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
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
    // Which volumes have an object of each name: every pass's heartbeat asks, and a node holds
    // thousands of names.
    private final Map<String, Set<String>> volumesByName = new HashMap<>();
    // The volumes the last pass's devices name: read from thousands of dm names once per pass,
    // not again at every heartbeat in between (the same pass is reported once a second).
    private ObservedKernel namedIn;
    private List<ZeroingProgress> namedInZeroing;
    private Set<String> volumesNamed = Set.of();

    void put(ToAgent.PutVolume put) {
        hold(put.volumeId(), put.objects());
        versions.put(put.volumeId(), put.version());
    }

    private void hold(String volumeId, NodeObjects objects) {
        NodeObjects before = volumes.put(volumeId, objects);
        if (before != null) {
            unindex(volumeId, before);
        }
        objects.names().forEach(n -> volumesByName.computeIfAbsent(n, k -> new HashSet<>()).add(volumeId));
    }

    private void unindex(String volumeId, NodeObjects objects) {
        for (String n : objects.names()) {
            Set<String> holders = volumesByName.get(n);
            if (holders != null && holders.remove(volumeId) && holders.isEmpty()) {
                volumesByName.remove(n);
            }
        }
    }

    /**
     * The same fold the entity made. Held in another version (or not at all), it is left alone:
     * the next Sync then names a version this node does not have, and the entity sends everything again.
     */
    void created(ToAgent.VolumeCreated created) {
        Long held = versions.get(created.volumeId());
        if (held != null && held == created.fromVersion()) {
            hold(created.volumeId(), volumes.get(created.volumeId()).created());
            versions.put(created.volumeId(), created.version());
        }
    }

    /** Drops the volumes the Sync does not name; the generation, if every named one is here as named. */
    Optional<DesiredNode> sync(ToAgent.Sync sync) {
        volumes.entrySet().removeIf(v -> {
            boolean dropped = !sync.versions().containsKey(v.getKey());
            if (dropped) {
                unindex(v.getKey(), v.getValue());
            }
            return dropped;
        });
        versions.keySet().retainAll(sync.versions().keySet());
        if (!versions.equals(sync.versions())) {
            return Optional.empty();
        }
        List<NodeObjects> objects = new java.util.ArrayList<>(volumes.values());
        objects.add(sync.witnesses());
        return Optional.of(DesiredNodes.assemble(sync.endpoints(), sync.generation(), objects, sync.toZero()));
    }

    /** The volumes held here that have an object named in {@code names} (a pass's unsettled objects). */
    Set<String> volumesWithAny(Set<String> names) {
        if (names.isEmpty()) {
            return Set.of();
        }
        Set<String> volumeIds = new HashSet<>();
        names.forEach(n -> volumeIds.addAll(volumesByName.getOrDefault(n, Set.of())));
        return volumeIds;
    }

    /**
     * Volumes not held here that {@code nodeId} still holds bytes of: a dm device in
     * {@code observed} (an LD's device goes only after it was zeroed), or a released LD in
     * {@code zeroing} (its device lost in a power cycle, the rest of its extent not zeroed yet).
     */
    Set<String> leftovers(String nodeId, ObservedKernel observed, List<ZeroingProgress> zeroing) {
        if (observed != namedIn || zeroing != namedInZeroing) {
            Set<String> named = new HashSet<>();
            observed.dmDevices().forEach(d -> Names.volumeOfDm(nodeId, d.name()).ifPresent(named::add));
            zeroing.forEach(z -> Names.volumeOfDm(nodeId, z.device()).ifPresent(named::add));
            namedIn = observed;
            namedInZeroing = zeroing;
            volumesNamed = named;
        }
        Set<String> left = new HashSet<>(volumesNamed);
        left.removeIf(volumes::containsKey);
        return left;
    }

    int size() {
        return versions.size();
    }
}
