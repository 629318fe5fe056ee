package io.dnv.http.readside;

import io.dnv.core.volume.Volume;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.Sequence;
import org.apache.pekko.stream.RestartSettings;
import org.apache.pekko.stream.SharedKillSwitch;
import org.apache.pekko.stream.javadsl.RestartSource;
import org.apache.pekko.stream.javadsl.Source;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * Keeps volume_list: every event tagged {@value Volume#TAG} after the stored offset, in
 * journal order, in batches; per batch each volume that changed is asked once for its view
 * (the entity is the truth, and a view asked after its event was journaled includes it), then
 * the rows and the batch's last offset are written in one transaction. So after a crash the
 * events after the stored offset are read again and nothing before it: at least once, and a
 * batch read twice writes each volume's view as asked then, which is harmless.
 */
final class VolumeListProjection {

    /**
     * Events per transaction: one poll of the journal (at most its max-buffer-size, 500), so a
     * volume with several events in a poll is asked and written once. At 100 a burst's poll was
     * cut into batches that asked the same volumes again (990 row writes for 200 creates, 723 now).
     */
    static final int BATCH = 500;
    /** How long a batch waits to fill: the list's lag grows by at most this. */
    static final Duration BATCH_WINDOW = Duration.ofMillis(50);
    static final Duration ASK = Duration.ofSeconds(15);
    static final RestartSettings RESTART = RestartSettings.create(Duration.ofMillis(500), Duration.ofSeconds(30), 0.2);

    private final ClusterSharding sharding;
    private final JdbcReadJournal journal;
    private final VolumeList table;
    private final Executor blocking;

    VolumeListProjection(ActorSystem<?> system, VolumeList table, Executor blocking) {
        this.sharding = ClusterSharding.get(system);
        this.journal = PersistenceQuery.get(system).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
        this.table = table;
        this.blocking = blocking;
    }

    /**
     * The running projection, emitting each committed offset. A failure (database, an ask that
     * timed out) restarts it with backoff from the offset stored then. Restarted on failures
     * only: when {@code stop} is shut, the batch under way commits, then the source completes.
     */
    Source<Long, NotUsed> run(SharedKillSwitch stop) {
        return RestartSource.onFailuresWithBackoff(RESTART, () -> fromStoredOffset()
                .via(stop.flow())
                .groupedWithin(BATCH, BATCH_WINDOW)
                .mapAsync(1, this::apply));
    }

    /** Read when the stream (re)starts, never remembered in memory: the table is the only truth. */
    private Source<EventEnvelope, NotUsed> fromStoredOffset() {
        return Source.completionStage(CompletableFuture.supplyAsync(table::offset, blocking))
                // eventsByTag starts after the given offset: the stored event is not seen again
                .flatMapConcat(offset -> journal.eventsByTag(Volume.TAG, Offset.sequence(offset)));
    }

    private CompletionStage<Long> apply(List<EventEnvelope> batch) {
        long last = ((Sequence) batch.get(batch.size() - 1).offset()).value();
        List<CompletableFuture<VolumeList.Change>> asks = batch.stream()
                .map(e -> e.persistenceId().substring(Volume.ENTITY_TYPE_KEY.name().length() + 1))
                .distinct()
                .map(id -> sharding.entityRefFor(Volume.ENTITY_TYPE_KEY, id).ask(Volume.Get::new, ASK)
                        .thenApply(r -> new VolumeList.Change(id, r.volume())).toCompletableFuture())
                .toList();
        return CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new))
                .thenApplyAsync(done -> {
                    table.apply(asks.stream().map(CompletableFuture::join).toList(), last);
                    return last;
                }, blocking);
    }
}
