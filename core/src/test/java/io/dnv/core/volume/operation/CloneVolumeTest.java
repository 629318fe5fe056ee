package io.dnv.core.volume.operation;

import io.dnv.core.kernel.AnaGroups;
import io.dnv.core.kernel.DmDevice;
import io.dnv.core.kernel.DmTarget;
import io.dnv.core.kernel.Names;
import io.dnv.core.node.ToAgent;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.volume.Clone;
import io.dnv.core.volume.Snapshot;
import io.dnv.core.volume.SnapshotImport;
import io.dnv.core.volume.SnapshotView;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeSource;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.core.volume.VolumeView;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static io.dnv.core.volume.operation.ScriptedPeers.Call;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A clone's create, hydration, finish and delete on one Volume entity, its source volume and the
 * nodes scripted (ScriptedPeers): what it asks of the source and when, where its first active
 * goes, what the nodes are handed, and that nothing of the source stays held after a finish, a
 * failure or a delete, also when restarted at each of its stages.
 */
class CloneVolumeTest {

    private static final String SOURCE_SNAPSHOT = "src.3";
    static final List<String> CREATED = List.of("CreateRequested", "CloneSourceSnapshotted", "NodesChosen", "Reserved",
            "CloneSourceImported", "ObjectsApplied", "BecameReady");
    static final List<String> FINISHED = List.of("CloneHydrated", "ObjectsApplied", "Converged", "CloneMetadataDropped",
            "CloneSourceReleased");

    private static void readySnapshot(VolumeBed bed) {
        bed.peers.sourceSnapshots.put(SOURCE_SNAPSHOT, new SnapshotView(SOURCE_SNAPSHOT, "src", "a", "READY", Instant.now(), 64L << 20,
                Optional.empty(), 1));
    }

    private static Volume.Result create(VolumeBed bed, VolumeSpec spec, VolumeSource source) {
        TestProbe<Volume.Result> reply = bed.kit.createTestProbe();
        bed.volume.runCommand(new Volume.Create(bed.id, spec, Optional.of(source), reply.ref()));
        return reply.receiveMessage();
    }

    private static Volume.State hydrating(VolumeBed bed) {
        return bed.awaitState(st -> st.phase() == Volume.Phase.READY && st.operation().isEmpty()
                && st.cloneOf().map(c -> c.status() == Clone.Status.HYDRATING).orElse(false), "READY and hydrating");
    }

    private static NodeObjects lastObjects(VolumeBed bed, String node) {
        List<ScriptedPeers.Recorded> sets = bed.peers.calls(Call.SET_OBJECTS).stream().filter(c -> c.node().equals(node)).toList();
        return (NodeObjects) sets.get(sets.size() - 1).detail();
    }

    private static Optional<DmDevice> device(NodeObjects o, String name) {
        return o.dmDevices().stream().filter(d -> d.name().equals(name)).findFirst();
    }

    private static VolumeView view(VolumeBed bed) {
        TestProbe<Volume.Result> reply = bed.kit.createTestProbe();
        bed.volume.runCommand(new Volume.Get(reply.ref()));
        return reply.receiveMessage().volume().orElseThrow();
    }

    /**
     * A clone of a snapshot: the snapshot checked READY, the first active placed where dm-clone
     * is and the snapshot exported to it before its objects are applied (its volume device a
     * clone of the snapshot's legs); READY at once, hydrating, its progress on the volume and in
     * its events every 10 %; once every region is copied, swapped for the plain stripe, its
     * metadata thin deleted and the export released. The snapshot, the source's, stays.
     */
    @Test
    void aCloneOfASnapshotIsReadyAtOnceHydratesAndLetsItsSourceGo() {
        try (VolumeBed bed = new VolumeBed("c1")) {
            readySnapshot(bed);
            bed.peers.withoutDmClone.addAll(Set.of("n1", "n2", "n3"));
            bed.peers.hydratedRegions = 0;
            assertEquals("CREATING", create(bed, VolumeBed.SPEC, VolumeSource.ofSnapshot(SOURCE_SNAPSHOT)).volume().orElseThrow().state());
            Volume.State s = hydrating(bed);
            assertEquals(CREATED, bed.journal());
            String first = s.placement().orElseThrow().controllers().get(0).nodeId();
            assertFalse(Set.of("n1", "n2", "n3").contains(first), "placed where dm-clone is, not on " + first);
            assertEquals(Set.of(new SnapshotImport(SOURCE_SNAPSHOT, "c1", first)), bed.peers.sourceImports);
            int exportAt = bed.peers.calls.indexOf(bed.peers.calls(Call.EXPORT).get(0));
            int applyAt = bed.peers.calls.indexOf(bed.peers.calls(Call.SET_OBJECTS).get(0));
            assertTrue(exportAt < applyAt, "exported before anything is applied");
            DmDevice volume = device(lastObjects(bed, first), Names.volume(first, "c1")).orElseThrow();
            assertTrue(volume.table().lines().get(0).target() instanceof DmTarget.Clone, volume.toString());
            assertTrue(device(lastObjects(bed, first), Names.cloneSource(first, "c1")).isPresent());

            bed.peers.hydratedRegions = 512;
            bed.awaitState(st -> st.cloneOf().orElseThrow().progress().hydratedRegions() == 512, "50 % recorded");
            VolumeView.CloneView half = view(bed).cloneOf().orElseThrow();
            assertEquals(50, half.percent());
            assertEquals("HYDRATING", half.status());
            assertEquals(512L * 64 * 1024, half.hydratedBytes());
            assertEquals(64L << 20, half.totalBytes());
            assertTrue(bed.peers.calls(Call.HYDRATE).stream().allMatch(c -> c.detail().equals(Names.volume(first, "c1"))));

            bed.peers.hydratedRegions = 1024;
            s = bed.awaitState(st -> st.cloneOf().orElseThrow().status() == Clone.Status.DONE && st.operation().isEmpty(), "finished");
            List<String> j = bed.journal();
            assertEquals(FINISHED, j.subList(j.indexOf("CloneHydrated"), j.size()));
            assertTrue(j.contains("HydrationProgressed"));
            assertTrue(device(lastObjects(bed, first), Names.cloneSource(first, "c1")).isEmpty(), "no clone left");
            assertTrue(device(lastObjects(bed, first), Names.volume(first, "c1")).orElseThrow().table().lines().get(0).target()
                    instanceof DmTarget.Raid0, "the plain stripe");
            @SuppressWarnings("unchecked")
            List<ToAgent.PoolThin> dropped = (List<ToAgent.PoolThin>) bed.peers.calls(Call.DELETE_THINS).get(0).detail();
            assertEquals(List.of(new ToAgent.PoolThin(Names.pool(first, "c1", 0), Snapshot.CLONE_METADATA_THIN_ID)), dropped);
            assertTrue(bed.peers.sourceImports.isEmpty(), "the export released");
            assertTrue(bed.peers.sourceSnapshots.containsKey(SOURCE_SNAPSHOT), "the source's snapshot stays");
            assertEquals("DONE", view(bed).cloneOf().orElseThrow().status());
            assertEquals(100, view(bed).cloneOf().orElseThrow().percent());
        }
    }

    /**
     * A clone of a volume: the source takes a snapshot for it (asked again while CREATING), and
     * deletes it once the clone is hydrated. With two actives the second waits in the clone's
     * own ANA group, inaccessible, and moves to its node's active group after the swap.
     */
    @Test
    void aCloneOfAVolumeSnapshotsItFirstAndItsOtherActiveWaitsForTheSwap() {
        try (VolumeBed bed = new VolumeBed("c2")) {
            bed.peers.sourceSnapshotLooks = 2;
            bed.peers.hydratedRegions = 1024;
            VolumeSpec twoActives = new VolumeSpec(64L << 20, 2, 1, 1, 2);
            create(bed, twoActives, VolumeSource.ofVolume("src"));
            bed.awaitState(st -> st.cloneOf().map(c -> c.status() == Clone.Status.DONE).orElse(false) && st.operation().isEmpty(),
                    "finished");
            assertEquals(List.of(VolumeSource.snapshotName("c2")), bed.peers.calls(Call.TAKE_SNAPSHOT).stream()
                    .map(ScriptedPeers.Recorded::detail).distinct().toList());
            assertTrue(bed.peers.calls(Call.TAKE_SNAPSHOT).size() >= 3, "asked again while the snapshot was taken");
            List<String> domains = bed.peers.calls(Call.ALLOCATE_ANA).stream().map(c -> (String) c.detail()).toList();
            assertEquals(List.of(AnaGroups.ACTIVE, AnaGroups.hydrating("c2")), domains.subList(0, 2));
            assertEquals(List.of(AnaGroups.ACTIVE), bed.peers.calls(Call.MOVE_ANA).stream().map(ScriptedPeers.Recorded::detail).toList());
            List<String> j = bed.journal();
            assertEquals(List.of("CloneHydrated", "ObjectsApplied", "Converged", "CloneActivesRegrouped", "ObjectsApplied", "Converged",
                    "CloneMetadataDropped", "CloneSourceReleased"), j.subList(j.indexOf("CloneHydrated"), j.size()));
            assertTrue(bed.peers.sourceSnapshots.isEmpty(), "the clone's own snapshot went: " + bed.peers.sourceSnapshots);
            assertTrue(bed.peers.sourceImports.isEmpty());
        }
    }

    /** No node with dm-clone: FAILED naming it, after the snapshot taken for it went again. */
    @Test
    void withoutDmCloneTheCloneFailsNamingItAndLetsItsSourceGo() {
        try (VolumeBed bed = new VolumeBed("c3")) {
            bed.peers.withoutDmClone.addAll(Set.of("n1", "n2", "n3", "n4", "n5", "n6"));
            create(bed, VolumeBed.SPEC, VolumeSource.ofVolume("src"));
            Volume.State s = bed.awaitState(st -> st.phase() == Volume.Phase.FAILED, "FAILED");
            assertTrue(s.error().orElseThrow().contains("dm-clone"), s.error().orElseThrow());
            assertEquals(List.of("CreateRequested", "CloneSourceSnapshotted", "CloneSourceReleasing", "CreateFailed"), bed.journal());
            assertTrue(bed.peers.sourceSnapshots.isEmpty(), "the snapshot taken for it went");
            assertTrue(bed.peers.calls(Call.PLACE_LEG).isEmpty(), "nothing reserved");
        }
    }

    /** A snapshot that is not there: FAILED, nothing placed. */
    @Test
    void aCloneOfAMissingSnapshotFails() {
        try (VolumeBed bed = new VolumeBed("c4")) {
            create(bed, VolumeBed.SPEC, VolumeSource.ofSnapshot("src.9"));
            Volume.State s = bed.awaitState(st -> st.phase() == Volume.Phase.FAILED, "FAILED");
            assertTrue(s.error().orElseThrow().contains("no snapshot src.9"), s.error().orElseThrow());
            assertTrue(bed.peers.calls(Call.PLACE_LEG).isEmpty());
        }
    }

    /**
     * Restarted from its journal at each stage that asks the source (the snapshot, the export,
     * the finish's release, a delete's release), the clone goes on and nothing of the source
     * stays held in the end.
     */
    @Test
    void aCloneRestartedAtEachStageThatAsksItsSourceCompletes() {
        for (Call step : List.of(Call.TAKE_SNAPSHOT, Call.EXPORT, Call.RELEASE_EXPORT)) {
            try (VolumeBed bed = new VolumeBed("cr-" + step.name().toLowerCase().replace('_', '-'))) {
                bed.peers.hydratedRegions = 1024;
                bed.peers.hold(step);
                create(bed, VolumeBed.SPEC, VolumeSource.ofVolume("src"));
                bed.awaitCall(step, 1);
                bed.volume.restart();
                bed.peers.release(step);
                bed.awaitState(st -> st.cloneOf().map(c -> c.status() == Clone.Status.DONE).orElse(false) && st.operation().isEmpty(),
                        "finished after a restart at " + step);
                assertTrue(bed.peers.sourceImports.isEmpty(), step + ": " + bed.peers.sourceImports);
                assertTrue(bed.peers.sourceSnapshots.isEmpty(), step + ": " + bed.peers.sourceSnapshots);
                assertEquals(1, bed.journal().stream().filter("CloneSourceSnapshotted"::equals).count());
            }
        }
    }

    /**
     * The first active of a hydrating clone fails: before the promoted plan names the snapshot's
     * legs on the successor, the source exports the snapshot there instead; the successor builds
     * the clone over the metadata it took over with the first leg, and hydration goes on.
     */
    @Test
    void aHydratingClonesFirstActiveFailsAndTheSourceExportsToItsSuccessor() {
        try (VolumeBed bed = new VolumeBed("c6")) {
            readySnapshot(bed);
            bed.peers.hydratedRegions = 100;
            create(bed, VolumeBed.SPEC, VolumeSource.ofSnapshot(SOURCE_SNAPSHOT));
            Volume.State s = hydrating(bed);
            String first = s.placement().orElseThrow().controllers().get(0).nodeId();
            String standby = s.placement().orElseThrow().controllers().get(1).nodeId();
            bed.peers.silent.add(first);
            bed.peers.declaredFailed.add(first);
            TestProbe<Volume.FailoverAck> ack = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.ControllerFailed(first, ack.ref()));
            assertTrue(ack.receiveMessage().affected());
            s = bed.awaitState(st -> st.operation().isEmpty() && st.lastFailover().isPresent(), "failed over");
            assertEquals(standby, s.placement().orElseThrow().controllers().get(0).nodeId());
            assertEquals(Set.of(new SnapshotImport(SOURCE_SNAPSHOT, "c6", standby)), bed.peers.sourceImports,
                    "the export follows the first active");
            int exportAt = bed.peers.calls.indexOf(bed.peers.calls(Call.EXPORT).get(1));
            int promotedAt = -1;
            List<ScriptedPeers.Recorded> all = List.copyOf(bed.peers.calls);
            for (int i = 0; i < all.size(); i++) {
                if (all.get(i).call() == Call.SET_OBJECTS && all.get(i).node().equals(standby)
                        && device((NodeObjects) all.get(i).detail(), Names.cloneSource(standby, "c6")).isPresent()) {
                    promotedAt = i;
                    break;
                }
            }
            assertTrue(promotedAt > exportAt, "exported to the successor (" + exportAt + ") before its clone was applied (" + promotedAt + ")");
            DmDevice metadata = device(lastObjects(bed, standby), Names.cloneMetadata(standby, "c6")).orElseThrow();
            assertEquals(new DmTarget.Thin(new io.dnv.core.kernel.DeviceRef.Dm(Names.pool(standby, "c6", 0)), Snapshot.CLONE_METADATA_THIN_ID),
                    metadata.table().lines().get(0).target(), "the metadata taken over with the first leg's pool");
            bed.peers.hydratedRegions = 1024;
            bed.awaitState(st -> st.cloneOf().orElseThrow().status() == Clone.Status.DONE && st.operation().isEmpty(), "finished");
            assertTrue(bed.peers.calls(Call.HYDRATE).stream().anyMatch(c -> c.node().equals(standby)), "watched on the successor");
            assertTrue(bed.peers.sourceImports.isEmpty());
        }
    }

    /** A hydrating clone deleted: its objects go, then its source's export and own snapshot, restarted in between too. */
    @Test
    void aHydratingCloneDeletedLetsItsSourceGo() {
        try (VolumeBed bed = new VolumeBed("c5")) {
            bed.peers.hydratedRegions = 10;
            create(bed, VolumeBed.SPEC, VolumeSource.ofVolume("src"));
            hydrating(bed);
            assertEquals(1, bed.peers.sourceImports.size());
            bed.peers.hold(Call.RELEASE_EXPORT);
            TestProbe<Volume.Result> reply = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.Delete(reply.ref()));
            assertTrue(reply.receiveMessage().error().isEmpty());
            bed.awaitCall(Call.RELEASE_EXPORT, 1);
            assertEquals(DeleteVolume.Stage.UNSOURCE, ((DeleteVolume) bed.volume.getState().operation().orElseThrow()).stage());
            bed.volume.restart();
            bed.peers.release(Call.RELEASE_EXPORT);
            bed.awaitState(st -> st.phase() == Volume.Phase.DELETED, "DELETED");
            assertTrue(bed.peers.sourceImports.isEmpty());
            assertTrue(bed.peers.sourceSnapshots.isEmpty());
            List<String> j = bed.journal();
            assertEquals(List.of("DeleteRequested", "CloneSourceReleasing", "CloneSourceReleased", "Deleted"),
                    j.subList(j.indexOf("DeleteRequested"), j.size()));
        }
    }
}
