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
 * it only through their own timeouts, the soonest through their witness imports of it
 * ({@link io.dnv.core.plan.Witnesses}: a keep-alive of a second, read afresh every 100 ms). So,
 * counting only what nodes heard from lately say:
 *
 * <ul>
 *   <li>heard from within {@code suspectAfter}: UP;</li>
 *   <li>silent, and a witness import of it is live: its kernel still serves I/O, only its agent
 *       is gone: AGENT_SILENT, no failover (the agent is restarted and re-adopts);</li>
 *   <li>silent, and every witness import of it is down: FAILED. Its other imports (LDs, legs)
 *       may still read live then: their keep-alive is longer, and they are as the holder's last
 *       pass saw them;</li>
 *   <li>silent, and no witness import of it reported: its other imports decide the same way
 *       (a live one: AGENT_SILENT; all down: FAILED);</li>
 *   <li>silent, and nobody imports from it: FAILED only after {@code failWithoutWitness}, a
 *       longer silence (nothing tells a crashed kernel from a dead agent then), only if it
 *       was heard from at all since its entity started, and only while at least half of the
 *       other nodes are heard from (most nodes silent at once: the control member is the one
 *       not hearing);</li>
 *   <li>otherwise SUSPECT: not decided yet.</li>
 * </ul>
 *
 * @param evidence what was seen, in words, for the event and the API
 */
public record Verdict(String nodeId, Kind kind, List<String> evidence) implements CborSerializable {

    public enum Kind { UP, SUSPECT, AGENT_SILENT, FAILED }

    /**
     * {@code suspectAfter}: 1 s, three heartbeats (300 ms) and some slack for a busy member; a
     * crash is declared on its witnesses, which take at least that long (keep-alive 1 s), so a
     * shorter suspicion would decide nothing sooner. {@code failWithoutWitness}: 4 s, for a node
     * no node heard from lately imports from (a cluster of one or two, or its witnesses failed
     * with it); long enough for an agent restart, short of the host's I/O timeout.
     */
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
        Seen witnesses = new Seen();
        Seen others = new Seen();
        for (NodeView other : all) {
            if (other.id().equals(node.id()) || other.lastHeartbeat().isEmpty()
                    || Duration.between(other.lastHeartbeat().get(), now).compareTo(settings.suspectAfter()) >= 0) {
                continue;   // only what nodes heard from lately say counts
            }
            StorageNode.Imports imports = other.imports().get(address);
            if (imports == null) {
                continue;
            }
            witnesses.add(other.id(), imports.witnessLive(), imports.witnessDown());
            others.add(other.id(), imports.live() - imports.witnessLive(), imports.down() - imports.witnessDown());
        }
        if (witnesses.live > 0) {
            witnesses.say(evidence, "witness import", address);
            return new Verdict(node.id(), Kind.AGENT_SILENT, evidence);
        }
        if (witnesses.down > 0) {
            witnesses.say(evidence, "witness import", address);
            if (others.live > 0) {
                evidence.add("its other imports (longer keep-alive, as last seen) still read live on " + others.liveHolders.size()
                        + " node(s): not yet timed out");
            }
            return new Verdict(node.id(), Kind.FAILED, evidence);
        }
        others.say(evidence, "import", address);
        if (others.live > 0) {
            return new Verdict(node.id(), Kind.AGENT_SILENT, evidence);
        }
        if (others.down > 0) {
            return new Verdict(node.id(), Kind.FAILED, evidence);
        }
        // Silence alone decides only about a node this control member has heard from: one whose
        // entity started here since (a control member's crash moved it) may just not have reached it yet.
        // And only while it hears most of the others: when most nodes fall silent at once, the
        // one that stopped hearing is more likely this control member (a long pause, an overload,
        // its own link) than most of the cluster; a whole cluster failed over on that is the worst outcome.
        int peers = 0;
        int heard = 0;
        for (NodeView other : all) {
            if (!other.id().equals(node.id()) && other.info().isPresent()) {
                peers++;
                if (other.lastHeartbeat().map(t -> Duration.between(t, now).compareTo(settings.suspectAfter()) < 0).orElse(false)) {
                    heard++;
                }
            }
        }
        if (2 * heard < peers) {
            evidence.add("only " + heard + " of the " + peers + " other nodes heard from lately: silence alone decides nothing while "
                    + "this control member hears so few");
            return new Verdict(node.id(), Kind.SUSPECT, evidence);
        }
        if (last.isPresent() && silent.compareTo(settings.failWithoutWitness()) >= 0) {
            evidence.add("no node imports from " + address + ": silence past " + settings.failWithoutWitness().toMillis() + " ms decides");
            return new Verdict(node.id(), Kind.FAILED, evidence);
        }
        return new Verdict(node.id(), Kind.SUSPECT, evidence);
    }

    /** What the holders of one kind of import say: who holds live ones, who sees them all down. */
    private static final class Seen {
        final List<String> liveHolders = new ArrayList<>();
        final List<String> downHolders = new ArrayList<>();
        int live;
        int down;

        void add(String holder, int liveImports, int downImports) {
            if (liveImports > 0) {
                live += liveImports;
                liveHolders.add(holder + " holds " + liveImports);
            } else if (downImports > 0) {
                down += downImports;
                downHolders.add(holder + " sees its " + downImports);
            }
        }

        void say(List<String> evidence, String kind, String address) {
            liveHolders.forEach(h -> evidence.add(h + " live " + kind + "(s) of " + address));
            downHolders.forEach(h -> evidence.add(h + " " + kind + "(s) of " + address + " down"));
        }
    }
}
