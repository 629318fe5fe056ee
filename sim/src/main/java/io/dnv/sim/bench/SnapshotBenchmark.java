package io.dnv.sim.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Snapshots of one volume of a given shape through the HTTP API, one after another, each
 * followed to READY. For each: how long host I/O was held (the longest hold of any active
 * controller, from the start of its stripe's suspend to the end of its resume, as its agent
 * measured it) and request → done (from the moment the POST was sent to the time the volume's
 * journal recorded SnapshotTaken, so polling does not inflate it).
 */
public final class SnapshotBenchmark {

    /** One shape's figures; {@link #line} is its machine-readable line. */
    public record Result(int legs, int volumes, int snapshots, long holdP50Ms, long holdP99Ms, long doneP50Ms, long doneP99Ms) {
        public String line() {
            return String.format("legs=%d volumes=%d hold_p50_ms=%d hold_p99_ms=%d done_p99_ms=%d", legs, volumes, holdP50Ms, holdP99Ms,
                    doneP99Ms);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final String api;
    private final String token;

    public SnapshotBenchmark(String apiBase, String token) {
        this.api = apiBase;
        this.token = token;
    }

    /**
     * A volume of {@code legs} legs (one active controller owning them all, so one node
     * snapshots every leg), {@code warmups} snapshots not counted, then {@code snapshots}
     * measured; the volume is deleted with its snapshots afterwards.
     */
    public Result run(int legs, long sizeBytes, int warmups, int snapshots, Duration timeout, PrintStream out) throws Exception {
        String volume = "snapbench-" + legs;
        HttpResponse<String> created = send(request("/v1/volumes").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"" + volume + "\",\"sizeBytes\":" + sizeBytes
                        + ",\"activeControllers\":1,\"legsPerController\":" + legs + "}")).build());
        expect(created, 202, "create " + volume);
        awaitVolume(volume, timeout);
        List<Long> held = new ArrayList<>();
        List<Long> done = new ArrayList<>();
        List<List<Long>> stages = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        for (int i = 0; i < warmups + snapshots; i++) {
            Instant sent = Instant.now();
            HttpResponse<String> taken = send(request("/v1/volumes/" + volume + "/snapshots").header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"s" + i + "\"}")).build());
            expect(taken, 202, "snapshot " + i + " of " + volume);
            String id = JSON.readTree(taken.body()).path("id").asText();
            JsonNode ready = awaitSnapshot(id, timeout);
            if (i >= warmups) {
                held.add(ready.path("heldMillis").asLong());
                List<Instant> at = eventTimes(volume, id);
                done.add(Duration.between(sent, at.get(at.size() - 1)).toMillis());
                for (int st = 0; st < stages.size(); st++) {
                    stages.get(st).add(Duration.between(at.get(st), at.get(st + 1)).toMillis());
                }
            }
        }
        Collections.sort(held);
        Collections.sort(done);
        Result r = new Result(legs, 1, snapshots, BenchApi.percentile(held, 50), BenchApi.percentile(held, 99), BenchApi.percentile(done, 50), BenchApi.percentile(done, 99));
        out.printf("%d legs: %d snapshots (after %d not counted): host I/O held p50 %d ms, p99 %d ms, max %d ms; request -> done p50 %d ms,"
                        + " p99 %d ms, max %d ms%n", legs, snapshots, warmups, r.holdP50Ms(), r.holdP99Ms(), held.get(held.size() - 1),
                r.doneP50Ms(), r.doneP99Ms(), done.get(done.size() - 1));
        stages.forEach(Collections::sort);
        out.printf("  where the time goes (p50 / p99, from the journal's times, ms resolution): hold %d / %d ms, snap %d / %d ms,"
                        + " release %d / %d ms%n", BenchApi.percentile(stages.get(0), 50), BenchApi.percentile(stages.get(0), 99), BenchApi.percentile(stages.get(1), 50),
                BenchApi.percentile(stages.get(1), 99), BenchApi.percentile(stages.get(2), 50), BenchApi.percentile(stages.get(2), 99));
        expect(send(request("/v1/volumes/" + volume + "?deleteSnapshots=true").DELETE().build()), 202, "delete " + volume);
        return r;
    }

    /**
     * A group of {@code volumes} volumes of one leg each (one active controller each, spread over
     * the nodes by placement), snapshotted together: {@code warmups} groups not counted, then
     * {@code groups} measured. Held is the group's longest hold of any node; done is from the POST
     * to the group's journal recording every member told (every member's snapshot READY).
     */
    public Result runGroup(int volumes, long sizeBytes, int warmups, int groups, Duration timeout, PrintStream out) throws Exception {
        List<String> ids = new ArrayList<>();
        for (int v = 0; v < volumes; v++) {
            ids.add("groupbench-" + v);
            expect(send(request("/v1/volumes").header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                    "{\"name\":\"" + ids.get(v) + "\",\"sizeBytes\":" + sizeBytes + ",\"activeControllers\":1,\"legsPerController\":1}"))
                    .build()), 202, "create " + ids.get(v));
        }
        for (String id : ids) {
            awaitVolume(id, timeout);
        }
        String members = JSON.writeValueAsString(ids);
        List<Long> held = new ArrayList<>();
        List<Long> done = new ArrayList<>();
        for (int i = 0; i < warmups + groups; i++) {
            String name = "g" + i;
            Instant sent = Instant.now();
            expect(send(request("/v1/snapshot-groups").header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                    "{\"name\":\"" + name + "\",\"volumeIds\":" + members + "}")).build()), 202, "group " + name);
            JsonNode ready = awaitGroup(name, timeout);
            if (i >= warmups) {
                held.add(ready.path("heldMillis").asLong());
                done.add(Duration.between(sent, groupTold(name)).toMillis());
            }
        }
        Collections.sort(held);
        Collections.sort(done);
        Result r = new Result(1, volumes, groups, BenchApi.percentile(held, 50), BenchApi.percentile(held, 99), BenchApi.percentile(done, 50),
                BenchApi.percentile(done, 99));
        out.printf("group of %d volumes: %d groups (after %d not counted): host I/O held p50 %d ms, p99 %d ms, max %d ms; request -> done"
                        + " p50 %d ms, p99 %d ms, max %d ms%n", volumes, groups, warmups, r.holdP50Ms(), r.holdP99Ms(), held.get(held.size() - 1),
                r.doneP50Ms(), r.doneP99Ms(), done.get(done.size() - 1));
        for (String id : ids) {
            expect(send(request("/v1/volumes/" + id + "?deleteSnapshots=true").DELETE().build()), 202, "delete " + id);
        }
        return r;
    }

    private JsonNode awaitGroup(String name, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode g = JSON.readTree(send(request("/v1/snapshot-groups/" + name).GET().build()).body());
            if (g.path("state").asText().equals("READY")) {
                return g;
            }
            if (g.path("state").asText().equals("FAILED")) {
                throw new IllegalStateException("snapshot group " + name + " FAILED: " + g.path("error").asText());
            }
            Thread.sleep(10);
        }
        throw new IllegalStateException("snapshot group " + name + " not READY within " + timeout.toSeconds() + " s");
    }

    /** When the group's journal recorded every member told. */
    private Instant groupTold(String name) throws Exception {
        for (JsonNode e : JSON.readTree(send(request("/v1/snapshot-groups/" + name + "/events").GET().build()).body())) {
            if (e.path("type").asText().equals("MembersTold")) {
                return Instant.parse(e.path("time").asText());
            }
        }
        throw new IllegalStateException("snapshot group " + name + " has no MembersTold");
    }

    private void awaitVolume(String volume, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode v = JSON.readTree(send(request("/v1/volumes/" + volume).GET().build()).body());
            if (v.path("state").asText().equals("READY") && (v.path("operation").isMissingNode() || v.path("operation").isNull())) {
                return;
            }
            if (v.path("state").asText().equals("FAILED")) {
                throw new IllegalStateException(volume + " FAILED: " + v.path("error").asText());
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException(volume + " not READY within " + timeout.toSeconds() + " s");
    }

    private JsonNode awaitSnapshot(String id, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode s = JSON.readTree(send(request("/v1/snapshots/" + id).GET().build()).body());
            if (s.path("state").asText().equals("READY")) {
                return s;
            }
            if (s.path("state").asText().equals("FAILED")) {
                throw new IllegalStateException("snapshot " + id + " FAILED: " + s.path("error").asText());
            }
            Thread.sleep(10);
        }
        throw new IllegalStateException("snapshot " + id + " not READY within " + timeout.toSeconds() + " s");
    }

    /**
     * When the volume's journal recorded the snapshot requested, its stripes held, its thins
     * snapped and the snapshot taken (a snapshot taken again after an undo: its last try).
     */
    private List<Instant> eventTimes(String volume, String snapshotId) throws Exception {
        List<Instant> at = new ArrayList<>();
        boolean mine = false;
        for (JsonNode e : JSON.readTree(send(request("/v1/volumes/" + volume + "/events").GET().build()).body())) {
            String type = e.path("type").asText();
            if (type.equals("SnapshotRequested")) {
                mine = e.path("event").path("snapshotId").asText().equals(snapshotId);
                at.clear();
            }
            if (mine && List.of("SnapshotRequested", "StripesHeld", "ThinsSnapped", "SnapshotTaken").contains(type)) {
                if (type.equals("StripesHeld")) {
                    at.subList(1, at.size()).clear();
                }
                at.add(Instant.parse(e.path("time").asText()));
                if (type.equals("SnapshotTaken")) {
                    return at;
                }
            }
        }
        throw new IllegalStateException(volume + " has no SnapshotTaken of " + snapshotId);
    }

    private HttpResponse<String> send(HttpRequest r) throws IOException, InterruptedException {
        return http.send(r, HttpResponse.BodyHandlers.ofString());
    }

    private static void expect(HttpResponse<String> r, int status, String what) {
        if (r.statusCode() != status) {
            throw new IllegalStateException(what + " answered " + r.statusCode() + ": " + r.body());
        }
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(api + path)).header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(60));
    }
}
