package io.dnv.core.volume.operation;

import io.dnv.core.DomainError;
import io.dnv.core.kernel.DmDevice;
import io.dnv.core.kernel.DmTarget;
import io.dnv.core.kernel.Names;
import io.dnv.core.node.PoolUsage;
import io.dnv.core.plan.Fixtures;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.volume.Clone;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.SnapshotView;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSource;
import io.dnv.core.volume.VolumeView;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static io.dnv.core.volume.operation.ScriptedPeers.Call;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The volume growing its pools when a node says one is past the low-water mark (GrowPools), against scripted peers. */
class GrowPoolsTest {

    static final List<String> GROWN = List.of("PoolGrowthRequested", "PoolGrowthNodesChosen", "PoolGroupsReserved", "ObjectsApplied",
            "PoolGroupsBuilt", "ObjectsApplied", "PoolsGrown");

    /** Leg 0's owner says its pool is at 85 % (or, {@code none}, that no pool is past the mark any more). */
    private static void report(VolumeBed bed, boolean none) {
        String owner = bed.volume.getState().placement().orElseThrow().owner(0, VolumeBed.SPEC).nodeId();
        bed.volume.runCommand(new Volume.PoolsPastMark(owner, 80, none ? List.of()
                : List.of(new PoolUsage(bed.id, 0, 85, 100, 10, 1000, "rw"))));
    }

    private static Volume.State grown(VolumeBed bed) {
        return bed.awaitState(st -> st.operation().isEmpty() && st.placement().orElseThrow().legs().stream()
                .allMatch(l -> l.groups().size() == 2 && !l.groups().get(1).brandNew()), "grown");
    }

    private static List<String> growthEvents(VolumeBed bed) {
        List<String> j = bed.journal();
        return j.subList(j.indexOf("PoolGrowthRequested"), j.size());
    }

    private static VolumeView view(VolumeBed bed) {
        TestProbe<Volume.Result> reply = bed.kit.createTestProbe();
        bed.volume.runCommand(new Volume.Get(reply.ref()));
        return reply.receiveMessage().volume().orElseThrow();
    }

    private static Volume.SnapshotResult take(VolumeBed bed, String name) {
        TestProbe<Volume.SnapshotResult> reply = bed.kit.createTestProbe();
        bed.volume.runCommand(new Volume.TakeSnapshot(name, reply.ref()));
        return reply.receiveMessage();
    }

    /**
     * Every leg gets a group of another reserve: built beside the pool first (brand new, not in
     * it), then in it: thin-data and the pool grow, the thin and the stripe do not.
     */
    @Test
    void aPoolPastTheMarkGrowsEveryLegsPoolByAReserveGroup() {
        try (VolumeBed bed = VolumeBed.ready("g1")) {
            int setsBefore = bed.peers.calls(Call.SET_OBJECTS).size();
            report(bed, false);
            Volume.State s = grown(bed);
            assertEquals(GROWN, growthEvents(bed));
            assertEquals(VolumeBed.SPEC, s.spec().orElseThrow(), "the size does not change");
            assertTrue(s.error().isEmpty());
            VolumeLayout layout = VolumeLayout.of(VolumeBed.SPEC);
            VolumeLayout.GroupSize reserve = layout.reserveGroup(VolumeLayout.DEFAULT_SNAPSHOT_RESERVE_PERCENT);
            for (Placement.Leg leg : s.placement().orElseThrow().legs()) {
                assertEquals(layout.firstGroup(), leg.groups().get(0).size(layout), "group 0 keeps its slices");
                assertEquals(reserve, leg.groups().get(1).size(layout));
            }
            String active = s.placement().orElseThrow().controllers().get(0).nodeId();
            List<NodeObjects> toActive = bed.objectsSentTo(active, setsBefore);
            assertEquals(2, toActive.size(), "build, grow");
            String thinData = Names.thinData(active, bed.id, 0);
            assertEquals(layout.poolDataSectors(), VolumeBed.size(toActive.get(0), thinData), "a brand-new group is not in the pool");
            assertTrue(toActive.get(0).dmDevices().stream().anyMatch(d -> d.name().equals(Names.raid1(active, bed.id, 0, 1))));
            assertEquals(layout.poolDataSectors() + reserve.thinDataSectors(), VolumeBed.size(toActive.get(1), thinData));
            assertEquals(layout.poolDataSectors() + reserve.thinDataSectors(), VolumeBed.size(toActive.get(1), Names.pool(active, bed.id, 0)));
            assertEquals(layout.legSectors(), VolumeBed.size(toActive.get(1), Names.thin(active, bed.id, 0)));
            assertEquals(layout.stripeSectors(), VolumeBed.size(toActive.get(1), Names.volume(active, bed.id)));
        }
    }

    /**
     * A hydrating clone's first pool holds its leg, every block of it copied, and dm-clone's
     * metadata thin: no reason to grow. A block more than both is, as it is for any volume.
     */
    @Test
    void aHydratingClonesFirstPoolHoldingItsLegAndItsMetadataDoesNotGrow() {
        try (VolumeBed bed = new VolumeBed("g6")) {
            bed.peers.sourceSnapshots.put("src.3", new SnapshotView("src.3", "src", "a", "READY", Instant.now(), 64L << 20,
                    Optional.empty(), 1));
            bed.peers.hydratedRegions = 0;
            bed.volume.runCommand(new Volume.Create(bed.id, VolumeBed.SPEC, Optional.of(VolumeSource.ofSnapshot("src.3")),
                    bed.kit.<Volume.Result>createTestProbe().ref()));
            Volume.State s = bed.awaitState(st -> st.phase() == Volume.Phase.READY && st.operation().isEmpty()
                    && st.cloneOf().map(c -> c.status() == Clone.Status.HYDRATING).orElse(false), "READY and hydrating");
            VolumeLayout layout = VolumeLayout.of(VolumeBed.SPEC);
            long leg = layout.legSectors() / VolumeLayout.THIN_BLOCK_SECTORS;
            long metadata = s.cloneOf().orElseThrow().metadataSectors() / VolumeLayout.THIN_BLOCK_SECTORS;
            long total = layout.poolDataSectors() / VolumeLayout.THIN_BLOCK_SECTORS;
            assertTrue(metadata > 0 && (leg + metadata) * 100 / total >= 80, leg + " + " + metadata + " of " + total + " blocks: past the mark");
            String owner = s.placement().orElseThrow().owner(0, VolumeBed.SPEC).nodeId();
            bed.volume.runCommand(new Volume.PoolsPastMark(owner, 80, List.of(new PoolUsage(bed.id, 0, leg + metadata, total, 10, 1000, "rw"))));
            assertFalse(bed.journal().contains("PoolGrowthRequested"), bed.journal().toString());
            int setsBefore = bed.peers.calls(Call.SET_OBJECTS).size();
            bed.volume.runCommand(new Volume.PoolsPastMark(owner, 80, List.of(new PoolUsage(bed.id, 0, leg + metadata + 1, total, 10, 1000,
                    "rw"))));
            assertTrue(bed.journal().contains("PoolGrowthRequested"), bed.journal().toString());

            // Grown while it hydrates, the first active stays a clone of its source.
            String first = s.placement().orElseThrow().controllers().get(0).nodeId();
            grown(bed);
            List<NodeObjects> sent = bed.objectsSentTo(first, setsBefore);
            assertEquals(2, sent.size(), "build, grow");
            for (NodeObjects o : sent) {
                DmDevice volume = o.dmDevices().stream().filter(d -> d.name().equals(Names.volume(first, bed.id))).findFirst().orElseThrow();
                assertInstanceOf(DmTarget.Clone.class, volume.table().lines().get(0).target(), volume.toString());
            }
        }
    }

    /**
     * A growth of a volume whose snapshot a clone imports keeps the export: every plan it hands
     * the leg owners activates the snapshot's legs and exports them to the importer.
     */
    @Test
    void aGrowthKeepsTheSnapshotExportOfAHydratingClone() {
        try (VolumeBed bed = VolumeBed.ready("g7")) {
            TestProbe<Volume.SnapshotResult> taken = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.TakeSnapshot("a", taken.ref()));
            String snap = taken.receiveMessage().snapshot().orElseThrow().id();
            bed.awaitState(st -> st.operation().isEmpty(), "snapshot taken");
            List<String> own = bed.volume.getState().ownNodes();
            String importer = Fixtures.sixNodes().keySet().stream().filter(n -> !own.contains(n)).findFirst().orElseThrow();
            TestProbe<Volume.ExportReply> exported = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.ExportSnapshot(snap, "c1", importer, exported.ref()));
            int thinId = exported.receiveMessage().export().orElseThrow().thinId();
            bed.awaitState(st -> st.operation().isEmpty(), "exported");

            Placement placement = bed.volume.getState().placement().orElseThrow();
            int setsBefore = bed.peers.calls(Call.SET_OBJECTS).size();
            report(bed, false);
            grown(bed);
            for (int leg = 0; leg < VolumeBed.SPEC.legCount(); leg++) {
                String owner = placement.owner(leg, VolumeBed.SPEC).nodeId();
                String nqn = Names.snapshotLegNqn(bed.id, thinId, leg);
                String device = Names.snapshotLeg(owner, bed.id, thinId, leg);
                List<NodeObjects> sent = bed.objectsSentTo(owner, setsBefore);
                assertEquals(2, sent.size(), "build, grow");
                for (NodeObjects o : sent) {
                    assertTrue(o.dmDevices().stream().anyMatch(d -> d.name().equals(device)), device + " kept: " + o.dmDevices());
                    assertTrue(o.subsystems().stream().anyMatch(x -> x.nqn().equals(nqn) && x.allowedHosts().contains(Names.hostNqn(importer))),
                            nqn + " kept for " + importer);
                }
            }
        }
    }

    /**
     * No room: the groups are given back and the volume, its pool past the mark, is FULL: a
     * snapshot is refused naming it. Once the node says no pool is past the mark, a snapshot is taken.
     */
    @Test
    void withNoRoomTheGroupsAreGivenBackAndTheVolumeIsFull() {
        try (VolumeBed bed = VolumeBed.ready("g2")) {
            bed.peers.refuseGroup = 1;
            report(bed, false);
            Volume.State s = bed.awaitState(st -> st.operation().isEmpty() && st.error().isPresent(), "not grown");
            assertEquals(List.of("PoolGrowthRequested", "PoolGrowthNodesChosen", "PoolGrowthFailed"), growthEvents(bed));
            assertTrue(s.error().orElseThrow().startsWith(GrowPools.NOT_GROWN), s.error().orElseThrow());
            assertEquals(VolumeBed.SPEC.legCount(), bed.peers.calls(Call.RELEASE_GROUP).size());
            bed.peers.legs().values().forEach(groups -> assertEquals(1, groups.size(), "no extent reserved for nothing"));
            String full = view(bed).full().orElseThrow();
            assertTrue(full.contains("leg 0's pool") && full.contains("85 %") && full.contains(GrowPools.NOT_GROWN), full);
            DomainError refused = take(bed, "a").error().orElseThrow();
            assertInstanceOf(DomainError.Conflict.class, refused);
            assertTrue(refused.detail().contains("FULL"), refused.detail());

            report(bed, true);
            assertTrue(view(bed).full().isEmpty());
            assertTrue(take(bed, "a").snapshot().isPresent());
        }
    }

    /** While the pools grow, a snapshot is refused naming the growth and its stage. */
    @Test
    void aSnapshotDuringAGrowthIsRefusedNamingIt() {
        try (VolumeBed bed = VolumeBed.ready("g3")) {
            bed.peers.hold(Call.PROGRESS);
            int progress = bed.peers.calls(Call.PROGRESS).size();
            report(bed, false);
            bed.awaitCall(Call.PROGRESS, progress + 1);
            DomainError.Conflict c = (DomainError.Conflict) take(bed, "a").error().orElseThrow();
            assertEquals(java.util.Optional.of("grow-pools"), c.operation());
            assertEquals(java.util.Optional.of("await_build"), c.stage());
            bed.peers.release(Call.PROGRESS);
            grown(bed);
        }
    }

    /** Restarted from its journal while a stage's step is under way, the growth runs the stage again. */
    @Test
    void aGrowthRestartedFromItsJournalAtEveryStageResumesThere() {
        Map<GrowPools.Stage, Call> stepOf = Map.of(GrowPools.Stage.CHOOSE, Call.NODES, GrowPools.Stage.RESERVE, Call.PLACE_LEG,
                GrowPools.Stage.BUILD, Call.SET_OBJECTS, GrowPools.Stage.AWAIT_BUILD, Call.PROGRESS,
                GrowPools.Stage.GROW, Call.SET_OBJECTS, GrowPools.Stage.AWAIT_GROW, Call.PROGRESS);
        for (GrowPools.Stage stage : GrowPools.Stage.values()) {
            try (VolumeBed bed = VolumeBed.ready("g-" + stage.name().toLowerCase().replace('_', '-'))) {
                Call call = stepOf.get(stage);
                bed.peers.hold(call);
                report(bed, false);
                bed.awaitHeldAt(op -> op instanceof GrowPools g && g.stage() == stage, stage.name());
                int before = bed.peers.calls(call).size();
                bed.volume.restart();
                bed.awaitCall(call, before + 1);
                assertEquals(stage, ((GrowPools) bed.volume.getState().operation().orElseThrow()).stage(), "resumed at " + stage);
                bed.peers.release(call);
                grown(bed);
                assertEquals(GROWN, growthEvents(bed), "restarted at " + stage);
            }
        }
    }

    /** The active's node fails mid-growth: the failover takes precedence, then the growth resumes on the new placement. */
    @Test
    void aFailoverMidGrowthTakesPrecedenceThenItCompletes() {
        try (VolumeBed bed = VolumeBed.ready("g5")) {
            Placement before = bed.volume.getState().placement().orElseThrow();
            String failed = before.actives().get(0).nodeId();
            String standby = before.controllers().get(1).nodeId();
            bed.peers.hold(Call.PROGRESS);
            int progress = bed.peers.calls(Call.PROGRESS).size();
            report(bed, false);
            bed.awaitCall(Call.PROGRESS, progress + 1);
            TestProbe<Volume.FailoverAck> ack = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.ControllerFailed(failed, ack.ref()));
            assertTrue(ack.receiveMessage().affected());
            bed.peers.release(Call.PROGRESS);
            Volume.State s = grown(bed);
            assertEquals(standby, s.placement().orElseThrow().actives().get(0).nodeId());
            List<String> j = growthEvents(bed);
            assertTrue(j.indexOf("FailoverRequested") < j.indexOf("FailedOver") && j.indexOf("FailedOver") < j.indexOf("PoolsGrown"),
                    "the failover first, then the growth: " + j);
        }
    }
}
