package io.dnv.node.agent;

/** A kernel operation the agent tried and the kernel refused, as the agent reports it. */
public record Failure(String object, String operation, String message) {

    @Override
    public String toString() {
        return operation + " " + object + ": " + message;
    }
}
