package io.dnv.core.volume.operation;

import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.node.NodeView;
import io.dnv.core.volume.Leg;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.Placer;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import org.apache.pekko.Done;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * Adding raid1 group {@code group} of {@code size} to every leg of a volume: what an extend does
 * before it grows the legs, and what a pool's growth does before it grows the pools. Choose R disk
 * nodes per leg for it, then every leg reserves it from clean space; a refusal gives every leg's
 * new group back (none was built, so the disk nodes free them at once).
 */
final class NewGroups {

    private NewGroups() {}

    static CompletionStage<StepResult> choose(Volume.State s, Peers peers, int group, VolumeLayout.GroupSize size) {
        VolumeSpec spec = s.spec().orElseThrow();
        return peers.nodes().thenApply(nodes -> {
            Placer.Result r = Placer.chooseGroup(s.name(), spec, group, size.ldSectors(), nodes, s.placement().orElseThrow().lost());
            if (r.choice().isEmpty()) {
                List<String> settling = nodes.stream().filter(NodeView::settling).map(NodeView::id).toList();
                return settling.isEmpty() ? new StepResult.Refused(r.refusal())
                        : new StepResult.Deferred(r.refusal() + "; waiting for the first heartbeats of " + String.join(", ", settling));
            }
            Map<String, NodeEndpoints> endpoints = new LinkedHashMap<>();
            nodes.stream().filter(n -> n.info().isPresent()).forEach(n -> endpoints.put(n.id(), n.info().get().endpoints()));
            return new StepResult.Chosen(r.choice().get(), endpoints);
        });
    }

    /** Chosen: the event that records the sides; nothing fits: {@code failed} (nodes settling after a control restart: asked again a while). */
    static Outcome chosen(StepResult r, Duration stageAge, Operation op,
                          BiFunction<List<List<String>>, Map<String, NodeEndpoints>, Volume.Event> chosen,
                          Function<String, Volume.Event> failed) {
        if (r instanceof StepResult.Chosen c) {
            return Outcome.persist(chosen.apply(c.choice().sides(), c.endpoints()));
        }
        if (r instanceof StepResult.Deferred d && stageAge.compareTo(CreateVolume.SETTLE) < 0) {
            return new Outcome.Again(Duration.ofMillis(500), d.waitingFor());
        }
        return Outcome.persist(failed.apply(r instanceof StepResult.Deferred d ? d.waitingFor()
                : Steps.expect(r, StepResult.Refused.class, op).reason()));
    }

    /**
     * Every leg reserves group {@code group} on its chosen nodes (idempotent: a leg that has it
     * answers it): the placement with the new groups brand new and sized. A refusal gives every
     * leg's new group back first.
     */
    static CompletionStage<StepResult> reserve(Volume.State s, Peers peers, int group, List<List<String>> sides,
                                               VolumeLayout.GroupSize size) {
        VolumeSpec spec = s.spec().orElseThrow();
        List<CompletionStage<Leg.Placed>> asks = new ArrayList<>();
        for (int leg = 0; leg < spec.legCount(); leg++) {
            asks.add(peers.placeLeg(s.name(), leg, group, sides.get(leg), size.ldSectors()));
        }
        return Stages.all(asks).thenCompose(placed -> {
            List<String> refusals = new ArrayList<>();
            placed.stream().filter(p -> p.leg().isEmpty() || p.leg().get().groups().size() <= group)
                    .forEach(p -> refusals.add(p.refusal()));
            if (refusals.isEmpty()) {
                Placement current = s.placement().orElseThrow();
                List<Placement.Leg> legs = new ArrayList<>();
                for (int leg = 0; leg < spec.legCount(); leg++) {
                    List<Placement.Group> groups = new ArrayList<>(current.legs().get(leg).groups());
                    groups.add(placed.get(leg).leg().orElseThrow().groups().get(group).sized(size));
                    legs.add(new Placement.Leg(groups));
                }
                return CompletableFuture.completedFuture(new StepResult.Reserved(new Placement(current.controllers(), legs, current.lost())));
            }
            List<CompletionStage<Done>> releases = new ArrayList<>();
            for (int leg = 0; leg < spec.legCount(); leg++) {
                releases.add(peers.releaseGroup(s.name(), leg, group));
            }
            return Stages.all(releases).thenApply(done -> (StepResult) new StepResult.Refused("could not reserve group " + group
                    + ": " + String.join("; ", refusals)));
        });
    }

    static Outcome reserved(StepResult r, Operation op, Function<Placement, Volume.Event> reserved, Function<String, Volume.Event> failed) {
        return r instanceof StepResult.Reserved p ? Outcome.persist(reserved.apply(p.placement()))
                : Outcome.persist(failed.apply(Steps.expect(r, StepResult.Refused.class, op).reason()));
    }

    /** An AWAIT stage: {@code next} once every agent has the objects, else asked again. */
    static Outcome settled(StepResult r, Operation op, Volume.Event next) {
        StepResult.Awaited a = Steps.expect(r, StepResult.Awaited.class, op);
        return a.settled() ? Outcome.persist(next) : Outcome.poll(String.join("; ", a.waitingFor()));
    }
}
