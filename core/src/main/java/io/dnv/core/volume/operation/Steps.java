package io.dnv.core.volume.operation;

import io.dnv.core.node.StorageNode;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.plan.Planner;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeLayout;
import org.apache.pekko.Done;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/** Steps more than one operation takes: hand the nodes their objects, wait for the agents, give back. */
final class Steps {

    private Steps() {}

    /** The objects every node must hold for the volume with {@code hosts} allowed. */
    static Map<String, NodeObjects> plan(Volume.State s, List<String> hosts) {
        return Planner.plan(s.name(), s.spec().orElseThrow(), VolumeLayout.of(s.spec().orElseThrow()), s.placement().orElseThrow(),
                hosts, s.endpoints());
    }

    /** Hands every involved node its objects (a node the plan leaves out gets none); answers the generations. */
    static CompletionStage<StepResult> apply(Volume.State s, Peers peers, Map<String, NodeObjects> plan) {
        List<String> nodes = s.nodes();
        List<CompletionStage<Long>> asks = new ArrayList<>();
        for (String node : nodes) {
            asks.add(peers.setObjects(node, s.name(), plan.getOrDefault(node, NodeObjects.NONE)));
        }
        return Stages.all(asks).thenApply(gens -> {
            Map<String, Long> byNode = new LinkedHashMap<>();
            for (int i = 0; i < nodes.size(); i++) {
                byNode.put(nodes.get(i), gens.get(i));
            }
            return new StepResult.Applied(byNode);
        });
    }

    /** Whether every node's agent has the volume's objects in place as of the generation it must reach. */
    static CompletionStage<StepResult.Awaited> converge(Volume.State s, Peers peers, Map<String, Long> awaiting) {
        List<CompletionStage<StorageNode.Progress>> asks = awaiting.entrySet().stream()
                .map(e -> peers.progress(e.getKey(), s.name(), e.getValue())).toList();
        return Stages.all(asks).thenApply(progress -> new StepResult.Awaited(progress.stream()
                .filter(p -> !p.settled()).map(StorageNode.Progress::waitingFor).toList()));
    }

    /**
     * Gives back every leg's extents and every chosen controller's ANA group. A node that may
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
        s.choice().ifPresent(c -> c.controllers().forEach(node -> asks.add(peers.releaseAnaGroup(node, s.name()))));
        return Stages.all(asks).thenApply(done -> new StepResult.Done());
    }

    static <T extends StepResult> T expect(StepResult r, Class<T> type, Operation op) {
        if (!type.isInstance(r)) {
            throw new IllegalStateException(op.name() + " at " + op.stageName() + " expects " + type.getSimpleName() + ", got " + r);
        }
        return type.cast(r);
    }
}
