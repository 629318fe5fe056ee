package io.dnv.core.volume.operation;

import com.typesafe.config.ConfigFactory;
import io.dnv.core.DomainError;
import io.dnv.core.kernel.Names;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.SnapshotGroup;
import io.dnv.core.volume.SnapshotGroupView;
import io.dnv.core.volume.SnapshotView;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeView;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

import static io.dnv.core.volume.operation.ScriptedPeers.Call;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A SnapshotGroup entity under Pekko's event-sourced test kit driving three real Volume entities,
 * the nodes and legs scripted (every order recorded, a kind of order held or refused at will).
 */
class SnapshotGroupTest {

    static final List<String> VOLUMES = List.of("ga", "gb", "gc");
    static final List<String> TAKEN = List.of("Requested", "MembersJoined", "StripesHeld", "ThinsSnapped", "Taken", "MembersTold");

    /** Three READY volumes and a group entity named {@code name} over them. */
    static final class Bed implements AutoCloseable {
        final ActorTestKit kit = ActorTestKit.create(EventSourcedBehaviorTestKit.config()
                .withFallback(ConfigFactory.parseString("pekko.actor.provider = local"))
                .withFallback(ConfigFactory.parseResources("dnv.conf")));
        final ScriptedPeers peers = new ScriptedPeers();
        final TestProbe<ClusterSharding.ShardCommand> shard = kit.createTestProbe();
        final Map<String, ActorRef<Volume.Command>> volumes = new LinkedHashMap<>();
        final EventSourcedBehaviorTestKit<SnapshotGroup.Command, SnapshotGroup.Event, SnapshotGroup.State> group;
        final String name;

        Bed(String name) {
            this.name = name;
            for (String v : VOLUMES) {
                volumes.put(v, kit.spawn(Volume.create(v, shard.ref(), peers), v));
                TestProbe<Volume.Result> created = kit.createTestProbe();
                volumes.get(v).tell(new Volume.Create(v, VolumeBed.SPEC, created.ref()));
                created.receiveMessage();
            }
            VOLUMES.forEach(v -> awaitVolume(v, x -> x.state().equals("READY") && x.operation().isEmpty()));
            volumes.put("nowhere", kit.spawn(Volume.create("nowhere", shard.ref(), peers), "nowhere"));   // never created
            group = EventSourcedBehaviorTestKit.create(kit.system(), SnapshotGroup.create(name, shard.ref(), peers,
                    new Members(volumes::get, kit.scheduler())), EventSourcedBehaviorTestKit.enabledSerializationSettings()
                    .withVerifyCommands(false));
        }

        SnapshotGroup.Result create(List<String> members) {
            TestProbe<SnapshotGroup.Result> reply = kit.createTestProbe();
            group.runCommand(new SnapshotGroup.Create(name, members, reply.ref()));
            return reply.receiveMessage(Duration.ofSeconds(20));
        }

        SnapshotGroup.State awaitGroup(Predicate<SnapshotGroup.State> done, String what) {
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            SnapshotGroup.State s = group.getState();
            while (!done.test(s)) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("group not " + what + " within 20 s: " + s);
                }
                VolumeBed.sleep(20);
                s = group.getState();
            }
            return s;
        }

        SnapshotGroup.State settled() {
            return awaitGroup(s -> s.operation().isEmpty(), "settled");
        }

        VolumeView awaitVolume(String v, Predicate<VolumeView> done) {
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (true) {
                VolumeView view = view(v);
                if (done.test(view)) {
                    return view;
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(v + " not there within 20 s: " + view);
                }
                VolumeBed.sleep(20);
            }
        }

        VolumeView view(String v) {
            TestProbe<Volume.Result> r = kit.createTestProbe();
            volumes.get(v).tell(new Volume.Get(r.ref()));
            return r.receiveMessage().volume().orElseThrow();
        }

        List<SnapshotView> snapshots(String v) {
            TestProbe<Volume.SnapshotList> r = kit.createTestProbe();
            volumes.get(v).tell(new Volume.ListSnapshots(r.ref()));
            return r.receiveMessage().snapshots();
        }

        List<String> journal() {
            return group.persistenceTestKit().persistedInStorage(SnapshotGroup.ENTITY_TYPE_KEY.name() + "|" + name).stream()
                    .map(e -> e.getClass().getSimpleName()).toList();
        }

        void awaitCall(Call call, int count) {
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (peers.calls(call).size() < count) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("no " + count + " calls of " + call + " within 20 s");
                }
                VolumeBed.sleep(20);
            }
        }

        /** Every member's legs' pools, each with its member's thin id, as "pool/id". */
        Set<String> thinsOf(SnapshotGroup.State g) {
            Set<String> out = new TreeSet<>();
            for (String v : VOLUMES) {
                VolumeView view = view(v);
                view.legs().forEach(l -> out.add(Names.pool(l.owner(), v, l.index()) + "/" + g.thinIds().get(v)));
            }
            return out;
        }

        @Override
        public void close() {
            kit.shutdownTestKit();
        }
    }

    /**
     * Every member joins, every active's node holds all the stripes it serves in one hold, every
     * owner snaps every member's legs, every hold is released: READY, each member's snapshot
     * READY, every thin in its pool and no hold left.
     */
    @Test
    void aGroupHoldsEveryMembersStripesAtOnceSnapsEveryLegAndReleases() {
        try (Bed bed = new Bed("g1")) {
            SnapshotGroupView created = bed.create(VOLUMES).group().orElseThrow();
            assertEquals("CREATING", created.state());
            assertEquals(3, created.snapshotIds().size(), "answered once every member joined: " + created);
            SnapshotGroup.State g = bed.settled();
            assertEquals(SnapshotGroup.Phase.READY, g.phase());
            assertEquals(TAKEN, bed.journal());
            Set<String> activeNodes = new TreeSet<>();
            VOLUMES.forEach(v -> bed.view(v).controllers().stream().filter(c -> c.role().equals(Placement.Role.ACTIVE.name()))
                    .forEach(c -> activeNodes.add(c.node())));
            assertEquals(activeNodes.size(), bed.peers.calls(Call.HOLD_IO).size(), "one hold per node, whatever it serves");
            assertEquals(VOLUMES.size(), bed.peers.calls(Call.HOLD_IO).stream().mapToInt(c -> ((List<?>) c.detail()).size()).sum(),
                    "every member's stripe held");
            assertEquals(bed.thinsOf(g), bed.peers.thins);
            assertTrue(bed.peers.heldIo.values().stream().allMatch(Map::isEmpty), "every hold released");
            for (String v : VOLUMES) {
                List<SnapshotView> s = bed.snapshots(v);
                assertEquals(List.of("g1"), s.stream().map(SnapshotView::name).toList());
                assertEquals("READY", s.get(0).state());
                assertTrue(bed.view(v).operation().isEmpty());
            }
            assertEquals(created.snapshotIds(), bed.create(VOLUMES).group().orElseThrow().snapshotIds(), "asked again: the same");
            assertInstanceOf(DomainError.Conflict.class, bed.create(List.of("ga")).error().orElseThrow());
        }
    }

    /** A member that cannot join: those that did drop their part, the group is gone, no member changed. */
    @Test
    void aMemberThatCannotJoinLeavesNothingAnywhere() {
        try (Bed bed = new Bed("g2")) {
            DomainError missing = bed.create(List.of("ga", "nowhere")).error().orElseThrow();
            assertInstanceOf(DomainError.Invalid.class, missing);
            assertTrue(missing.detail().contains("nowhere"), missing.detail());
            assertEquals(List.of(), bed.snapshots("ga"), "ga joined, then left");
            assertTrue(bed.view("ga").operation().isEmpty());

            bed.peers.hold(Call.SNAP_THINS);
            TestProbe<Volume.SnapshotResult> own = bed.kit.createTestProbe();
            bed.volumes.get("gc").tell(new Volume.TakeSnapshot("own", own.ref()));
            own.receiveMessage();
            bed.awaitCall(Call.SNAP_THINS, 1);
            DomainError busy = bed.create(VOLUMES).error().orElseThrow();
            assertEquals("snapshot", ((DomainError.Conflict) busy).operation().orElseThrow());
            assertEquals(SnapshotGroup.Phase.EMPTY, bed.group.getState().phase());
            assertEquals(List.of("Requested", "JoinRefused", "Refused", "Requested", "JoinRefused", "Refused"), bed.journal());
            assertEquals(List.of(), bed.snapshots("ga"));
            assertEquals(List.of(), bed.snapshots("gb"));
            assertTrue(bed.view("ga").operation().isEmpty() && bed.view("gb").operation().isEmpty());
            bed.peers.release(Call.SNAP_THINS);
            bed.awaitVolume("gc", v -> v.operation().isEmpty());
            assertEquals(SnapshotGroup.Phase.READY, bed.create(VOLUMES).group().map(x -> bed.settled().phase()).orElseThrow(),
                    "asked again once the member is free");
        }
    }

    /** A refusal at every try: every member's snapshot FAILED, no hold and no thin left, the volumes free. */
    @Test
    void aGroupRefusedAtEveryTryFailsLeavingNothing() {
        try (Bed bed = new Bed("g4")) {
            bed.peers.refuse(Call.SNAP_THINS, 1000);   // every owner's, at every try
            bed.create(VOLUMES);
            SnapshotGroup.State g = bed.settled();
            assertEquals(SnapshotGroup.Phase.FAILED, g.phase());
            assertTrue(g.error().orElseThrow().contains("create_snap refused"), g.error().orElseThrow());
            assertEquals(CreateSnapshot.TRIES, bed.journal().stream().filter("Undoing"::equals).count());
            assertTrue(bed.peers.thins.isEmpty(), "no thin left: " + bed.peers.thins);
            assertTrue(bed.peers.heldIo.values().stream().allMatch(Map::isEmpty), "no hold left");
            for (String v : VOLUMES) {
                assertEquals("FAILED", bed.snapshots(v).get(0).state());
                assertTrue(bed.view(v).operation().isEmpty());
            }
            TestProbe<SnapshotGroup.Result> delete = bed.kit.createTestProbe();
            bed.group.runCommand(new SnapshotGroup.Delete(delete.ref()));
            assertEquals("DELETING", delete.receiveMessage().group().orElseThrow().state());
            bed.awaitGroup(s -> s.phase() == SnapshotGroup.Phase.DELETED, "deleted");
            VOLUMES.forEach(v -> assertEquals(List.of(), bed.snapshots(v)));
        }
    }

    /** Restarted from its journal at each kernel stage, the group runs the stage again and completes. */
    @Test
    void aGroupRestartedFromItsJournalAtEveryStageCompletes() {
        Map<GroupSnapshot.Stage, Call> stepOf = Map.of(GroupSnapshot.Stage.HOLD, Call.HOLD_IO, GroupSnapshot.Stage.SNAP, Call.SNAP_THINS,
                GroupSnapshot.Stage.RELEASE, Call.RELEASE_IO);
        for (GroupSnapshot.Stage stage : stepOf.keySet()) {
            try (Bed bed = new Bed("r-" + stage.name().toLowerCase())) {
                Call call = stepOf.get(stage);
                bed.peers.hold(call);
                bed.create(VOLUMES);
                bed.awaitCall(call, 1);
                int asked = bed.peers.calls(call).size();
                bed.group.restart();
                bed.awaitCall(call, asked + 1);
                assertEquals(stage, bed.group.getState().operation().orElseThrow().stage());
                bed.peers.release(call);
                SnapshotGroup.State g = bed.settled();
                assertEquals(SnapshotGroup.Phase.READY, g.phase(), "restarted at " + stage);
                assertEquals(bed.thinsOf(g), bed.peers.thins);
            }
        }
    }

    /**
     * A member's active fails while the group snaps: the member fails over first (its part
     * paused), then the group undoes the try and takes it again on the new placement.
     */
    @Test
    void aMemberFailingOverMidGroupIsUndoneAndTakenAgainOnItsNewPlacement() {
        try (Bed bed = new Bed("g5")) {
            VolumeView before = bed.view("gb");
            String failed = before.controllers().stream().filter(c -> c.role().equals("ACTIVE")).findFirst().orElseThrow().node();
            bed.peers.hold(Call.SNAP_THINS);
            bed.create(VOLUMES);
            bed.awaitCall(Call.SNAP_THINS, 1);
            TestProbe<Volume.FailoverAck> ack = bed.kit.createTestProbe();
            bed.volumes.get("gb").tell(new Volume.ControllerFailed(failed, ack.ref()));
            assertTrue(ack.receiveMessage().affected());
            bed.peers.release(Call.SNAP_THINS);
            SnapshotGroup.State g = bed.settled();
            assertEquals(SnapshotGroup.Phase.READY, g.phase());
            List<String> j = bed.journal();
            assertTrue(j.contains("Undoing") && j.indexOf("Retried") < j.lastIndexOf("Taken"), "undone, taken again: " + j);
            VolumeView after = bed.view("gb");
            assertTrue(after.controllers().stream().filter(c -> c.role().equals("ACTIVE")).noneMatch(c -> c.node().equals(failed)));
            assertEquals("READY", bed.snapshots("gb").get(0).state());
            assertTrue(bed.peers.thins.containsAll(bed.thinsOf(g)), "every member's legs hold the group's thins on their owners now");
        }
    }
}
