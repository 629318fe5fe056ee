package io.dnv.core.volume.operation;

import io.dnv.core.volume.Volume;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.Scheduler;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/**
 * What a snapshot group asks of its member volumes: one ask of one volume each, bounded by
 * {@link ShardedPeers#ASK}. Production reaches them through sharding, the group's unit tests
 * through the volumes they spawned; every ask is idempotent.
 */
public final class Members {

    private final Function<String, RecipientRef<Volume.Command>> volumes;
    private final Scheduler scheduler;

    public Members(Function<String, RecipientRef<Volume.Command>> volumes, Scheduler scheduler) {
        this.volumes = volumes;
        this.scheduler = scheduler;
    }

    public CompletionStage<Volume.GroupPartReply> join(String volumeId, String groupId, String name) {
        return ask(volumeId, r -> new Volume.JoinGroup(groupId, name, r));
    }

    public CompletionStage<Volume.GroupPartReply> part(String volumeId, String groupId) {
        return ask(volumeId, r -> new Volume.GetGroupPart(groupId, r));
    }

    public CompletionStage<Volume.GroupPartReply> end(String volumeId, String groupId, boolean taken, long heldMillis, String reason) {
        return ask(volumeId, r -> new Volume.EndGroupPart(groupId, taken, heldMillis, reason, r));
    }

    public CompletionStage<Volume.GroupPartReply> leave(String volumeId, String groupId) {
        return ask(volumeId, r -> new Volume.LeaveGroup(groupId, r));
    }

    /** Deletes the member's snapshot; answered as it is (DELETING), or not found once gone. */
    public CompletionStage<Volume.SnapshotResult> dropSnapshot(String volumeId, String snapshotId) {
        return ask(volumeId, r -> new Volume.DropSnapshot(snapshotId, r));
    }

    private <R> CompletionStage<R> ask(String volumeId, Function<org.apache.pekko.actor.typed.ActorRef<R>, Volume.Command> command) {
        return AskPattern.ask(volumes.apply(volumeId), command::apply, ShardedPeers.ASK, scheduler);
    }
}
