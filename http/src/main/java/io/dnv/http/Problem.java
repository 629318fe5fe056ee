package io.dnv.http;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.dnv.core.DomainError;

import java.util.List;
import java.util.Optional;

/**
 * An RFC 9457 problem: what went wrong, as application/problem+json. Validation problems list
 * every field with the rule it broke; a conflict with a running operation names it and its
 * stage ({@code operation}, {@code stage}).
 */
public record Problem(String type, String title, int status, String detail, List<FieldError> errors,
                      @JsonInclude(JsonInclude.Include.NON_ABSENT) Optional<String> operation,
                      @JsonInclude(JsonInclude.Include.NON_ABSENT) Optional<String> stage) {

    public record FieldError(String field, String rule) {}

    public static Problem of(int status, String title, String detail) {
        return new Problem("about:blank", title, status, detail, List.of(), Optional.empty(), Optional.empty());
    }

    public static Problem invalid(List<FieldError> errors) {
        return new Problem("https://dnv.io/problems/invalid-request", "Invalid request", 400,
                errors.size() + " field(s) break a rule; nothing was changed", List.copyOf(errors), Optional.empty(), Optional.empty());
    }

    /** The one place a domain refusal becomes an HTTP status. */
    public static Problem of(DomainError e) {
        if (e instanceof DomainError.NotFound) {
            return of(404, "Not found", e.detail());
        }
        if (e instanceof DomainError.Conflict c) {
            return new Problem(c.operation().isPresent() ? "https://dnv.io/problems/operation-in-progress" : "about:blank",
                    "Conflict", 409, c.detail(), List.of(), c.operation(), c.stage());
        }
        if (e instanceof DomainError.Busy) {
            return of(503, "Service Unavailable", e.detail());
        }
        if (e instanceof DomainError.Invalid i) {
            return invalid(List.of(new FieldError(i.field(), i.detail())));
        }
        return of(507, "Insufficient Storage", e.detail());
    }

    /** Raised by request handling to end a request with this problem. */
    public static final class Raised extends RuntimeException {
        private final Problem problem;

        public Raised(Problem problem) {
            super(problem.detail(), null, false, false);
            this.problem = problem;
        }

        public Problem problem() {
            return problem;
        }
    }
}
