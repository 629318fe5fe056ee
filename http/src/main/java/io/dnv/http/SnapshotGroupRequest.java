package io.dnv.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.volume.Snapshot;
import io.dnv.core.volume.SnapshotGroup;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** The body of POST /v1/snapshot-groups: {@code {"name": "...", "volumeIds": [...]}} and nothing else. */
record SnapshotGroupRequest(String name, List<String> volumeIds) {

    static SnapshotGroupRequest parse(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw new Problem.Raised(Problem.invalid(List.of(new Problem.FieldError("(body)", "must be a JSON object"))));
        }
        List<Problem.FieldError> errors = new ArrayList<>();
        body.fieldNames().forEachRemaining(f -> {
            if (!f.equals("name") && !f.equals("volumeIds")) {
                errors.add(new Problem.FieldError(f, "unknown field; allowed: name, volumeIds"));
            }
        });
        JsonNode name = body.get("name");
        if (name == null || !name.isTextual() || !Snapshot.isName(name.asText())) {
            errors.add(new Problem.FieldError("name", "required, " + Snapshot.NAME_RULE));
        }
        JsonNode ids = body.get("volumeIds");
        List<String> volumeIds = new ArrayList<>();
        if (ids == null || !ids.isArray() || ids.isEmpty() || ids.size() > SnapshotGroup.MAX_VOLUMES) {
            errors.add(new Problem.FieldError("volumeIds", "required, 1 to " + SnapshotGroup.MAX_VOLUMES + " volume ids"));
        } else {
            Set<String> seen = new HashSet<>();
            for (JsonNode id : ids) {
                if (!id.isTextual() || !Names.isVolumeId(id.asText())) {
                    errors.add(new Problem.FieldError("volumeIds", id + " is no volume id"));
                } else if (!seen.add(id.asText())) {
                    errors.add(new Problem.FieldError("volumeIds", id.asText() + " is named twice"));
                }
                volumeIds.add(id.asText());
            }
        }
        if (!errors.isEmpty()) {
            throw new Problem.Raised(Problem.invalid(errors));
        }
        return new SnapshotGroupRequest(name.asText(), List.copyOf(volumeIds));
    }
}
