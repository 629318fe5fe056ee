package io.dnv.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.volume.VolumeSpec;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.OptionalLong;
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
        long size = 0;
        if (!body.has("sizeBytes")) {
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
        return new CreateVolumeRequest(name, new VolumeSpec(size, active, standby, legs, replicas));
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
