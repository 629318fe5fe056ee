package io.dnv.http;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;
import java.util.regex.Pattern;

/** Opaque page tokens: the last id of the previous page, so pages stay stable while items come and go. */
final class PageToken {

    /**
     * What every id dnv lists looks like (node and volume ids). Deliberately not the current
     * volume name rule: a volume named before that rule may still be listed and end a page.
     */
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9-]*");

    private PageToken() {}

    static String encode(String lastId) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(lastId.getBytes(StandardCharsets.UTF_8));
    }

    /** The id a token carries; a token dnv did not hand out is refused, not read as "after garbage" (an empty page). */
    static Optional<String> decode(Optional<String> token) {
        if (token.isEmpty()) {
            return Optional.empty();
        }
        String id;
        try {
            id = new String(Base64.getUrlDecoder().decode(token.get()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            id = "";
        }
        if (!ID.matcher(id).matches() || !encode(id).equals(token.get())) {
            throw new Problem.Raised(Problem.invalid(java.util.List.of(new Problem.FieldError("pageToken",
                    "must be a token returned as nextPageToken"))));
        }
        return Optional.of(id);
    }
}
