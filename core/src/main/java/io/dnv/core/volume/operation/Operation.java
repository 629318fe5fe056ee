package io.dnv.core.volume.operation;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.dnv.core.CborSerializable;
import io.dnv.core.volume.Volume;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * The one operation a volume runs at a time: a kind with its stages. The entity records each
 * stage before it acts (the event that entered it) and derives what to do from the stage
 * alone, so any control member resumes it after a crash. {@link #attempt()} is the volume's
 * revision when the stage began: a step's result is applied only if the stage it was started
 * for is still the current one.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "kind")
@JsonSubTypes({
        @JsonSubTypes.Type(value = CreateVolume.class, name = "create"),
        @JsonSubTypes.Type(value = ChangeAttachments.class, name = "attachments"),
        @JsonSubTypes.Type(value = DeleteVolume.class, name = "delete"),
        @JsonSubTypes.Type(value = ExtendVolume.class, name = "extend"),
        @JsonSubTypes.Type(value = GrowPools.class, name = "grow-pools"),
        @JsonSubTypes.Type(value = FailOver.class, name = "failover"),
        @JsonSubTypes.Type(value = CreateSnapshot.class, name = "snapshot"),
        @JsonSubTypes.Type(value = DeleteSnapshot.class, name = "delete-snapshot"),
        @JsonSubTypes.Type(value = GroupSnapshotPart.class, name = "snapshot-group"),
        @JsonSubTypes.Type(value = ChangeExports.class, name = "export"),
        @JsonSubTypes.Type(value = FinishClone.class, name = "finish-clone")})
public sealed interface Operation extends CborSerializable
        permits CreateVolume, ChangeAttachments, DeleteVolume, ExtendVolume, GrowPools, FailOver, CreateSnapshot, DeleteSnapshot,
        GroupSnapshotPart, ChangeExports, FinishClone {

    /** How the API names the operation. */
    String name();

    /** The current stage: each operation's own enum. */
    Enum<?> stage();

    /** How the API names the current stage. */
    default String stageName() {
        return stage().name().toLowerCase();
    }

    long attempt();

    /** A stage entered at a moment: what the volume's view shows of an operation's steps. */
    record Timing(String stage, Instant at) implements CborSerializable {
        /** The entry that marks the end of a finished operation's timeline. */
        public static final String END = "done";
    }

    /** When each stage so far began, for operations that record it (a failover); empty otherwise. */
    default List<Timing> timeline() {
        return List.of();
    }

    /** When it was asked for (EPOCH in journals written before operations recorded it). */
    Instant requestedAt();

    /** How long a stage may take before the volume shows it as overdue (it goes on trying). */
    Duration deadline();

    /**
     * The operation taken up again after a failover paused it, under a new attempt: a stage that
     * waited for the agents goes back to the stage that applied, since the placement changed.
     */
    Operation resumed(long newAttempt);

    /** The current stage's step: one round of asks, answered as a typed result. */
    CompletionStage<StepResult> run(Volume.State volume, Peers peers);

    /** What the step's result means for the volume, given how long the stage has been running. */
    Outcome onResult(Volume.State volume, StepResult result, Duration stageAge);
}
