package io.dnv.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.dnv.core.volume.VolumeSpec;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * The body of PATCH /v1/volumes/{id}: {@code {"sizeBytes": N}} and nothing else. Whether N grows
 * the volume is the volume's to say (it knows its size); here only its form is checked.
 */
final class ExtendVolumeRequest {

    private ExtendVolumeRequest() {}

    static long parse(JsonNode body) {
        List<Problem.FieldError> errors = new ArrayList<>();
        if (body == null || !body.isObject()) {
            throw new Problem.Raised(Problem.invalid(List.of(new Problem.FieldError("(body)", "must be a JSON object"))));
        }
        body.fieldNames().forEachRemaining(f -> {
            if (!f.equals("sizeBytes")) {
                errors.add(new Problem.FieldError(f, "unknown field; allowed: sizeBytes (a volume can only grow)"));
            }
        });
        OptionalLong size = OptionalLong.empty();
        if (!body.has("sizeBytes")) {
            errors.add(new Problem.FieldError("sizeBytes", "required, " + VolumeSpec.SIZE_RULE));
        } else {
            size = CreateVolumeRequest.number(body, "sizeBytes", errors);
            if (size.isPresent() && !VolumeSpec.isSize(size.getAsLong())) {
                errors.add(new Problem.FieldError("sizeBytes", "must be " + VolumeSpec.SIZE_RULE));
            }
        }
        if (!errors.isEmpty()) {
            throw new Problem.Raised(Problem.invalid(errors));
        }
        return size.orElseThrow();
    }
}
