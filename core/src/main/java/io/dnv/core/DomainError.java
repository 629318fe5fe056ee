package io.dnv.core;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

import java.util.Optional;

/**
 * Why the domain refused a command. Entities answer these; only the HTTP layer (and later the
 * CLI and the CSI driver) turns them into status codes, each the same way.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "kind")
@JsonSubTypes({
        @JsonSubTypes.Type(value = DomainError.NotFound.class, name = "not-found"),
        @JsonSubTypes.Type(value = DomainError.Conflict.class, name = "conflict"),
        @JsonSubTypes.Type(value = DomainError.Busy.class, name = "busy"),
        @JsonSubTypes.Type(value = DomainError.Invalid.class, name = "invalid"),
        @JsonSubTypes.Type(value = DomainError.NoCapacity.class, name = "no-capacity")})
public sealed interface DomainError extends CborSerializable {

    String detail();

    /** Nothing of that name exists (or it was deleted). */
    record NotFound(String detail) implements DomainError {}

    /**
     * The command contradicts what exists or what is under way; {@code operation} and
     * {@code stage} name the running operation when that is what it collides with.
     */
    record Conflict(String detail, Optional<String> operation, Optional<String> stage) implements DomainError {
        public static Conflict of(String detail) {
            return new Conflict(detail, Optional.empty(), Optional.empty());
        }
    }

    /** Cannot answer now, nothing changed: try again later. */
    record Busy(String detail) implements DomainError {}

    /** A field breaks a rule; {@code field} names it as the API does. */
    record Invalid(String field, String detail) implements DomainError {}

    /** The cluster has no room for what was asked. */
    record NoCapacity(String detail) implements DomainError {}
}
