package io.dnv.core.volume;

import io.dnv.core.CborSerializable;

import java.time.Instant;
import java.util.Optional;

/**
 * A snapshot as the API shows it. {@code state}: CREATING, READY, DELETING (also while its
 * volume is deleted with it), FAILED (with {@code error}; nothing of it is left in any pool);
 * {@code sizeBytes}: the volume's size when it was taken; {@code heldMillis}: how long host I/O
 * was held to take it (the longest hold of any active controller), once READY.
 */
public record SnapshotView(String id, String volumeId, String name, String state, Instant createdAt, long sizeBytes,
                           Optional<String> error, long heldMillis) implements CborSerializable {

    static SnapshotView of(String volumeId, Snapshot s, boolean volumeDeleting) {
        String state = volumeDeleting ? Snapshot.Status.DELETING.name() : s.status().name();
        return new SnapshotView(s.id(), volumeId, s.name(), state, s.createdAt(), s.sizeBytes(), s.error(), s.heldMillis());
    }
}
