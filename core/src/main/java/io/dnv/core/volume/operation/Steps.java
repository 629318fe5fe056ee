package io.dnv.core.volume.operation;

import io.dnv.core.node.StorageNode;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.plan.Planner;
import io.dnv.core.plan.SnapshotExport;
import io.dnv.core.volume.Clone;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.Snapshot;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeLayout;
import org.apache.pekko.Done;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletionStage;

/** Steps more than one operation takes: hand the nodes their objects, wait for the agents, give back. */
final class Steps {

    private Steps() {}

    /**
     * The objects every node must hold for the volume with {@code hosts} allowed, its snapshots
     * exported to their importers and, while it is a clone that hydrates, its first active over dm-clone.
     */
    static Map<String, NodeObjects> plan(Volume.State s, List<String> hosts) {
        return plan(s, hosts, VolumeLayout.of(s.spec().orElseThrow()));
    }

    /**
     * The same with legs and stripes sized by {@code layout} (an extend's passes). Every plan
     * keeps the exports and the clone: a pool growth planned without them took a source's
     * snapshot export from under its hydrating clone, and a clone's own growth swapped it for
     * its stripe before it was hydrated (seen on Linux).
     */
    static Map<String, NodeObjects> plan(Volume.State s, List<String> hosts, VolumeLayout layout) {
        return Planner.plan(s.name(), s.spec().orElseThrow(), layout, s.placement().orElseThrow(), hosts, s.endpoints(), exports(s),
                s.cloneOf().flatMap(Clone::hydratingFrom));
    }

    /** Every imported snapshot, with the nodes that import it. */
    static List<SnapshotExport> exports(Volume.State s) {
        int legs = s.spec().orElseThrow().legCount();
        Map<String, TreeSet<String>> importers = new LinkedHashMap<>();
        s.snapshots().imports().forEach(i -> importers.computeIfAbsent(i.snapshotId(), id -> new TreeSet<>()).add(i.nodeId()));
        List<SnapshotExport> out = new ArrayList<>();
        importers.forEach((id, nodes) -> {
            Snapshot snap = s.snapshots().get(id).orElseThrow();
            out.add(new SnapshotExport(snap.thinId(), VolumeLayout.legSectors(snap.sizeBytes(), legs), List.copyOf(nodes)));
        });
        return out;
    }

    /**
     * Hands every involved node its objects (a node the plan leaves out gets none); answers the
     * generations each agent must reach. A lost node (failed: docs/failover.md) is handed its
     * objects too, but never waited for: it may never answer again.
     */
    static CompletionStage<StepResult> apply(Volume.State s, Peers peers, Map<String, NodeObjects> plan) {
        List<String> nodes = s.nodes();
        List<CompletionStage<Long>> asks = new ArrayList<>();
        for (String node : nodes) {
            asks.add(peers.setObjects(node, s.name(), plan.getOrDefault(node, NodeObjects.NONE)));
        }
        Set<String> lost = s.placement().map(Placement::lost).orElse(Set.of());
        return Stages.all(asks).thenApply(gens -> {
            Map<String, Long> byNode = new LinkedHashMap<>();
            for (int i = 0; i < nodes.size(); i++) {
                if (!lost.contains(nodes.get(i))) {
                    byNode.put(nodes.get(i), gens.get(i));
                }
            }
            return new StepResult.Applied(byNode);
        });
    }

    /**
     * Whether every node's agent has the volume's objects in place as of the generation it must
     * reach; for each that has not, whether the control plane declared its node failed (a volume
     * waiting for such a node may never have been told: it reserved there after the failure was
     * decided).
     */
    static CompletionStage<StepResult.Awaited> converge(Volume.State s, Peers peers, Map<String, Long> awaiting) {
        List<String> nodes = List.copyOf(awaiting.keySet());
        List<CompletionStage<StorageNode.Progress>> asks = nodes.stream().map(node -> peers.progress(node, s.name(), awaiting.get(node)))
                .toList();
        return Stages.all(asks).thenCompose(progress -> {
            List<String> unsettled = new ArrayList<>();
            List<String> waitingFor = new ArrayList<>();
            for (int i = 0; i < nodes.size(); i++) {
                if (!progress.get(i).settled()) {
                    unsettled.add(nodes.get(i));
                    waitingFor.add(progress.get(i).waitingFor());
                }
            }
            return Stages.all(unsettled.stream().map(peers::failed).toList()).thenApply(failed -> {
                List<String> failedNodes = new ArrayList<>();
                for (int i = 0; i < unsettled.size(); i++) {
                    if (failed.get(i)) {
                        failedNodes.add(unsettled.get(i));
                    }
                }
                return new StepResult.Awaited(waitingFor, failedNodes);
            });
        });
    }

    /**
     * Every agent waited for has what it was handed, but for importers the control plane declared
     * failed: a node that holds nothing of the volume's own and only imports a snapshot of it is
     * not waited for. The volume importing there fails over and asks for its import on its
     * successor, which it cannot while this volume waits (docs/clone.md).
     */
    static boolean settledButFailedImporters(Volume.State s, StepResult.Awaited a) {
        Set<String> own = Set.copyOf(s.ownNodes());
        return a.settled() || a.failed().size() == a.waitingFor().size() && a.failed().stream().noneMatch(own::contains);
    }

    /**
     * Gives back every leg's extents and every place in an ANA group the volume may hold. A node that may
     * still hold the volume's objects keeps them reserved until its agent confirms they are
     * gone (StorageNode defers the release), so this is safe right after the objects were taken
     * away, even from a node that is down.
     */
    static CompletionStage<StepResult> releaseEverything(Volume.State s, Peers peers) {
        List<CompletionStage<Done>> asks = new ArrayList<>();
        s.spec().ifPresent(spec -> {
            for (int leg = 0; leg < spec.legCount(); leg++) {
                asks.add(peers.releaseLeg(s.name(), leg));
            }
        });
        // Every node that may hold a place in an ANA group for it: those it chose at create, and
        // those a failover moved it to, or away from.
        Set<String> controllerNodes = new TreeSet<>();
        s.choice().ifPresent(c -> controllerNodes.addAll(c.controllers()));
        s.placement().ifPresent(p -> {
            p.controllers().forEach(c -> controllerNodes.add(c.nodeId()));
            controllerNodes.addAll(p.lost());
        });
        controllerNodes.forEach(node -> asks.add(peers.releaseAnaGroup(node, s.name())));
        return Stages.all(asks).thenApply(done -> new StepResult.Done());
    }

    static <T extends StepResult> T expect(StepResult r, Class<T> type, Operation op) {
        if (!type.isInstance(r)) {
            throw new IllegalStateException(op.name() + " at " + op.stageName() + " expects " + type.getSimpleName() + ", got " + r);
        }
        return type.cast(r);
    }
}
