package io.dnv.http.readside;

import io.dnv.core.DomainError;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.core.volume.VolumeView;
import io.dnv.persistence.Database;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.junit.jupiter.api.Test;

import java.sql.Timestamp;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the volume list projection must do on every database dnv supports. Volume ids carry a
 * prefix of the test's own, and only those rows are looked at: a shared database may hold others.
 */
abstract class VolumeListProjectionContract {

    static final VolumeSpec SPEC = new VolumeSpec(1 << 20, 1, 0, 1, 1);
    static final Duration WAIT = Duration.ofSeconds(30);

    final Database db;
    final String prefix = "t" + UUID.randomUUID().toString().substring(0, 8);

    VolumeListProjectionContract(Database db) {
        this.db = db;
        db.migrate();
    }

    @Test
    void fillsTheListFromEventsInIdOrderAndDropsDeletedVolumes() throws Exception {
        ActorSystem<Void> system = ControlMember.start(db, "fills");
        try {
            VolumeList list = ReadSide.start(system, db).volumes();
            for (String v : List.of("b", "a", "c")) {
                create(system, id(v));
            }
            List<VolumeView> shown = await(() -> ours(list), views -> views.size() == 3
                    && views.stream().allMatch(v -> v.state().equals("FAILED")), "a, b, c listed as FAILED");
            assertEquals(List.of(id("a"), id("b"), id("c")), shown.stream().map(VolumeView::id).toList());
            assertTrue(shown.get(0).error().orElse("").contains("controller nodes"), "the entity's view, error included: " + shown.get(0));
            assertEquals(List.of(id("a")), list.page(1, Optional.of(prefix)).stream().map(VolumeView::id).toList());
            assertEquals(List.of(id("b")), list.page(1, Optional.of(id("a"))).stream().map(VolumeView::id).toList(),
                    "the page after a starts at b");

            delete(system, id("b"));
            await(() -> ours(list), views -> views.stream().map(VolumeView::id).toList().equals(List.of(id("a"), id("c"))),
                    "b gone from the list");
        } finally {
            ControlMember.stop(system);
        }
    }

    private long settledOffset() throws Exception {
        long previous = Rows.offset(db);
        for (int i = 0; i < 50; i++) {
            Thread.sleep(400);
            long now = Rows.offset(db);
            if (now == previous) {
                return now;
            }
            previous = now;
        }
        throw new AssertionError("the projection's offset never settled");
    }

    /**
     * A crash: the member with the projection goes away, volumes change while none runs, a new
     * member starts one. It must see every change made meanwhile and read nothing before its
     * stored offset again (a row untouched since keeps the time it was written).
     */
    @Test
    void aNewProjectionResumesFromTheStoredOffset() throws Exception {
        ActorSystem<Void> first = ControlMember.start(db, "first");
        long offsetBefore;
        Timestamp bWritten;
        try {
            VolumeList list = ReadSide.start(first, db).volumes();
            create(first, id("a"));
            create(first, id("b"));
            await(() -> ours(list), views -> views.size() == 2 && views.stream().allMatch(v -> v.state().equals("FAILED")),
                    "a and b listed as FAILED");
            // The list can show both FAILED before the projection has read b's last event (a view asked
            // after CreateRequested is already FAILED); wait until the stored offset stops moving.
            offsetBefore = settledOffset();
            bWritten = Rows.updatedAt(db, id("b")).orElseThrow();
        } finally {
            ControlMember.stop(first);
        }

        ActorSystem<Void> second = ControlMember.start(db, "second");
        try {
            create(second, id("c"));
            delete(second, id("a"));
            await(() -> get(second, id("a")).error(), error -> error.orElse(null) instanceof DomainError.NotFound, "a deleted");
            VolumeList list = ReadSide.start(second, db).volumes();
            await(() -> ours(list), views -> views.stream().map(VolumeView::id).toList().equals(List.of(id("b"), id("c")))
                    && views.get(1).state().equals("FAILED"), "b and c listed, a gone");
            assertEquals(Optional.of(bWritten), Rows.updatedAt(db, id("b")), "b's events were before the offset: not read again");
            assertTrue(Rows.offset(db) > offsetBefore, "the offset moved on");
        } finally {
            ControlMember.stop(second);
        }
    }

    private String id(String name) {
        return prefix + "-" + name;
    }

    private List<VolumeView> ours(VolumeList list) {
        return list.page(500, Optional.of(prefix)).stream().filter(v -> v.id().startsWith(prefix + "-")).toList();
    }

    private static void create(ActorSystem<?> system, String id) throws Exception {
        Volume.Result r = ref(system, id).<Volume.Result>ask(reply -> new Volume.Create(id, SPEC, reply), WAIT)
                .toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertTrue(r.volume().isPresent(), r.error().toString());
    }

    private static void delete(ActorSystem<?> system, String id) throws Exception {
        // a FAILED volume is deletable once its create has settled; retried until the entity accepts
        await(() -> ask(system, id, Volume.Delete::new).volume(), Optional::isPresent, "delete of " + id + " accepted");
    }

    private static Volume.Result get(ActorSystem<?> system, String id) {
        return ask(system, id, Volume.Get::new);
    }

    private static Volume.Result ask(ActorSystem<?> system, String id,
                                     org.apache.pekko.japi.function.Function<org.apache.pekko.actor.typed.ActorRef<Volume.Result>, Volume.Command> message) {
        try {
            return ref(system, id).ask(message, WAIT).toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("asking volume " + id, e);
        }
    }

    private static org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef<Volume.Command> ref(ActorSystem<?> system, String id) {
        return ClusterSharding.get(system).entityRefFor(Volume.ENTITY_TYPE_KEY, id);
    }

    private static <T> T await(Supplier<T> read, java.util.function.Predicate<T> done, String what) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        T last = read.get();
        while (!done.test(last)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + ": not within " + WAIT.toSeconds() + " s; last seen " + last);
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
            last = read.get();
        }
        return last;
    }
}
