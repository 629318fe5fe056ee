package io.dnv.sim.bench;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * A clone of a volume through the HTTP API, followed until it is a volume like any other
 * (docs/clone.md): request → READY (the source snapshotted, exported, the clone built over it),
 * READY → hydrated (the volume's journal: BecameReady to CloneHydrated, so it includes up to one
 * look's interval, {@code Hydration.EVERY}), hydrated → finished (swap, metadata, release), and
 * the fastest copy rate the volume saw between two looks. The source is deleted with the clone's
 * snapshot gone, the clone after it.
 */
public final class CloneBenchmark {

    /** One run's figures; {@link #line} is its machine-readable line. */
    public record Result(long sourceMib, int legs, long readyMillis, long hydrateMillis, long finishMillis, double mibPerSecond,
                         double peakMibPerSecond) {
        public String line() {
            return String.format(java.util.Locale.ROOT, "clone_mib=%d legs=%d ready_ms=%d hydrate_ms=%d finish_ms=%d hydrate_mib_per_s=%.1f"
                    + " peak_mib_per_s=%.1f", sourceMib, legs, readyMillis, hydrateMillis, finishMillis, mibPerSecond, peakMibPerSecond);
        }
    }

    private final BenchApi api;

    public CloneBenchmark(String apiBase, String token) {
        this.api = new BenchApi(apiBase, token);
    }

    /** A source of {@code sizeBytes} over {@code legs} legs (one active), cloned into a volume of the same shape. */
    public Result run(long sizeBytes, int legs, Duration timeout, PrintStream out) throws Exception {
        String source = "clonebench-src";
        String clone = "clonebench";
        String shape = ",\"activeControllers\":1,\"legsPerController\":" + legs;
        expect(api.postAsync("/v1/volumes", "{\"name\":\"" + source + "\",\"sizeBytes\":" + sizeBytes + shape + "}").get(), "create " + source);
        api.awaitAll(List.of(source), timeout, "READY");
        Instant sent = Instant.now();
        expect(api.postAsync("/v1/volumes", "{\"name\":\"" + clone + "\",\"source\":{\"volumeId\":\"" + source + "\"}" + shape + "}").get(),
                "clone " + source);
        long deadline = System.nanoTime() + timeout.toNanos();
        JsonNode v = api.get("/v1/volumes/" + clone);
        while (!(v.path("cloneOf").path("status").asText().equals("DONE") && v.path("operation").isNull())) {
            if (System.nanoTime() > deadline || v.path("state").asText().equals("FAILED")) {
                throw new IllegalStateException("the clone is not done after " + timeout.toSeconds() + " s: " + v);
            }
            Thread.sleep(200);
            v = api.get("/v1/volumes/" + clone);
        }
        JsonNode events = api.get("/v1/volumes/" + clone + "/events");
        Instant ready = BenchApi.eventTime(events, "BecameReady").orElseThrow();
        Instant hydrated = BenchApi.eventTime(events, "CloneHydrated").orElseThrow();
        Instant finished = BenchApi.eventTime(events, "CloneSourceReleased").orElseThrow();
        long peak = 0;
        for (JsonNode e : events) {
            if (e.path("type").asText().equals("HydrationProgressed") || e.path("type").asText().equals("CloneHydrated")) {
                peak = Math.max(peak, e.path("event").path("progress").path("bytesPerSecond").asLong());
            }
        }
        long total = v.path("cloneOf").path("totalBytes").asLong();
        long hydrateMillis = Duration.between(ready, hydrated).toMillis();
        Result r = new Result(total >> 20, legs, Duration.between(sent, ready).toMillis(), hydrateMillis,
                Duration.between(hydrated, finished).toMillis(), (total / (double) (1 << 20)) / Math.max(0.001, hydrateMillis / 1000.0),
                peak / (double) (1 << 20));
        out.printf(java.util.Locale.ROOT, "%d MiB over %d legs: request -> READY %d ms, READY -> hydrated %d ms (%.1f MiB/s; the fastest"
                        + " second %.1f MiB/s), hydrated -> swapped and released %d ms%n", r.sourceMib(), legs, r.readyMillis(),
                r.hydrateMillis(), r.mibPerSecond(), r.peakMibPerSecond(), r.finishMillis());
        expect(api.send(api.request("/v1/volumes/" + clone).DELETE().build()), "delete " + clone);
        api.awaitAll(List.of(clone), timeout, null);
        expect(api.send(api.request("/v1/volumes/" + source).DELETE().build()), "delete " + source);
        api.awaitAll(List.of(source), timeout, null);
        return r;
    }

    private static void expect(HttpResponse<String> r, String what) {
        if (r.statusCode() != 202) {
            throw new IllegalStateException(what + " answered " + r.statusCode() + ": " + r.body());
        }
    }
}
