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
