package io.dnv.core.volume;

import io.dnv.core.CborSerializable;
import io.dnv.core.kernel.Names;

import java.time.Instant;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A snapshot of a volume, as the volume records it: every leg's pool holds a thin device
 * {@code thinId} made by {@code create_snap} of the leg's origin (thin 0) while every stripe of
 * the volume was held, so the legs together are one crash-consistent image.
 *
 * <p>Its id is {@code <volume id>.<thin id>}: the volume it belongs to is read off the id, so
 * {@code GET /v1/snapshots/{id}} asks one entity. Thin ids are the volume's, taken in order and
 * never used twice (a deleted snapshot's id is not handed out again).
 *
 * @param heldMillis how long host I/O was held to take it (the longest hold of any active), once READY
 */
public record Snapshot(String id, String name, int thinId, Status status, Instant createdAt, long sizeBytes,
                       Optional<String> error, long heldMillis) implements CborSerializable {

    public enum Status { CREATING, READY, DELETING, FAILED }

    /** The thin id of every leg's origin (the volume's own thin device, created with create_thin 0). */
    public static final int ORIGIN_THIN_ID = 0;
    /** dm-thin takes device ids below 2^24; the last is a hydrating clone's metadata, in its first leg's pool. */
    public static final int CLONE_METADATA_THIN_ID = (1 << 24) - 1;
    /** The last thin id a snapshot takes. */
    public static final int MAX_THIN_ID = CLONE_METADATA_THIN_ID - 1;
    public static final String NAME_RULE = "1 to 63 characters: lower-case letters, digits, '.', '_' and '-', starting with a letter or digit";
    public static final String NAME_PATTERN = "[a-z0-9][a-z0-9._-]{0,62}";
    /** {@code <volume id>.<thin id>}; the thin id is also at most {@link #MAX_THIN_ID}. */
    public static final String ID_PATTERN = "(" + Names.VOLUME_ID_PATTERN + ")\\.([1-9][0-9]{0,7})";
    private static final Pattern NAME = Pattern.compile(NAME_PATTERN);
    private static final Pattern ID = Pattern.compile(ID_PATTERN);

    public Snapshot {
        error = error == null ? Optional.empty() : error;
    }

    public static boolean isName(String name) {
        return name != null && NAME.matcher(name).matches();
    }

    public static String id(String volumeId, int thinId) {
        return volumeId + "." + thinId;
    }

    /** The volume a snapshot id names; empty for a string that is no snapshot id. */
    public static Optional<String> volumeOf(String snapshotId) {
        var m = snapshotId == null ? null : ID.matcher(snapshotId);
        return m != null && m.matches() && Long.parseLong(m.group(2)) <= MAX_THIN_ID ? Optional.of(m.group(1)) : Optional.empty();
    }

    Snapshot with(Status next, Optional<String> why, long held) {
        return new Snapshot(id, name, thinId, next, createdAt, sizeBytes, why, held);
    }
}
