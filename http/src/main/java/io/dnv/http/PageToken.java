package io.dnv.http;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;

/** Opaque page tokens: the last id of the previous page, so pages stay stable while items come and go. */
final class PageToken {

    private PageToken() {}

    static String encode(String lastId) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(lastId.getBytes(StandardCharsets.UTF_8));
    }

    static Optional<String> decode(Optional<String> token) {
        if (token.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(new String(Base64.getUrlDecoder().decode(token.get()), StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw new Problem.Raised(Problem.invalid(java.util.List.of(new Problem.FieldError("pageToken",
                    "must be a token returned as nextPageToken"))));
        }
    }
}
