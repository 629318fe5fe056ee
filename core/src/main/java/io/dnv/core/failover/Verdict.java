package io.dnv.core.failover;

import io.dnv.core.CborSerializable;
import io.dnv.core.node.NodeView;
import io.dnv.core.node.StorageNode;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What the evidence says about one storage node (docs/failover.md, "Detection"): its agent's
 * heartbeats, and the data path as other nodes see it, through the NVMe-oF imports they hold
 * from its address (their agents report each import's state). A crash is silence: peers learn of
 * it only through their own timeouts. So:
 *
 * <ul>
 *   <li>heard from within {@code suspectAfter}: UP;</li>
 *   <li>silent, and some node heard from lately holds a live import from it: its kernel still
 *       serves I/O, only its agent is gone: AGENT_SILENT, no failover (the agent is restarted
 *       and re-adopts);</li>
 *   <li>silent, and every import from it that nodes heard from lately hold is down: FAILED;</li>
 *   <li>silent, and nobody imports from it: FAILED only after {@code failWithoutWitness}, a
 *       longer silence (nothing tells a crashed kernel from a dead agent then), and only if it
 *       was heard from at all since its entity started;</li>
 *   <li>otherwise SUSPECT: not decided yet.</li>
 * </ul>
 *
 * @param evidence what was seen, in words, for the event and the API
 */
public record Verdict(String nodeId, Kind kind, List<String> evidence) implements CborSerializable {

    public enum Kind { UP, SUSPECT, AGENT_SILENT, FAILED }

    public record Settings(Duration suspectAfter, Duration failWithoutWitness) {
        public static final Settings DEFAULT = new Settings(Duration.ofSeconds(1), Duration.ofSeconds(4));
    }

    public static Verdict judge(NodeView node, List<NodeView> all, Instant now, Settings settings) {
        if (node.info().isEmpty()) {
            return new Verdict(node.id(), Kind.UP, List.of("not registered"));
        }
        Optional<Instant> last = node.lastHeartbeat();
        if (last.isEmpty() && node.settling()) {
            return new Verdict(node.id(), Kind.SUSPECT, List.of("not heard from since the control member watching it started"));
        }
        // Not heard from since its entity started, and no longer settling: silent at least that long.
        Instant lastHeard = last.orElse(now.minus(settings.failWithoutWitness()));
        Duration silent = Duration.between(lastHeard, now);
        if (silent.compareTo(settings.suspectAfter()) < 0) {
            return new Verdict(node.id(), Kind.UP, List.of());
        }
        String address = node.info().get().endpoints().address();
        List<String> evidence = new ArrayList<>();
        evidence.add("agent silent for " + silent.toMillis() + " ms" + last.map(t -> " (last heartbeat " + t + ")").orElse(""));
        int liveWitnesses = 0;
        int downWitnesses = 0;
        for (NodeView other : all) {
            if (other.id().equals(node.id()) || other.lastHeartbeat().isEmpty()
                    || Duration.between(other.lastHeartbeat().get(), now).compareTo(settings.suspectAfter()) >= 0) {
                continue;   // only what nodes heard from lately say counts
            }
            StorageNode.Imports imports = other.imports().get(address);
            if (imports == null) {
                continue;
            }
            if (imports.live() > 0) {
                liveWitnesses++;
                evidence.add(other.id() + " holds " + imports.live() + " live import(s) from " + address);
            } else if (imports.down() > 0) {
                downWitnesses++;
                evidence.add(other.id() + " sees its " + imports.down() + " import(s) from " + address + " down");
            }
        }
        if (liveWitnesses > 0) {
            return new Verdict(node.id(), Kind.AGENT_SILENT, evidence);
        }
        if (downWitnesses > 0) {
            return new Verdict(node.id(), Kind.FAILED, evidence);
        }
        // Silence alone decides only about a node this control member has heard from: one whose
        // entity started here since (a control member's crash moved it) may just not have reached it yet.
        if (last.isPresent() && silent.compareTo(settings.failWithoutWitness()) >= 0) {
            evidence.add("no node imports from " + address + ": silence past " + settings.failWithoutWitness().toMillis() + " ms decides");
            return new Verdict(node.id(), Kind.FAILED, evidence);
        }
        return new Verdict(node.id(), Kind.SUSPECT, evidence);
    }
}
