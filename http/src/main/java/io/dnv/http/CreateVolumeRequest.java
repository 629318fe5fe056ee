package io.dnv.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.volume.Snapshot;
import io.dnv.core.volume.VolumeSource;
import io.dnv.core.volume.VolumeSpec;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The body of POST /v1/volumes, validated field by field: every broken rule is reported at
 * once, with the field's name, and nothing is created. With a {@code source} (a clone:
 * {@code {"snapshotId": ...}} or {@code {"volumeId": ...}}) {@code sizeBytes} may be left out:
 * the source's size then, which it must be at least ({@link #spec(long)}).
 *
 * @param sizeBytes 0 when left out (a clone's)
 */
record CreateVolumeRequest(String name, long sizeBytes, int activeControllers, int standbyControllers, int legsPerController,
                           int replicas, Optional<VolumeSource> source) {

    private static final Set<String> FIELDS = Set.of("name", "sizeBytes", "activeControllers", "standbyControllers",
            "legsPerController", "replicas", "source");

    /** A volume that is no clone: its size was required. */
    VolumeSpec spec() {
        return new VolumeSpec(sizeBytes, activeControllers, standbyControllers, legsPerController, replicas);
    }

    /** A clone of a source of {@code sourceBytes}: the size asked, at least the source's, else the source's in whole MiB. */
    VolumeSpec spec(long sourceBytes) {
        if (sizeBytes != 0 && sizeBytes < sourceBytes) {
            throw new Problem.Raised(Problem.invalid(List.of(new Problem.FieldError("sizeBytes", "must be at least the source's size, "
                    + sourceBytes + " bytes (or left out for that size)"))));
        }
        long size = sizeBytes != 0 ? sizeBytes : (sourceBytes + VolumeSpec.SIZE_UNIT - 1) / VolumeSpec.SIZE_UNIT * VolumeSpec.SIZE_UNIT;
        return new VolumeSpec(size, activeControllers, standbyControllers, legsPerController, replicas);
    }

    static CreateVolumeRequest parse(JsonNode body) {
        List<Problem.FieldError> errors = new ArrayList<>();
        if (body == null || !body.isObject()) {
            throw new Problem.Raised(Problem.invalid(List.of(new Problem.FieldError("(body)", "must be a JSON object"))));
        }
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) {
                errors.add(new Problem.FieldError(f, "unknown field; allowed: " + String.join(", ", FIELDS.stream().sorted().toList())));
            }
        }
        String name = body.hasNonNull("name") && body.get("name").isTextual() ? body.get("name").asText() : null;
        if (name == null) {
            errors.add(new Problem.FieldError("name", "required, a string"));
        } else if (!Names.isVolumeId(name)) {
            errors.add(new Problem.FieldError("name", "must match " + Names.VOLUME_ID_PATTERN));
        }
        Optional<VolumeSource> source = body.has("source") ? source(body.get("source"), errors) : Optional.empty();
        long size = 0;
        if (!body.has("sizeBytes") && (source.isPresent() || body.has("source"))) {
            size = 0;
        } else if (!body.has("sizeBytes")) {
            errors.add(new Problem.FieldError("sizeBytes", "required, " + VolumeSpec.SIZE_RULE));
        } else {
            OptionalLong asked = number(body, "sizeBytes", errors);
            if (asked.isPresent() && !VolumeSpec.isSize(asked.getAsLong())) {
                errors.add(new Problem.FieldError("sizeBytes", "must be " + VolumeSpec.SIZE_RULE));
            }
            size = asked.orElse(0);
        }
        int active = range(body, "activeControllers", 1, 1, VolumeSpec.MAX_ACTIVE, errors);
        int standby = range(body, "standbyControllers", 1, 0, VolumeSpec.MAX_STANDBY, errors);
        int legs = range(body, "legsPerController", 4, 1, VolumeSpec.MAX_LEGS_PER_CONTROLLER, errors);
        int replicas = range(body, "replicas", 2, 1, VolumeSpec.MAX_REPLICAS, errors);
        if (!errors.isEmpty()) {
            throw new Problem.Raised(Problem.invalid(errors));
        }
        return new CreateVolumeRequest(name, size, active, standby, legs, replicas, source);
    }

    /** Exactly one of a snapshot's id and a volume's. */
    private static Optional<VolumeSource> source(JsonNode source, List<Problem.FieldError> errors) {
        Set<String> fields = new java.util.TreeSet<>();
        if (source.isObject()) {
            source.fieldNames().forEachRemaining(fields::add);
        }
        if (!source.isObject() || fields.size() != 1 || !Set.of("snapshotId", "volumeId").containsAll(fields)
                || !source.get(fields.iterator().next()).isTextual()) {
            errors.add(new Problem.FieldError("source", "must be {\"snapshotId\": <a snapshot's id>} or {\"volumeId\": <a volume's id>}"));
            return Optional.empty();
        }
        String id = source.get(fields.iterator().next()).asText();
        if (fields.contains("snapshotId")) {
            if (Snapshot.volumeOf(id).isEmpty()) {
                errors.add(new Problem.FieldError("source.snapshotId", "must match " + Snapshot.ID_PATTERN));
                return Optional.empty();
            }
            return Optional.of(VolumeSource.ofSnapshot(id));
        }
        if (!Names.isVolumeId(id)) {
            errors.add(new Problem.FieldError("source.volumeId", "must match " + Names.VOLUME_ID_PATTERN));
            return Optional.empty();
        }
        return Optional.of(VolumeSource.ofVolume(id));
    }

    /** An optional count from min to max, {@code dflt} when absent. */
    private static int range(JsonNode body, String field, int dflt, int min, int max, List<Problem.FieldError> errors) {
        if (!body.has(field)) {
            return dflt;
        }
        OptionalLong v = number(body, field, errors);
        if (v.isPresent() && (v.getAsLong() < min || v.getAsLong() > max)) {
            errors.add(new Problem.FieldError(field, "must be an integer from " + min + " to " + max));
            return dflt;
        }
        return (int) v.orElse(dflt);
    }

    /**
     * The field as a whole number that fits a long; empty, with an error, when it is anything
     * else. (No value of a long can stand for "malformed": -9223372036854775808 is a number too.)
     */
    static OptionalLong number(JsonNode body, String field, List<Problem.FieldError> errors) {
        JsonNode n = body.get(field);
        if (!n.isIntegralNumber() || !n.canConvertToLong()) {
            errors.add(new Problem.FieldError(field, "must be a whole number"));
            return OptionalLong.empty();
        }
        return OptionalLong.of(n.asLong());
    }
}
