package io.dnv.core.volume.operation;

import io.dnv.core.kernel.NvmetSubsystem;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.volume.Volume;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static io.dnv.core.volume.operation.ScriptedPeers.Call;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChangeAttachmentsTest {

    private static VolumeBed ready(String id) {
        VolumeBed bed = new VolumeBed(id);
        TestProbe<Volume.Result> reply = bed.kit.createTestProbe();
        bed.volume.runCommand(new Volume.Create(bed.id, VolumeBed.SPEC, reply.ref()));
        bed.awaitState(st -> st.phase() == Volume.Phase.READY, "READY");
        return bed;
    }

    /** The hosts the last objects handed to the controller node allow on the volume's export. */
    private static Set<String> allowedOnController(VolumeBed bed) {
        String controller = bed.volume.getState().placement().orElseThrow().controllers().get(0).nodeId();
        List<ScriptedPeers.Recorded> sets = bed.peers.calls(Call.SET_OBJECTS).stream().filter(c -> c.node().equals(controller)).toList();
        NodeObjects last = (NodeObjects) sets.get(sets.size() - 1).detail();
        return last.subsystems().stream().filter(s -> s.nqn().contains(":vol:")).map(NvmetSubsystem::allowedHosts)
                .findFirst().map(Set::copyOf).orElseThrow();
    }

    /**
     * Two attaches at once: the second arrives while the first is being applied. Both hosts end
     * up in the allow-list, and each caller hears back only once its host is in the kernel.
     */
    @Test
    void twoAttachesAtOnceBothEndUpAllowedEachAnsweredWhenInTheKernel() {
        try (VolumeBed bed = ready("a1")) {
            bed.peers.hold(Call.PROGRESS);
            int progressBefore = bed.peers.calls(Call.PROGRESS).size();
            TestProbe<Volume.AttachResult> a = bed.kit.createTestProbe();
            TestProbe<Volume.AttachResult> b = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.Attach(VolumeBed.HOST_A, a.ref()));
            bed.awaitCall(Call.PROGRESS, progressBefore + 1);
            bed.volume.runCommand(new Volume.Attach(VolumeBed.HOST_B, b.ref()));
            a.expectNoMessage(java.time.Duration.ofMillis(200));
            b.expectNoMessage(java.time.Duration.ZERO);
            bed.peers.release(Call.PROGRESS);

            assertTrue(a.receiveMessage().connect().isPresent());
            assertTrue(b.receiveMessage().connect().isPresent());
            Volume.State s = bed.awaitState(st -> st.operation().isEmpty(), "no operation");
            assertEquals(Set.of(VolumeBed.HOST_A, VolumeBed.HOST_B), Set.copyOf(s.exported()));
            assertEquals(Set.of(VolumeBed.HOST_A, VolumeBed.HOST_B), allowedOnController(bed), "the kernel allows both");
        }
    }

    /** A detach answers once the kernel no longer allows the host; an attach of the same host again answers at once. */
    @Test
    void aDetachAnswersOnceTheHostIsOutOfTheKernel() {
        try (VolumeBed bed = ready("a2")) {
            TestProbe<Volume.AttachResult> a = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.Attach(VolumeBed.HOST_A, a.ref()));
            a.receiveMessage();
            bed.volume.runCommand(new Volume.Attach(VolumeBed.HOST_A, a.ref()));
            assertTrue(a.receiveMessage().connect().isPresent(), "attached again: the same answer");

            bed.peers.hold(Call.PROGRESS);
            TestProbe<Volume.Result> d = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.Detach(VolumeBed.HOST_A, d.ref()));
            d.expectNoMessage(java.time.Duration.ofMillis(200));
            assertEquals(List.of(VolumeBed.HOST_A), bed.volume.getState().exported(), "still in the kernel");
            bed.peers.release(Call.PROGRESS);
            assertTrue(d.receiveMessage().volume().isPresent());
            assertEquals(Set.of(), allowedOnController(bed));
            assertEquals(List.of(), bed.volume.getState().exported());
        }
    }

    @Test
    void anAttachmentChangeRestartedFromItsJournalAtEveryStageResumesThere() {
        for (ChangeAttachments.Stage stage : ChangeAttachments.Stage.values()) {
            try (VolumeBed bed = ready("a-" + stage.name().toLowerCase())) {
                Call call = switch (stage) {
                    case APPLY -> Call.SET_OBJECTS;
                    case CONVERGE -> Call.PROGRESS;
                };
                int before = bed.peers.calls(call).size();
                bed.peers.hold(call);
                TestProbe<Volume.AttachResult> a = bed.kit.createTestProbe();
                bed.volume.runCommand(new Volume.Attach(VolumeBed.HOST_A, a.ref()));
                bed.awaitCall(call, before + 1);
                assertEquals(stage, ((ChangeAttachments) bed.volume.getState().operation().orElseThrow()).stage());
                bed.volume.restart();
                bed.awaitCall(call, before + 2);
                bed.peers.release(call);
                Volume.State s = bed.awaitState(st -> st.operation().isEmpty(), "done after a restart at " + stage);
                assertEquals(List.of(VolumeBed.HOST_A), s.exported());
            }
        }
    }
}
