package io.dnv.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.dnv.core.volume.Snapshot;

import java.util.ArrayList;
import java.util.List;

/** The body of POST /v1/volumes/{id}/snapshots: {@code {"name": "..."}} and nothing else. */
final class SnapshotRequest {

    private SnapshotRequest() {}

    static String parse(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw new Problem.Raised(Problem.invalid(List.of(new Problem.FieldError("(body)", "must be a JSON object"))));
        }
        List<Problem.FieldError> errors = new ArrayList<>();
        body.fieldNames().forEachRemaining(f -> {
            if (!f.equals("name")) {
                errors.add(new Problem.FieldError(f, "unknown field; allowed: name"));
            }
        });
        JsonNode name = body.get("name");
        if (name == null || !name.isTextual() || !Snapshot.isName(name.asText())) {
            errors.add(new Problem.FieldError("name", "required, " + Snapshot.NAME_RULE));
        }
        if (!errors.isEmpty()) {
            throw new Problem.Raised(Problem.invalid(errors));
        }
        return name.asText();
    }
}
