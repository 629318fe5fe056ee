package io.dnv.core.volume.operation;

import io.dnv.core.volume.Volume;

import java.time.Duration;

/** What a stage makes of a step's result: an event that moves the volume on, or another try later. */
public sealed interface Outcome {

    record Persist(Volume.Event event) implements Outcome {}

    /** Not there yet: run the same stage again after {@code after}; {@code waitingFor} says why. */
    record Again(Duration after, String waitingFor) implements Outcome {}

    static Outcome persist(Volume.Event e) {
        return new Persist(e);
    }

    /** The agents are asked again at once: each ask already waits up to two seconds for a report. */
    static Outcome poll(String waitingFor) {
        return new Again(Duration.ofMillis(100), waitingFor);
    }
}
