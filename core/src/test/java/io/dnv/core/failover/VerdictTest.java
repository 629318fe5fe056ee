package io.dnv.core.failover;

import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.node.NodeInfo;
import io.dnv.core.node.NodeView;
import io.dnv.core.node.StorageNode;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The evidence rules of docs/failover.md, "Detection", one per case. */
class VerdictTest {

    private static final Instant NOW = Instant.parse("2026-12-06T12:00:00Z");
    private static final Verdict.Settings SETTINGS = Verdict.Settings.DEFAULT;

    @Test
    void aNodeHeardFromLatelyIsUp() {
        NodeView f = node("f", NOW.minusMillis(300), Map.of());
        assertEquals(Verdict.Kind.UP, Verdict.judge(f, List.of(f), NOW, SETTINGS).kind());
    }

    @Test
    void aSilentAgentWhoseKernelOthersStillReachIsNotAFailedNode() {
        NodeView f = node("f", NOW.minusSeconds(10), Map.of());
        NodeView w = node("w", NOW.minusMillis(200), Map.of(address("f"), new StorageNode.Imports(3, 0)));
        Verdict v = Verdict.judge(f, List.of(f, w), NOW, SETTINGS);
        assertEquals(Verdict.Kind.AGENT_SILENT, v.kind());
        assertTrue(v.evidence().toString().contains("w holds 3 live import(s)"), v.evidence().toString());
    }

    @Test
    void aSilentNodeWhoseImportsAreDownEverywhereHasFailedAsSoonAsItIsSuspected() {
        NodeView f = node("f", NOW.minusMillis(1200), Map.of());
        NodeView w = node("w", NOW.minusMillis(200), Map.of(address("f"), new StorageNode.Imports(0, 2)));
        assertEquals(Verdict.Kind.FAILED, Verdict.judge(f, List.of(f, w), NOW, SETTINGS).kind());
    }

    @Test
    void aWitnessNotHeardFromLatelyIsNoEvidence() {
        NodeView f = node("f", NOW.minusMillis(1200), Map.of());
        NodeView stale = node("w", NOW.minusSeconds(3), Map.of(address("f"), new StorageNode.Imports(0, 2)));
        assertEquals(Verdict.Kind.SUSPECT, Verdict.judge(f, List.of(f, stale), NOW, SETTINGS).kind());
    }

    /**
     * A live witness import is the kernel's word that it serves, whatever the other imports say:
     * an LD import that went down is an export of it that changed, not a dead kernel.
     */
    @Test
    void aLiveWitnessMakesASilentAgentNoFailedNodeEvenWithItsOtherImportsDown() {
        NodeView f = node("f", NOW.minusSeconds(6), Map.of());
        NodeView w1 = node("w1", NOW.minusMillis(100), Map.of(address("f"), new StorageNode.Imports(1, 3, 1, 0)));
        NodeView w2 = node("w2", NOW.minusMillis(100), Map.of(address("f"), new StorageNode.Imports(0, 1, 0, 1)));
        Verdict v = Verdict.judge(f, List.of(f, w1, w2), NOW, SETTINGS);
        assertEquals(Verdict.Kind.AGENT_SILENT, v.kind());
        assertTrue(v.evidence().toString().contains("w1 holds 1 live witness import(s) of " + address("f")), v.evidence().toString());
    }

    /**
     * Every witness import down decides as soon as the agent is suspected, though an LD import of
     * it still reads live: its keep-alive is longer, and it is as its holder's last pass saw it.
     */
    @Test
    void everyWitnessDownDecidesBeforeTheSlowerImportsTimeOut() {
        NodeView f = node("f", NOW.minusMillis(1100), Map.of());
        NodeView w1 = node("w1", NOW.minusMillis(100), Map.of(address("f"), new StorageNode.Imports(4, 1, 0, 1)));
        NodeView w2 = node("w2", NOW.minusMillis(250), Map.of(address("f"), new StorageNode.Imports(0, 1, 0, 1)));
        Verdict v = Verdict.judge(f, List.of(f, w1, w2), NOW, SETTINGS);
        assertEquals(Verdict.Kind.FAILED, v.kind(), v.evidence().toString());
        assertTrue(v.evidence().toString().contains("w1 sees its 1 witness import(s) of " + address("f") + " down"), v.evidence().toString());
        assertTrue(v.evidence().toString().contains("not yet timed out"), v.evidence().toString());
        // The agent heard from lately: the witnesses are only a link of theirs.
        NodeView heard = node("f", NOW.minusMillis(600), Map.of());
        assertEquals(Verdict.Kind.UP, Verdict.judge(heard, List.of(heard, w1, w2), NOW, SETTINGS).kind());
    }

    /** One witness's holder silent too (it failed with it): the other decides alone; if none is fresh, nothing does yet. */
    @Test
    void onlyWitnessesHeardFromLatelyCount() {
        NodeView f = node("f", NOW.minusMillis(1500), Map.of());
        NodeView staleLive = node("w1", NOW.minusSeconds(2), Map.of(address("f"), new StorageNode.Imports(1, 0, 1, 0)));
        NodeView freshDown = node("w2", NOW.minusMillis(100), Map.of(address("f"), new StorageNode.Imports(0, 1, 0, 1)));
        assertEquals(Verdict.Kind.FAILED, Verdict.judge(f, List.of(f, staleLive, freshDown), NOW, SETTINGS).kind());
        NodeView staleDown = node("w2", NOW.minusSeconds(2), Map.of(address("f"), new StorageNode.Imports(0, 1, 0, 1)));
        assertEquals(Verdict.Kind.SUSPECT, Verdict.judge(f, List.of(f, staleLive, staleDown), NOW, SETTINGS).kind());
    }

    @Test
    void silenceAloneDecidesOnlyAfterTheLongerGraceAndOnlyAboutANodeHeardFromBefore() {
        NodeView shortly = node("f", NOW.minusSeconds(2), Map.of());
        assertEquals(Verdict.Kind.SUSPECT, Verdict.judge(shortly, List.of(shortly), NOW, SETTINGS).kind());
        NodeView long_ = node("f", NOW.minusSeconds(5), Map.of());
        assertEquals(Verdict.Kind.FAILED, Verdict.judge(long_, List.of(long_), NOW, SETTINGS).kind());
        NodeView neverHeard = new NodeView("f", "DOWN", Optional.of(info("f")), Optional.empty(), capacity(), 0, 0, List.of(),
                0, 0, List.of(), false, Set.of(), List.of(), Map.of());
        assertEquals(Verdict.Kind.SUSPECT, Verdict.judge(neverHeard, List.of(neverHeard), NOW, SETTINGS).kind(),
                "a control member that never heard a node does not fail it on silence");
    }

    /**
     * A control member that stalls (a long pause, an overloaded machine) hears every node late at
     * once: that silence is its own. A benchmark's member, starved for 5.6 s, declared five of six
     * nodes failed on it and failed over every volume they held.
     */
    @Test
    void silenceAloneDecidesNothingWhileMostOtherNodesAreSilentToo() {
        List<NodeView> all = new java.util.ArrayList<>();
        for (String id : List.of("f", "n2", "n3", "n4", "n5")) {
            all.add(node(id, NOW.minusSeconds(6), Map.of()));
        }
        all.add(node("n6", NOW.minusMillis(100), Map.of()));
        Verdict v = Verdict.judge(all.get(0), all, NOW, SETTINGS);
        assertEquals(Verdict.Kind.SUSPECT, v.kind(), v.evidence().toString());
        assertTrue(v.evidence().stream().anyMatch(e -> e.startsWith("only 1 of the 5 other nodes heard from lately")), v.evidence().toString());
        // Half of the others heard: the silent one is the odd one out, and silence decides.
        for (int i = 1; i < 3; i++) {
            all.set(i, node(all.get(i).id(), NOW.minusMillis(100), Map.of()));
        }
        assertEquals(Verdict.Kind.FAILED, Verdict.judge(all.get(0), all, NOW, SETTINGS).kind());
    }

    private static NodeView node(String id, Instant lastHeartbeat, Map<String, StorageNode.Imports> imports) {
        return new NodeView(id, "UP", Optional.of(info(id)), Optional.of(lastHeartbeat), capacity(), 0, 0, List.of(), 0, 0,
                List.of(), false, Set.of(), List.of(), imports);
    }

    private static NodeInfo info(String id) {
        String a = address(id);
        return new NodeInfo(new NodeEndpoints(id, a, Optional.of("/dev/ram0"), Optional.of(NvmetPort.tcp(1, a, 4420)),
                Optional.of(NvmetPort.tcp(2, a, 4421)), List.of(NvmetPort.tcp(3, a, 4422))), 1L << 30, Set.of("disk", "ctrl"), Map.of(),
                Set.of());
    }

    private static String address(String id) {
        return id.equals("f") ? "127.0.9.1" : "127.0.9.2";
    }

    private static NodeView.Capacity capacity() {
        return new NodeView.Capacity(0, 0, 0, 0, 0, 0);
    }

}
