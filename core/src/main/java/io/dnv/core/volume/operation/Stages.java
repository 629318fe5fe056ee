package io.dnv.core.volume.operation;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** Waiting on several asks at once. */
public final class Stages {

    private Stages() {}

    /** Completes with every result in order once all completed; fails if any failed. */
    public static <T> CompletionStage<List<T>> all(List<? extends CompletionStage<T>> stages) {
        CompletableFuture<?>[] fs = stages.stream().map(CompletionStage::toCompletableFuture).toArray(CompletableFuture[]::new);
        return CompletableFuture.allOf(fs).thenApply(v -> stages.stream().map(st -> st.toCompletableFuture().join()).toList());
    }
}
