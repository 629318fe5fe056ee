package io.dnv.core.node;

import com.typesafe.config.ConfigFactory;
import io.dnv.core.kernel.AnaGroups;
import io.dnv.core.kernel.DiskRange;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.plan.Fixtures;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.plan.Planner;
import io.dnv.core.plan.Witnesses;
import io.dnv.core.testing.RunningEntities;
import io.dnv.core.volume.Leg;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.apache.pekko.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The StorageNode entity owns its disk's capacity: reservations are first-fit, idempotent per
 * key and persisted; a Leg whose sides cannot all be reserved gives back what it got. It also
 * holds what each volume needs on the node and pushes it to the agent. Real sharding on a
 * one-member cluster, journal in memory.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StorageNodeTest {

    static final long MIB = 1 << 20;

    private final ActorTestKit kit = ActorTestKit.create("StorageNodeTest", ConfigFactory.parseString(
                    "pekko.remote.artery.canonical.port = 0\npekko.cluster.roles = [control]")
            .withFallback(PersistenceTestKitPlugin.getInstance().config())
            .withFallback(PersistenceTestKitSnapshotPlugin.config())
            .withFallback(ConfigFactory.parseResources("dnv.conf"))
            .withFallback(ConfigFactory.load()));
    private ClusterSharding sharding;
    private final Map<String, TestProbe<ToAgent>> agents = new java.util.concurrent.ConcurrentHashMap<>();

    @BeforeAll
    void cluster() {
        Cluster.get(kit.system()).manager().tell(Join.create(Cluster.get(kit.system()).selfMember().address()));
        StorageNode.init(kit.system());
        NodeDirectory.init(kit.system());
        Leg.init(kit.system());
        Volume.init(kit.system());
        sharding = ClusterSharding.get(kit.system());
        for (String n : List.of("n1", "n2")) {
            register(n, 100 * MIB);
        }
    }

    @AfterAll
    void stop() {
        kit.shutdownTestKit();
    }

    private TestProbe<ToAgent> register(String id, long diskBytes) {
        TestProbe<ToAgent> agent = kit.createTestProbe();
        agents.put(id, agent);
        heartbeat(id, diskBytes, agent);
        TestProbe<NodeView> views = kit.createTestProbe();
        kit.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
            node(id).tell(new StorageNode.GetNode(views.ref()));
            assertEquals("UP", views.receiveMessage().state());
            return null;
        });
        reportCleaned(id, diskBytes, agent);
        return agent;
    }

    /** Plays the agent of a registered node zeroing a freed extent, once the node pushed it as dirty. */
    private void zeroed(String id, Placement.Extent freed) {
        TestProbe<ToAgent> agent = agents.get(id);
        List<ToAgent> pushed = agent.fishForMessage(Duration.ofSeconds(10), m -> m instanceof ToAgent.Sync s
                && s.toZero().stream().anyMatch(r -> r.startSector() == freed.startSector() && r.sectors() == freed.lengthSectors())
                ? FishingOutcomes.complete() : FishingOutcomes.continueAndCollect());
        cleaned(id, agent, ((ToAgent.Sync) pushed.get(pushed.size() - 1)).toZero());
    }

    /** Plays the agent zeroing the dirty ranges it was pushed: the whole disk of a new node is offered only then. */
    private void reportCleaned(String id, long diskBytes, TestProbe<ToAgent> agent) {
        List<ToAgent> pushed = agent.fishForMessage(Duration.ofSeconds(10), m -> m instanceof ToAgent.Sync s && !s.toZero().isEmpty()
                ? FishingOutcomes.complete() : FishingOutcomes.continueAndCollect());
        List<DiskRange> dirty = ((ToAgent.Sync) pushed.get(pushed.size() - 1)).toZero();
        node(id).tell(new StorageNode.Heartbeat(info(id, diskBytes), agent.ref(), -1, -1, List.of(), -1, Set.of(), Set.of(), List.of(),
                dirty, List.of()));
        kit.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
            assertEquals(0, view(id).capacity().dirtyBytes());
            return null;
        });
    }

    private static NodeInfo info(String id, long diskBytes) {
        return new NodeInfo(new NodeEndpoints(id, "127.0.9.1", Optional.of("/dev/ram0"),
                Optional.of(NvmetPort.tcp(1, "127.0.9.1", 4420)), Optional.empty(), List.of(NvmetPort.tcp(3, "127.0.9.1", 4422))),
                diskBytes, Set.of("disk", "ctrl"), Map.of(), Set.of("transport:tcp"));
    }

    private void heartbeat(String id, long diskBytes, TestProbe<ToAgent> agent) {
        node(id).tell(new StorageNode.Heartbeat(info(id, diskBytes), agent.ref(), -1, -1, List.of(), -1, Set.of(), Set.of(), List.of()));
    }

    private EntityRef<StorageNode.Command> node(String id) {
        return sharding.entityRefFor(StorageNode.ENTITY_TYPE_KEY, id);
    }

    private StorageNode.Reservation reserve(String node, String key, long bytes) {
        TestProbe<StorageNode.Reservation> p = kit.createTestProbe();
        node(node).tell(new StorageNode.Reserve(volumeOf(key), key, bytes / 512, p.ref()));
        return p.receiveMessage(Duration.ofSeconds(10));
    }

    private NodeView view(String node) {
        TestProbe<NodeView> p = kit.createTestProbe();
        node(node).tell(new StorageNode.GetNode(p.ref()));
        return p.receiveMessage(Duration.ofSeconds(10));
    }

    private void release(String node, String... keys) {
        TestProbe<Done> p = kit.createTestProbe();
        node(node).tell(new StorageNode.Release(volumeOf(keys[0]), List.of(keys), p.ref()));
        p.receiveMessage(Duration.ofSeconds(10));
    }

    /** Keys are "volume/leg/group/side", as legs make them. */
    private static String volumeOf(String key) {
        return key.contains("/") ? key.substring(0, key.indexOf('/')) : key;
    }

    private long generation(String node, Function<ActorRef<StorageNode.Generation>, StorageNode.Command> command) {
        TestProbe<StorageNode.Generation> p = kit.createTestProbe();
        node(node).tell(command.apply(p.ref()));
        return p.receiveMessage(Duration.ofSeconds(10)).value();
    }

    private static ToAgent.PutVolume pushed(TestProbe<ToAgent> agent, String volume, NodeObjects objects) {
        List<ToAgent> fished = agent.fishForMessage(Duration.ofSeconds(10), m -> m instanceof ToAgent.PutVolume p && p.volumeId().equals(volume)
                && p.objects().equals(objects) ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());
        return (ToAgent.PutVolume) fished.get(fished.size() - 1);
    }

    /**
     * A create's finalize: the node drops the volume's brand-new preparations with an event of
     * its own (the objects are not written again) and tells the agent so in a VolumeCreated
     * naming the version it had (the objects are not sent again either); asked again, or for a
     * volume it does not hold, it writes nothing.
     */
    @Test
    void aVolumeMarkedCreatedLosesItsPreparationsOnceAndTheAgentIsPushedThat() {
        TestProbe<ToAgent> agent = register("n6", 100 * MIB);
        VolumeSpec spec = new VolumeSpec(64L << 20, 1, 1, 4, 2);
        VolumeLayout layout = VolumeLayout.of(spec);
        NodeObjects brandNew = Planner.plan("vc", spec, layout, Fixtures.placement(spec, layout, true), List.of(), Fixtures.sixNodes())
                .get("n1");
        assertNotEquals(brandNew, brandNew.created(), "the leg owner's brand-new objects carry preparations");
        long set = generation("n6", r -> new StorageNode.SetVolumeObjects("vc", brandNew, r));
        long sentAs = pushed(agent, "vc", brandNew).version();

        long marked = generation("n6", r -> new StorageNode.MarkCreated("vc", r));
        assertTrue(marked > set, "marking wrote an event");
        List<ToAgent> afterMark = agent.fishForMessage(Duration.ofSeconds(10), m -> m instanceof ToAgent.Sync s && s.generation() == marked
                ? FishingOutcomes.complete() : FishingOutcomes.continueAndCollect());
        assertTrue(afterMark.contains(new ToAgent.VolumeCreated("vc", sentAs, marked)), "told as created: " + afterMark);
        assertTrue(afterMark.stream().noneMatch(m -> m instanceof ToAgent.PutVolume p && p.volumeId().equals("vc")),
                "the objects are not sent again: " + afterMark);
        assertEquals(marked, generation("n6", r -> new StorageNode.MarkCreated("vc", r)), "nothing left to drop");
        assertEquals(marked, generation("n6", r -> new StorageNode.MarkCreated("unknown", r)), "no objects, nothing to drop");
        assertEquals(marked, generation("n6", r -> new StorageNode.SetVolumeObjects("vc", brandNew.created(), r)),
                "the node holds exactly the created objects");
    }

    /**
     * The node's witness objects, as the failure detector tells them, are part of its desired
     * state from the generation that set them: every Sync carries them; told the same again (the
     * detector repeats itself), it writes nothing.
     */
    @Test
    void witnessesAreWrittenOnceAndPushedWithEverySync() {
        TestProbe<ToAgent> agent = register("n40", 100 * MIB);
        NodeObjects witnesses = Witnesses.plan(List.of(info("n40", 100 * MIB).endpoints(), Fixtures.sixNodes().get("n1"))).get("n40");
        assertEquals(1, witnesses.subsystems().size());
        assertEquals(1, witnesses.connections().size());
        node("n40").tell(new StorageNode.SetWitnesses(witnesses));
        List<ToAgent> pushed = agent.fishForMessage(Duration.ofSeconds(10), m -> m instanceof ToAgent.Sync s
                && s.witnesses().equals(witnesses) ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());
        long generation = ((ToAgent.Sync) pushed.get(pushed.size() - 1)).generation();
        assertEquals(generation, view("n40").desiredGeneration());
        node("n40").tell(new StorageNode.SetWitnesses(witnesses));
        assertEquals(generation, view("n40").desiredGeneration(), "a repeat is no decision");
        // Not acknowledged: the whole desired state is sent again, witnesses with it.
        List<ToAgent> again = agent.fishForMessage(Duration.ofSeconds(10), m -> m instanceof ToAgent.Sync s
                ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());
        assertEquals(witnesses, ((ToAgent.Sync) again.get(again.size() - 1)).witnesses());
    }

    /**
     * Decisions taken while a write is on its way go to the journal together, as one row; a
     * journal from before that, a row per decision, still recovers, and so does a mix.
     */
    @Test
    void decisionsTakenTogetherAreOneJournalRowAndOlderRowsOfOneDecisionStillRecover() {
        register("n7", 100 * MIB);
        TestProbe<StorageNode.Reservation> replies = kit.createTestProbe();
        for (int i = 0; i < 20; i++) {
            node("n7").tell(new StorageNode.Reserve("burst", "burst/" + i, MIB / 512, replies.ref()));
        }
        replies.receiveSeveralMessages(20, Duration.ofSeconds(10));
        List<Object> rows = PersistenceTestKit.create(kit.system()).persistedInStorage("StorageNode|n7");
        long decisions = rows.stream().mapToLong(e -> e instanceof StorageNode.Decided d ? d.decisions().size() : 1).sum();
        assertEquals(22, decisions, "registered, cleaned, then 20 extents: " + rows);
        assertTrue(rows.size() < decisions, "fewer rows than decisions: " + rows);

        NodeInfo info = view("n1").info().orElseThrow();
        NodeInfo old = new NodeInfo(new NodeEndpoints("n8", info.endpoints().address(), info.endpoints().diskPath(),
                info.endpoints().diskPort(), info.endpoints().legPort(), info.endpoints().volumePorts()),
                100 * MIB, info.roles(), info.labels(), info.capabilities());
        Placement.Extent a = new Placement.Extent("n8", 2048, 2048);
        Placement.Extent b = new Placement.Extent("n8", 4096, 2048);
        PersistenceTestKit.create(kit.system()).persistForRecovery("StorageNode|n8", List.of(
                new StorageNode.Registered(old),
                new StorageNode.ExtentReserved("old/a", a),
                new StorageNode.Decided(List.of(new StorageNode.ExtentReserved("old/b", b),
                        new StorageNode.ExtentsReleased(List.of("old/a"))))));
        assertEquals(MIB, view("n8").capacity().reservedBytes(), "b reserved, a released");
        assertEquals(Optional.of(b), reserve("n8", "old/b", MIB).extent(), "the recovered key keeps its extent");
    }

    /**
     * A removed volume's extents and ANA group stay reserved until the node's agent reports a
     * pass that ran without the volume and left nothing of it in the kernel: a delete may
     * release at once (the node may be down), but no other volume gets the extent before its
     * device was zeroed and removed. Meanwhile the name cannot be placed here again.
     */
    @Test
    void aRemovedVolumeKeepsItsExtentsAndAnaGroupUntilItsAgentConfirmsItGone() {
        TestProbe<ToAgent> agent = register("n11", 100 * MIB);
        VolumeSpec spec = new VolumeSpec(64L << 20, 1, 1, 4, 2);
        NodeObjects objects = Planner.plan("vr", spec, VolumeLayout.of(spec), Fixtures.placement(spec, VolumeLayout.of(spec), true),
                List.of(), Fixtures.sixNodes()).get("n1");
        reserve("n11", "vr/0/0/0", 10 * MIB).extent().orElseThrow();
        TestProbe<StorageNode.AnaGroupReply> ana = kit.createTestProbe();
        node("n11").tell(new StorageNode.AllocateAnaGroup("vr", 3, AnaGroups.ACTIVE, ana.ref()));
        assertTrue(ana.receiveMessage().group().isPresent());
        generation("n11", r -> new StorageNode.SetVolumeObjects("vr", objects, r));
        long removedAt = generation("n11", r -> new StorageNode.SetVolumeObjects("vr", NodeObjects.NONE, r));

        release("n11", "vr/0/0/0");
        TestProbe<Done> done = kit.createTestProbe();
        node("n11").tell(new StorageNode.ReleaseAnaGroup("vr", done.ref()));
        done.receiveMessage();
        NodeView v = view("n11");
        assertEquals(10 * MIB, v.capacity().reservedBytes(), "released, but not before the agent confirmed");
        assertEquals(1, v.controllerVolumes(), "the ANA group too");
        assertEquals(Set.of("vr"), v.removing());
        assertTrue(reserve("n11", "vr/0/0/0", 10 * MIB).refusal().contains("still removing"), "the name waits");

        NodeInfo info = info("n11", 100 * MIB);
        node("n11").tell(new StorageNode.Heartbeat(info, agent.ref(), removedAt, -1, List.of(), removedAt - 1, Set.of(), Set.of(), List.of()));
        node("n11").tell(new StorageNode.Heartbeat(info, agent.ref(), removedAt, -1, List.of(), removedAt, Set.of(), Set.of("vr"), List.of()));
        assertEquals(10 * MIB, view("n11").capacity().reservedBytes(), "an older pass, or devices left, confirm nothing");

        node("n11").tell(new StorageNode.Heartbeat(info, agent.ref(), removedAt, -1, List.of(), removedAt, Set.of(), Set.of(), List.of()));
        kit.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
            NodeView after = view("n11");
            assertEquals(0, after.capacity().reservedBytes());
            assertEquals(0, after.controllerVolumes());
            assertEquals(Set.of(), after.removing());
            return null;
        });
        assertTrue(reserve("n11", "vr/0/0/0", 10 * MIB).extent().isPresent(), "the name can come back");
    }

    /**
     * A reservation no volume holds (its release was lost) is found by the audit, and released
     * only when two audits one period apart agree, and then only once the agent confirms that
     * nothing of the volume is left in its kernel.
     */
    @Test
    void anOrphanedReservationIsReleasedAfterTwoAuditsAgreeAndTheAgentConfirms() throws InterruptedException {
        TestProbe<ToAgent> agent = register("n13", 100 * MIB);
        reserve("n13", "ghost/0/0/0", 10 * MIB).extent().orElseThrow();
        TestProbe<StorageNode.AnaGroupReply> ana = kit.createTestProbe();
        node("n13").tell(new StorageNode.AllocateAnaGroup("ghost", 3, AnaGroups.ACTIVE, ana.ref()));
        assertTrue(ana.receiveMessage().group().isPresent());

        node("n13").tell(StorageNode.Audit.NOW);
        Thread.sleep(1000);
        assertEquals(10 * MIB, view("n13").capacity().reservedBytes(), "one audit is not enough");
        kit.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
            node("n13").tell(StorageNode.Audit.NOW);
            assertEquals(Set.of("ghost"), view("n13").removing());
            return null;
        });
        assertEquals(10 * MIB, view("n13").capacity().reservedBytes(), "not before the agent confirmed");
        List<Object> rows = PersistenceTestKit.create(kit.system()).persistedInStorage("StorageNode|n13");
        assertTrue(rows.stream().anyMatch(r -> r instanceof StorageNode.Decided d && d.decisions().stream()
                .anyMatch(x -> x instanceof StorageNode.OrphanReleased o && o.reason().contains("two audits"))), "an event says why");

        long generation = view("n13").desiredGeneration();
        node("n13").tell(new StorageNode.Heartbeat(info("n13", 100 * MIB), agent.ref(), generation, -1, List.of(), generation,
                Set.of(), Set.of(), List.of()));
        kit.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
            assertEquals(0, view("n13").capacity().reservedBytes());
            assertEquals(0, view("n13").controllerVolumes());
            return null;
        });
    }

    /** What the agent says of its background zeroing shows on the node, as of its last heartbeat. */
    @Test
    void zeroingProgressFromTheAgentShowsOnTheNode() {
        TestProbe<ToAgent> agent = register("n14", 100 * MIB);
        ZeroingProgress ld = new ZeroingProgress("dnv-n14-ld-z-0-0-0", 1L << 30, 4L << 30);
        node("n14").tell(new StorageNode.Heartbeat(info("n14", 100 * MIB), agent.ref(), -1, -1, List.of(), -1, Set.of(), Set.of(),
                List.of(ld)));
        assertEquals(List.of(ld), view("n14").zeroing());
    }

    /**
     * A freed extent holds its last tenant's bytes (a node power-cycled before its agent zeroed
     * the LD has no record of it): it is offered again only once the agent reports it zeroed
     * under the epoch it was freed with; a report of the same range from before it was freed
     * says nothing about it.
     */
    @Test
    void aReleasedExtentIsOfferedAgainOnlyOnceTheAgentZeroedIt() {
        TestProbe<ToAgent> agent = kit.createTestProbe();
        heartbeat("n20", 20 * MIB, agent);
        List<ToAgent> first = agent.fishForMessage(Duration.ofSeconds(10), m -> m instanceof ToAgent.Sync s && !s.toZero().isEmpty()
                ? FishingOutcomes.complete() : FishingOutcomes.continueAndCollect());
        List<DiskRange> registered = ((ToAgent.Sync) first.get(first.size() - 1)).toZero();
        assertEquals(20 * MIB, view("n20").capacity().dirtyBytes(), "a new disk is dirty all over");
        assertTrue(reserve("n20", "old/0/0/0", 20 * MIB).refusal().contains("not zeroed yet"), "nothing offered before it is zeroed");

        cleaned("n20", agent, registered);
        assertTrue(reserve("n20", "old/0/0/0", 20 * MIB).extent().isPresent());
        TestProbe<Done> released = kit.createTestProbe();
        node("n20").tell(new StorageNode.Release("old", List.of("old/0/0/0"), released.ref()));
        released.receiveMessage(Duration.ofSeconds(10));
        assertEquals(20 * MIB, view("n20").capacity().dirtyBytes(), "the freed extent is dirty again");

        cleaned("n20", agent, registered);
        assertTrue(reserve("n20", "new/0/0/0", 20 * MIB).refusal().contains("not zeroed yet"), "a stale report cleans nothing");

        List<ToAgent> again = agent.fishForMessage(Duration.ofSeconds(10), m -> m instanceof ToAgent.Sync s && !s.toZero().isEmpty()
                && !s.toZero().equals(registered) ? FishingOutcomes.complete() : FishingOutcomes.continueAndCollect());
        cleaned("n20", agent, ((ToAgent.Sync) again.get(again.size() - 1)).toZero());
        assertTrue(reserve("n20", "new/0/0/0", 20 * MIB).extent().isPresent(), "offered once zeroed");
    }

    /** The agent's report; what the node decides on it counts for every later command. */
    private void cleaned(String id, TestProbe<ToAgent> agent, List<DiskRange> ranges) {
        node(id).tell(new StorageNode.Heartbeat(view(id).info().orElseThrow(), agent.ref(), -1, -1, List.of(), -1, Set.of(), Set.of(),
                List.of(), ranges, List.of()));
    }

    /** A volume that never had objects on the node holds nothing there: its release is immediate. */
    @Test
    void aReleaseOfAVolumeWithoutObjectsHereIsImmediate() {
        register("n12", 100 * MIB);
        reserve("n12", "vi/0/0/0", 10 * MIB).extent().orElseThrow();
        release("n12", "vi/0/0/0");
        assertEquals(0, view("n12").capacity().reservedBytes());
    }

    /**
     * A write the journal refused restarts the node from its journal after a backoff: the
     * decision's caller hears nothing and asks again (as a Volume does after its ask times out),
     * and the node goes on deciding and pushing to its agent.
     */
    @Test
    void aNodeWhoseWriteFailedStartsAgainAndGoesOnPushing() {
        TestProbe<ToAgent> agent = register("n9", 100 * MIB);
        VolumeSpec spec = new VolumeSpec(64L << 20, 1, 1, 4, 2);
        VolumeLayout layout = VolumeLayout.of(spec);
        NodeObjects objects = Planner.plan("vf", spec, layout, Fixtures.placement(spec, layout, true), List.of(), Fixtures.sixNodes())
                .get("n1");
        PersistenceTestKit.create(kit.system()).failNextPersisted("StorageNode|n9");
        TestProbe<StorageNode.Generation> lost = kit.createTestProbe();
        node("n9").tell(new StorageNode.SetVolumeObjects("vf", objects, lost.ref()));
        lost.expectNoMessage(Duration.ofMillis(500));

        TestProbe<StorageNode.Generation> asked = kit.createTestProbe();
        asked.awaitAssert(Duration.ofSeconds(10), () -> {
            node("n9").tell(new StorageNode.SetVolumeObjects("vf", objects, asked.ref()));
            return asked.receiveMessage(Duration.ofSeconds(1));
        });
        pushed(agent, "vf", objects);
    }

    /**
     * The directory can lose a node's Add (here its write fails and it restarts): the node asks
     * again with every heartbeat until the directory answers, so it does not stay out of placement.
     */
    @Test
    void aNodeWhoseListingWasLostAsksAgainUntilItIsListed() {
        PersistenceTestKit.create(kit.system()).failNextPersisted("NodeDirectory|nodes");
        TestProbe<ToAgent> agent = kit.createTestProbe();
        TestProbe<NodeDirectory.State> lists = kit.createTestProbe();
        lists.awaitAssert(Duration.ofSeconds(15), () -> {
            heartbeat("n10", 100 * MIB, agent);
            NodeDirectory.ref(sharding).tell(new NodeDirectory.ListNodes(lists.ref()));
            assertTrue(lists.receiveMessage(Duration.ofSeconds(1)).nodeIds().contains("n10"), "n10 listed");
            return null;
        });
    }

    @Test
    void reservationsAreFirstFitIdempotentPerKeyAndRefusedWhenNothingFits() {
        // A node of its own: a hole another test released here would be dirty, and skipped.
        register("n21", 100 * MIB);
        Placement.Extent a = reserve("n21", "t/a", 10 * MIB).extent().orElseThrow();
        assertEquals(0, a.startSector());
        assertEquals(a, reserve("n21", "t/a", 10 * MIB).extent().orElseThrow(), "the same key gets the same extent");
        Placement.Extent b = reserve("n21", "t/b", 3 * MIB + 512).extent().orElseThrow();
        assertEquals(10 * MIB / 512, b.startSector());
        assertEquals(4 * MIB / 512, b.lengthSectors(), "lengths round up to whole MiB");
        release("n21", "t/a");
        zeroed("n21", a);
        Placement.Extent c = reserve("n21", "t/c", 5 * MIB).extent().orElseThrow();
        assertEquals(0, c.startSector(), "first fit reuses the released hole");
        StorageNode.Reservation tooBig = reserve("n21", "t/d", 95 * MIB);
        assertTrue(tooBig.extent().isEmpty());
        assertTrue(tooBig.refusal().contains("largest free"), tooBig.refusal());
        NodeView v = view("n21");
        assertEquals(9 * MIB, v.capacity().reservedBytes());
        assertEquals(2, v.capacity().freeExtents(), "the hole after c and the tail are reported apart");
        release("n21", "t/b", "t/c");
        assertEquals(0, view("n21").capacity().reservedBytes());
    }

    @Test
    void anaGroupsArePerFailoverDomainIdempotentAndStartAtTwo() {
        String standbyOfN9 = AnaGroups.standbyOf(List.of("n9"));
        assertEquals(Optional.of(2), anaGroup("n2", "va", AnaGroups.ACTIVE));
        assertEquals(Optional.of(2), anaGroup("n2", "va", AnaGroups.ACTIVE), "asked again");
        assertEquals(Optional.of(2), anaGroup("n2", "vb", AnaGroups.ACTIVE), "shared by the node's actives");
        assertEquals(Optional.of(3), anaGroup("n2", "vc", standbyOfN9));
        assertEquals(Optional.of(3), anaGroup("n2", "vd", standbyOfN9), "shared by the standbys of n9's volumes");
        assertEquals(List.of(new NodeView.AnaGroup(3, 2, AnaGroups.ACTIVE, 2), new NodeView.AnaGroup(3, 3, standbyOfN9, 2)),
                view("n2").anaGroups());
        releaseAnaGroup("n2", "va");
        assertEquals(Optional.of(4), anaGroup("n2", "ve", AnaGroups.standbyOf(List.of("n8"))), "vb still holds group 2");
        releaseAnaGroup("n2", "vb");
        assertEquals(Optional.of(2), anaGroup("n2", "vf", AnaGroups.SPARE), "a group no volume holds is given out again");
        assertEquals(Optional.of(5), anaGroup("n2", "vb", AnaGroups.ACTIVE));
        for (String v : List.of("vb", "vc", "vd", "ve", "vf")) {
            releaseAnaGroup("n2", v);
        }
        assertEquals(List.of(), view("n2").anaGroups());
    }

    /**
     * The scale limit is gone: one volume port carries thousands of controllers, active and
     * standby, in a group per failover domain. Asked all at once, as a burst of creates does.
     */
    @Test
    void oneVolumePortCarriesThousandsOfVolumesInAGroupPerFailoverDomain() {
        register("n30", 100 * MIB);
        TestProbe<StorageNode.AnaGroupReply> p = kit.createTestProbe();
        int volumes = 2400;
        for (int v = 0; v < volumes; v++) {
            // Half active here, half standby of one of 40 other nodes' volumes.
            String domain = v % 2 == 0 ? AnaGroups.ACTIVE : AnaGroups.standbyOf(List.of("peer" + v % 40));
            node("n30").tell(new StorageNode.AllocateAnaGroup("s" + v, 3, domain, p.ref()));
        }
        for (int v = 0; v < volumes; v++) {
            StorageNode.AnaGroupReply r = p.receiveMessage(Duration.ofSeconds(30));
            assertTrue(r.group().isPresent(), r.refusal());
        }
        NodeView n = view("n30");
        assertEquals(volumes, n.controllerVolumes());
        assertEquals(1 + 20, n.anaGroups().size(), "the active group and one per peer whose volumes it stands by for");
        assertEquals(volumes, n.anaGroups().stream().mapToInt(NodeView.AnaGroup::volumes).sum());
        assertTrue(n.anaGroups().stream().allMatch(g -> AnaGroups.isUsable(g.group())), n.anaGroups().toString());
    }

    /** A port whose usable groups all serve other domains refuses a new domain, and says so. */
    @Test
    void aNewDomainFindsNoGroupOnAPortWhoseGroupsAllServeOthers() {
        register("n31", 100 * MIB);
        for (int g = AnaGroups.FIRST_CREATED; g <= AnaGroups.LAST_USABLE; g++) {
            assertEquals(Optional.of(g), anaGroup("n31", "f" + g, AnaGroups.standbyOf(List.of("peer" + g))));
        }
        TestProbe<StorageNode.AnaGroupReply> p = kit.createTestProbe();
        node("n31").tell(new StorageNode.AllocateAnaGroup("more", 3, AnaGroups.ACTIVE, p.ref()));
        StorageNode.AnaGroupReply refused = p.receiveMessage();
        assertTrue(refused.group().isEmpty());
        assertTrue(refused.refusal().contains("no ANA group for active"), refused.refusal());
        assertEquals(Optional.of(2), anaGroup("n31", "same", AnaGroups.standbyOf(List.of("peer2"))), "an existing domain still fits");
    }

    /**
     * An order goes to the node's agent as it was sent, and crosses members intact (every kind,
     * named inside StorageNode.Order); a node whose agent was never heard from refuses it at once.
     */
    @Test
    void anOrderGoesToTheAgentAndANodeWithoutOneRefusesIt() {
        TestProbe<ToAgent> agent = register("o1", 100 * MIB);
        TestProbe<ToAgent.OrderDone> reply = kit.createTestProbe();
        ToAgent.Order hold = new ToAgent.HoldIo("v.1", List.of("dnv-o1-vol-v"), 2000, reply.ref());
        node("o1").tell(new StorageNode.Order(hold));
        assertEquals(hold, agent.fishForMessage(Duration.ofSeconds(5), m -> m instanceof ToAgent.Order
                ? FishingOutcomes.complete()
                : FishingOutcomes.continueAndIgnore()).get(0));
        node("o2").tell(new StorageNode.Order(new ToAgent.DeleteThins(List.of(), reply.ref())));
        assertTrue(reply.receiveMessage().refusal().orElseThrow().contains("no agent"));

        org.apache.pekko.serialization.Serialization serialization = org.apache.pekko.serialization.SerializationExtension.get(kit.system());
        for (ToAgent.Order o : List.of(hold, new ToAgent.ReleaseIo("v.1", "h", reply.ref()),
                new ToAgent.SnapThins("v.1", "h", List.of(new ToAgent.ThinSnap("dnv-o1-pool-v-0", "dnv-o1-thin-v-0", 0, 1)), reply.ref()),
                new ToAgent.DeleteThins(List.of(new ToAgent.PoolThin("dnv-o1-pool-v-0", 1)), reply.ref()))) {
            StorageNode.Order sent = new StorageNode.Order(o);
            org.apache.pekko.serialization.Serializer serializer = serialization.findSerializerFor(sent);
            byte[] bytes = serialization.serialize(sent).get();
            assertEquals(sent, serialization.deserialize(bytes, serializer.identifier(),
                    org.apache.pekko.serialization.Serializers.manifestFor(serializer, sent)).get());
        }
    }

    /**
     * Journals from before domains hold AnaGroupAllocated without one: each such volume keeps
     * the group it had, alone (its state was its own), and new volumes never join it.
     */
    @Test
    void aGroupFromAJournalBeforeDomainsStaysItsVolumesAlone() throws Exception {
        org.apache.pekko.serialization.Serialization serialization =
                org.apache.pekko.serialization.SerializationExtension.get(kit.system());
        StorageNode.AnaGroupAllocated now = new StorageNode.AnaGroupAllocated("old", 3, 2, AnaGroups.ACTIVE);
        org.apache.pekko.serialization.Serializer serializer = serialization.findSerializerFor(now);
        String manifest = org.apache.pekko.serialization.Serializers.manifestFor(serializer, now);
        byte[] before = new com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper()
                .writeValueAsBytes(Map.of("volumeId", "old", "portId", 3, "group", 2));
        StorageNode.AnaGroupAllocated read = (StorageNode.AnaGroupAllocated)
                serialization.deserialize(before, serializer.identifier(), manifest).get();
        assertEquals(new StorageNode.AnaGroupAllocated("old", 3, 2, null), read);

        PersistenceTestKit.create(kit.system()).persistForRecovery("StorageNode|n32", List.of(read));
        assertEquals(List.of(new NodeView.AnaGroup(3, 2, AnaGroups.legacy("old"), 1)), view("n32").anaGroups());
        assertEquals(Optional.of(3), anaGroup("n32", "new", AnaGroups.ACTIVE));
        assertEquals(Optional.of(2), anaGroup("n32", "old", AnaGroups.legacy("old")), "the old volume's own, as before");
    }

    private Optional<Integer> anaGroup(String node, String volume, String domain) {
        TestProbe<StorageNode.AnaGroupReply> p = kit.createTestProbe();
        node(node).tell(new StorageNode.AllocateAnaGroup(volume, 3, domain, p.ref()));
        return p.receiveMessage().group();
    }

    private void releaseAnaGroup(String node, String volume) {
        TestProbe<Done> done = kit.createTestProbe();
        node(node).tell(new StorageNode.ReleaseAnaGroup(volume, done.ref()));
        done.receiveMessage();
    }

    @Test
    void aLegThatCannotReserveEverySideGivesBackWhatItGot() {
        reserve("n2", "filler", 90 * MIB).extent().orElseThrow();
        long before = view("n1").capacity().reservedBytes();
        TestProbe<Leg.Placed> p = kit.createTestProbe();
        sharding.entityRefFor(Leg.ENTITY_TYPE_KEY, "refused/0").tell(new Leg.Place(0, List.of("n1", "n2"), 20 * MIB / 512, p.ref()));
        Leg.Placed placed = p.receiveMessage(Duration.ofSeconds(10));
        assertTrue(placed.leg().isEmpty());
        assertTrue(placed.refusal().contains("n2 has no free extent"), placed.refusal());
        assertEquals(before, view("n1").capacity().reservedBytes(), "n1's side was released again");
        release("n2", "filler");
    }

    /**
     * A caller that timed out on a Place asks again, possibly while the first attempt, refused,
     * still gives its keys back. The retry waits for that release: what it reserves under the
     * same keys stays reserved, and no other volume is given it.
     */
    @Test
    void aPlaceSentWhileARefusedOneGivesItsExtentsBackKeepsWhatItReserved() {
        register("n3", 100 * MIB);
        register("n4", 10 * MIB);
        register("n5", 100 * MIB);
        long before = view("n3").capacity().reservedBytes();
        EntityRef<Leg.Command> leg = sharding.entityRefFor(Leg.ENTITY_TYPE_KEY, "retried/0");
        TestProbe<Leg.Placed> refused = kit.createTestProbe();
        TestProbe<Leg.Placed> placed = kit.createTestProbe();
        leg.tell(new Leg.Place(0, List.of("n3", "n4"), 20 * MIB / 512, refused.ref()));
        leg.tell(new Leg.Place(0, List.of("n3", "n5"), 20 * MIB / 512, placed.ref()));
        assertTrue(refused.receiveMessage(Duration.ofSeconds(10)).leg().isEmpty(), "n4 has no room for 20 MiB");
        Placement.Extent onN3 = placed.receiveMessage(Duration.ofSeconds(10)).leg().orElseThrow().groups().get(0).sides().get(0);
        assertEquals(before + 20 * MIB, view("n3").capacity().reservedBytes(), "n3 still holds the placed side");
        Placement.Extent next = reserve("n3", "next", 20 * MIB).extent().orElseThrow();
        assertTrue(next.startSector() >= onN3.startSector() + onN3.lengthSectors()
                || next.startSector() + next.lengthSectors() <= onN3.startSector(), "no one else gets " + onN3 + ": " + next);
    }

    /**
     * A leg idles between a volume's create and its delete: once placed it leaves memory, and a
     * Release later starts it again from its events and gives back what it holds.
     */
    @Test
    void aPlacedLegLeavesMemoryAndStillReleasesWhatItHolds() {
        long before = view("n1").capacity().reservedBytes();
        long beforeN2 = view("n2").capacity().reservedBytes();
        EntityRef<Leg.Command> leg = sharding.entityRefFor(Leg.ENTITY_TYPE_KEY, "idle/0");
        TestProbe<Leg.Placed> placed = kit.createTestProbe();
        leg.tell(new Leg.Place(0, List.of("n1", "n2"), 10 * MIB / 512, placed.ref()));
        assertTrue(placed.receiveMessage(Duration.ofSeconds(10)).leg().isPresent());
        assertEquals(before + 10 * MIB, view("n1").capacity().reservedBytes());
        kit.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
            Set<String> running = RunningEntities.ids(kit.system(), Leg.ENTITY_TYPE_KEY);
            assertFalse(running.contains("idle/0"), "a placed leg is passivated: " + running);
            return null;
        });

        TestProbe<Done> released = kit.createTestProbe();
        leg.tell(new Leg.Release(released.ref()));
        released.receiveMessage(Duration.ofSeconds(10));
        assertEquals(before, view("n1").capacity().reservedBytes(), "the restarted leg released its side on n1");
        assertEquals(beforeN2, view("n2").capacity().reservedBytes(), "and on n2");
    }
}
