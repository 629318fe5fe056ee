package io.dnv.http;

import java.util.List;

/**
 * An RFC 9457 problem: what went wrong, as application/problem+json. Validation problems list
 * every field with the rule it broke.
 */
public record Problem(String type, String title, int status, String detail, List<FieldError> errors) {

    public record FieldError(String field, String rule) {}

    public static Problem of(int status, String title, String detail) {
        return new Problem("about:blank", title, status, detail, List.of());
    }

    public static Problem invalid(List<FieldError> errors) {
        return new Problem("https://dnv.io/problems/invalid-request", "Invalid request", 400,
                errors.size() + " field(s) break a rule; nothing was changed", List.copyOf(errors));
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
