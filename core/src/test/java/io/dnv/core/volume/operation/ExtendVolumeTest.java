package io.dnv.core.volume.operation;

import io.dnv.core.DomainError;
import io.dnv.core.kernel.Names;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeLayout;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.dnv.core.volume.operation.ScriptedPeers.Call;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExtendVolumeTest {

    static final long TO = 192L << 20;
    static final List<String> EXTENDED = List.of("ExtendRequested", "ExtendNodesChosen", "GroupsReserved", "ObjectsApplied",
            "GroupsBuilt", "ObjectsApplied", "LegsGrown", "ObjectsApplied", "Extended");

    private static Volume.Result extend(VolumeBed bed, long bytes) {
        TestProbe<Volume.Result> reply = bed.kit.createTestProbe();
        bed.volume.runCommand(new Volume.Extend(bytes, reply.ref()));
        return reply.receiveMessage();
    }

    private static Volume.State extended(VolumeBed bed) {
        return bed.awaitState(st -> st.operation().isEmpty() && st.spec().orElseThrow().sizeBytes() == TO, "extended");
    }

    private static List<String> extendEvents(VolumeBed bed) {
        List<String> j = bed.journal();
        return j.subList(j.indexOf("ExtendRequested"), j.size());
    }

    /**
     * Build, legs, stripes: the new groups are built beside the pools (not in them while brand
     * new), then the pools and thins grow with the stripes still at the old size, then the stripe
     * and the standby's error device grow. The spec takes the new size only at the end.
     */
    @Test
    void anExtendBuildsTheGroupsThenGrowsTheLegsThenTheStripes() {
        try (VolumeBed bed = VolumeBed.ready("x1")) {
            int setsBefore = bed.peers.calls(Call.SET_OBJECTS).size();
            Volume.Result r = extend(bed, TO);
            assertEquals("extend", r.volume().orElseThrow().operation().orElseThrow().kind());
            Volume.State s = extended(bed);
            assertEquals(EXTENDED, extendEvents(bed));

            VolumeLayout from = VolumeLayout.of(VolumeBed.SPEC);
            VolumeLayout to = VolumeLayout.of(s.spec().orElseThrow());
            VolumeLayout.GroupSize added = VolumeLayout.growth(from, to);
            for (Placement.Leg leg : s.placement().orElseThrow().legs()) {
                assertEquals(2, leg.groups().size());
                assertTrue(leg.groups().stream().noneMatch(Placement.Group::brandNew), "both groups created");
                assertEquals(from.firstGroup(), leg.groups().get(0).size(to), "group 0 keeps its slices");
                assertEquals(added, leg.groups().get(1).size(to));
            }

            Placement p = s.placement().orElseThrow();
            String active = p.controllers().get(0).nodeId();
            String standby = p.controllers().get(1).nodeId();
            List<NodeObjects> toActive = bed.objectsSentTo(active, setsBefore);
            assertEquals(3, toActive.size(), "build, legs, stripes");
            String thinData = Names.thinData(active, bed.id, 0);
            String thin = Names.thin(active, bed.id, 0);
            String stripe = Names.volume(active, bed.id);
            assertEquals(from.poolDataSectors(), VolumeBed.size(toActive.get(0), thinData), "a brand-new group is not in the pool");
            assertTrue(toActive.get(0).dmDevices().stream().anyMatch(d -> d.name().equals(Names.raid1(active, bed.id, 0, 1))),
                    "but it is built");
            assertEquals(from.legSectors(), VolumeBed.size(toActive.get(0), thin));
            assertEquals(from.poolDataSectors() + added.thinDataSectors(), VolumeBed.size(toActive.get(1), thinData));
            assertEquals(to.legSectors(), VolumeBed.size(toActive.get(1), thin));
            assertEquals(from.stripeSectors(), VolumeBed.size(toActive.get(1), stripe), "the stripe waits for every leg");
            assertEquals(to.stripeSectors(), VolumeBed.size(toActive.get(2), stripe));
            List<NodeObjects> toStandby = bed.objectsSentTo(standby, setsBefore);
            assertEquals(to.stripeSectors(), VolumeBed.size(toStandby.get(toStandby.size() - 1), Names.volume(standby, bed.id)),
                    "the standby's error device grows too");
            assertEquals(from.usableBytes(), r.volume().orElseThrow().sizeBytes(), "the volume shows its old size until it is done");
        }
    }

    @Test
    void onlyGrowingIsTakenAndAskingAgainForTheSameSizeAnswersTheVolume() {
        try (VolumeBed bed = VolumeBed.ready("x2")) {
            int events = bed.journal().size();
            assertInstanceOf(DomainError.Invalid.class, extend(bed, 32L << 20).error().orElseThrow(), "a shrink");
            assertTrue(extend(bed, VolumeBed.SPEC.sizeBytes()).volume().isPresent(), "the size it has");
            assertInstanceOf(DomainError.Invalid.class, extend(bed, 3).error().orElseThrow(), "not whole MiB");
            assertEquals(events, bed.journal().size(), "none of them changed anything");

            bed.peers.hold(Call.PROGRESS);
            int progress = bed.peers.calls(Call.PROGRESS).size();
            assertTrue(extend(bed, TO).volume().isPresent());
            bed.awaitCall(Call.PROGRESS, progress + 1);
            assertTrue(extend(bed, TO).volume().isPresent(), "the size it is growing to");
            DomainError other = extend(bed, TO * 2).error().orElseThrow();
            assertEquals("extend", ((DomainError.Conflict) other).operation().orElseThrow());
            TestProbe<Volume.Result> delete = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.Delete(delete.ref()));
            assertEquals("extend", ((DomainError.Conflict) delete.receiveMessage().error().orElseThrow()).operation().orElseThrow());
            bed.peers.release(Call.PROGRESS);
            extended(bed);
            assertEquals(1, bed.journal().stream().filter("ExtendRequested"::equals).count());
            assertTrue(extend(bed, TO).volume().isPresent(), "the size it reached");
        }
    }

    /** A leg refused its new group: every leg gives it back, and the volume keeps its size. */
    @Test
    void anExtendThatCannotReserveGivesEveryNewGroupBack() {
        try (VolumeBed bed = VolumeBed.ready("x3")) {
            bed.peers.refuseGroup = 1;
            extend(bed, TO);
            Volume.State s = bed.awaitState(st -> st.operation().isEmpty() && st.error().isPresent(), "failed to extend");
            assertEquals(List.of("ExtendRequested", "ExtendNodesChosen", "ExtendFailed"), extendEvents(bed));
            assertEquals(VolumeBed.SPEC, s.spec().orElseThrow());
            assertEquals(Volume.Phase.READY, s.phase());
            assertEquals(VolumeBed.SPEC.legCount(), bed.peers.calls(Call.RELEASE_GROUP).size());
            bed.peers.legs().values().forEach(groups -> assertEquals(1, groups.size(), "no extent reserved for nothing"));
            assertTrue(s.placement().orElseThrow().legs().stream().allMatch(l -> l.groups().size() == 1));
        }
    }

    /**
     * A step that fails at any stage (an ask that timed out, a node's entity restarting) is tried
     * again, and the extend ends as without the failure.
     */
    @Test
    void aFailedStepAtEveryStageIsTriedAgain() {
        try (VolumeBed bed = VolumeBed.ready("x4")) {
            for (Call c : List.of(Call.NODES, Call.PLACE_LEG, Call.SET_OBJECTS, Call.PROGRESS)) {
                bed.peers.fail(c, 2);
            }
            extend(bed, TO);
            extended(bed);
            assertEquals(EXTENDED, extendEvents(bed));
        }
    }

    /**
     * Every stage is persisted before it acts: the entity restarted from its journal while the
     * stage's step is under way (the control member running it died) runs the stage again.
     */
    @Test
    void anExtendRestartedFromItsJournalAtEveryStageResumesThere() {
        Map<ExtendVolume.Stage, Call> stepOf = Map.of(ExtendVolume.Stage.CHOOSE, Call.NODES, ExtendVolume.Stage.RESERVE,
                Call.PLACE_LEG, ExtendVolume.Stage.BUILD, Call.SET_OBJECTS, ExtendVolume.Stage.AWAIT_BUILD, Call.PROGRESS,
                ExtendVolume.Stage.GROW_LEGS, Call.SET_OBJECTS, ExtendVolume.Stage.AWAIT_LEGS, Call.PROGRESS,
                ExtendVolume.Stage.GROW_STRIPES, Call.SET_OBJECTS, ExtendVolume.Stage.AWAIT_STRIPES, Call.PROGRESS);
        for (ExtendVolume.Stage stage : ExtendVolume.Stage.values()) {
            try (VolumeBed bed = VolumeBed.ready("x-" + stage.name().toLowerCase().replace('_', '-'))) {
                Call call = stepOf.get(stage);
                bed.peers.hold(call);
                extend(bed, TO);
                bed.awaitHeldAt(op -> ((ExtendVolume) op).stage() == stage, stage.name());
                int before = bed.peers.calls(call).size();
                bed.volume.restart();
                bed.awaitCall(call, before + 1);
                assertEquals(stage, ((ExtendVolume) bed.volume.getState().operation().orElseThrow()).stage(), "resumed at " + stage);
                bed.peers.release(call);
                extended(bed);
                assertEquals(EXTENDED, extendEvents(bed), "restarted at " + stage);
            }
        }
    }

    /** An attach during an extend waits for it, then goes into the kernels, and its caller hears back. */
    @Test
    void anAttachDuringAnExtendQueuesBehindIt() {
        try (VolumeBed bed = VolumeBed.ready("x5")) {
            bed.peers.hold(Call.PROGRESS);
            int progress = bed.peers.calls(Call.PROGRESS).size();
            extend(bed, TO);
            bed.awaitCall(Call.PROGRESS, progress + 1);
            TestProbe<Volume.AttachResult> attach = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.Attach(VolumeBed.HOST_A, attach.ref()));
            attach.expectNoMessage(java.time.Duration.ofMillis(200));
            bed.peers.release(Call.PROGRESS);
            assertTrue(attach.receiveMessage().connect().isPresent());
            Volume.State s = bed.awaitState(st -> st.operation().isEmpty(), "no operation");
            assertEquals(List.of(VolumeBed.HOST_A), s.exported());
            assertEquals(TO, s.spec().orElseThrow().sizeBytes());
            List<String> j = bed.journal();
            assertTrue(j.indexOf("Extended") < j.lastIndexOf("Converged"), "the attachment change ran after the extend: " + j);
        }
    }
}
