package io.dnv.core.volume.operation;

import io.dnv.core.node.ToAgent;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Holding host I/O on several nodes at once under one token: every node's agent suspends its
 * devices (a volume's stripes; later the stripes of every volume of a group), and resumes them
 * by itself once its bound ({@link Peers#holdBound}, {@link #BOUND} by default) has passed, so a hold never outlives its bound even when the
 * control member that took it dies. Whatever was done while everything was held is
 * crash-consistent only if every hold was intact until released: {@link #release} says which
 * were not.
 */
final class IoHolds {

    /**
     * How long an agent holds at most. Far below the hosts' I/O timeout (HostContract, 30 s), so
     * a hold the control plane cannot end is a pause to the hosts, never an error; far above
     * what a snapshot holds (tens of milliseconds), so a busy journal does not make it lapse.
     */
    public static final Duration BOUND = Duration.ofSeconds(2);

    private IoHolds() {}

    /**
     * Every node holds its devices → {@link StepResult.Held}. A node that refuses or does not
     * answer → every hold under the token is released at once (nobody waits for the bound) and
     * {@link StepResult.Refused} says why.
     */
    static CompletionStage<StepResult> hold(Peers peers, String token, Map<String, List<String>> devices) {
        List<String> nodes = List.copyOf(devices.keySet());
        List<CompletionStage<ToAgent.OrderDone>> asks = nodes.stream()
                .map(n -> answered(n, peers.holdIo(n, token, devices.get(n), peers.holdBound()))).toList();
        return Stages.all(asks).thenCompose(answers -> {
            List<String> refusals = refusals(nodes, answers);
            if (refusals.isEmpty()) {
                Map<String, String> holds = new LinkedHashMap<>();
                for (int i = 0; i < nodes.size(); i++) {
                    holds.put(nodes.get(i), answers.get(i).holdId());
                }
                return CompletableFuture.completedFuture(new StepResult.Held(holds));
            }
            return releaseAll(peers, token, nodes).handle((done, t) ->
                    new StepResult.Refused("could not hold I/O: " + String.join("; ", refusals)));
        });
    }

    /**
     * Every holder resumes → {@link StepResult.Released} with the nodes whose hold lapsed (or was
     * lost with its agent) before this release, and the longest hold. A release the agent
     * refuses fails the step (it is asked again; an agent answers a repeated release the same).
     */
    static CompletionStage<StepResult> release(Peers peers, String token, Map<String, String> holds) {
        List<String> nodes = List.copyOf(holds.keySet());
        return Stages.all(nodes.stream().map(n -> peers.releaseIo(n, token, holds.get(n))).toList()).thenApply(answers -> {
            List<String> refusals = refusals(nodes, answers);
            if (!refusals.isEmpty()) {
                throw new IllegalStateException("could not release I/O: " + String.join("; ", refusals));
            }
            List<String> lapsed = new ArrayList<>();
            long heldMicros = 0;
            for (int i = 0; i < nodes.size(); i++) {
                if (!answers.get(i).intact()) {
                    lapsed.add(nodes.get(i));
                }
                heldMicros = Math.max(heldMicros, answers.get(i).heldMicros());
            }
            return new StepResult.Released(lapsed, Math.round(heldMicros / 1000.0));
        });
    }

    /** Whatever the token holds on these nodes resumes (an undo); fails unless every node answered. */
    static CompletionStage<Void> releaseAll(Peers peers, String token, Collection<String> nodes) {
        List<String> ns = List.copyOf(nodes);
        return Stages.all(ns.stream().map(n -> peers.releaseIo(n, token, "")).toList()).thenAccept(answers -> {
            List<String> refusals = refusals(ns, answers);
            if (!refusals.isEmpty()) {
                throw new IllegalStateException("could not release I/O: " + String.join("; ", refusals));
            }
        });
    }

    /** An order's answer, a silence turned into a refusal that names the node. */
    static CompletionStage<ToAgent.OrderDone> answered(String node, CompletionStage<ToAgent.OrderDone> ask) {
        return ask.handle((done, t) -> t == null ? done : ToAgent.OrderDone.refused(node + " did not answer: "
                + (t.getCause() != null ? t.getCause() : t)));
    }

    static List<String> refusals(List<String> nodes, List<ToAgent.OrderDone> answers) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            String node = nodes.get(i);
            answers.get(i).refusal().ifPresent(r -> out.add(r.startsWith(node) ? r : node + ": " + r));
        }
        return out;
    }
}
