package io.dnv.core.volume;

import io.dnv.core.CborSerializable;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * A snapshot group as the API shows it. {@code state}: CREATING, READY (every member's snapshot
 * READY), FAILED (with {@code error}; every member's snapshot FAILED, nothing of them in any pool),
 * DELETING; {@code snapshotIds}: the members' snapshots, in the order of {@code volumeIds}, once
 * every member joined; {@code stage}: what a CREATING or DELETING group does now, {@code overdue}
 * once it has done so longer than its deadline (it goes on trying), {@code waitingFor} what it
 * waits for then; {@code heldMillis}: how long host I/O was held, once READY.
 */
public record SnapshotGroupView(String id, String name, List<String> volumeIds, String state, Instant createdAt,
                                List<String> snapshotIds, Optional<String> stage, boolean overdue, Optional<String> waitingFor,
                                Optional<String> error, long heldMillis) implements CborSerializable {}
