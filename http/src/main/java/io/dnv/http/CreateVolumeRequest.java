package io.dnv.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.volume.VolumeSpec;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * The body of POST /v1/volumes, validated field by field: every broken rule is reported at
 * once, with the field's name, and nothing is created.
 */
record CreateVolumeRequest(String name, VolumeSpec spec) {

    private static final Set<String> FIELDS = Set.of("name", "sizeBytes", "activeControllers", "standbyControllers",
            "legsPerController", "replicas");

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
        long size = number(body, "sizeBytes", -1, errors);
        if (body.has("sizeBytes") && size != Long.MIN_VALUE) {
            if (!VolumeSpec.isSize(size)) {
                errors.add(new Problem.FieldError("sizeBytes", "must be " + VolumeSpec.SIZE_RULE));
            }
        } else if (!body.has("sizeBytes")) {
            errors.add(new Problem.FieldError("sizeBytes", "required, " + VolumeSpec.SIZE_RULE));
        }
        int active = (int) range(body, "activeControllers", 1, 1, VolumeSpec.MAX_ACTIVE, errors);
        int standby = (int) range(body, "standbyControllers", 1, 0, VolumeSpec.MAX_STANDBY, errors);
        int legs = (int) range(body, "legsPerController", 4, 1, VolumeSpec.MAX_LEGS_PER_CONTROLLER, errors);
        int replicas = (int) range(body, "replicas", 2, 1, VolumeSpec.MAX_REPLICAS, errors);
        if (!errors.isEmpty()) {
            throw new Problem.Raised(Problem.invalid(errors));
        }
        return new CreateVolumeRequest(name, new VolumeSpec(size, active, standby, legs, replicas));
    }

    private static long range(JsonNode body, String field, long dflt, long min, long max, List<Problem.FieldError> errors) {
        long v = number(body, field, dflt, errors);
        if (v != Long.MIN_VALUE && (v < min || v > max)) {
            errors.add(new Problem.FieldError(field, "must be an integer from " + min + " to " + max));
        }
        return v == Long.MIN_VALUE ? dflt : v;
    }

    /** The field as a whole number, the default when absent, Long.MIN_VALUE (and an error) when malformed. */
    private static long number(JsonNode body, String field, long dflt, List<Problem.FieldError> errors) {
        if (!body.has(field)) {
            return dflt;
        }
        JsonNode n = body.get(field);
        if (!n.isIntegralNumber() || !n.canConvertToLong()) {
            errors.add(new Problem.FieldError(field, "must be a whole number"));
            return Long.MIN_VALUE;
        }
        return n.asLong();
    }
}
