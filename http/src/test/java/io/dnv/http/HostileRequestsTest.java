package io.dnv.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dnv.core.volume.VolumeView;
import io.dnv.http.readside.ControlMember;
import io.dnv.http.readside.ReadSide;
import io.dnv.persistence.Database;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Malformed requests over a real socket: every one is refused with a 4xx problem+json (naming
 * the field where there is one) and changes nothing. The API runs on a control member without
 * storage nodes, so a request that got through would still leave a volume in the list.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileRequestsTest {

    private static final String JSON = "application/json";
    private static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:1f7e0c55-3b7d-4d5e-8f22-9a0b1c2d3e4f";
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** One request and the refusal it must get; {@code field} is the field the problem must name, or null. */
    private record Case(String method, String path, String contentType, String body, int status, String field) {
        @Override
        public String toString() {
            String b = body == null ? "" : " " + (body.length() > 80 ? body.substring(0, 80) + "…" : body);
            String p = path.length() > 80 ? path.substring(0, 80) + "…" : path;
            return method + " " + p + (contentType == null ? "" : " [" + contentType + "]") + b;
        }
    }

    private Path dir;
    private ActorSystem<Void> system;
    private ServerBinding binding;
    private String base;
    private String token;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("dnv-hostile");
        Database db = Database.h2File(dir.resolve("db"));
        db.migrate();
        system = ControlMember.start(db, "hostile");
        ApiToken apiToken = ApiToken.loadOrCreate(dir);
        token = apiToken.value();
        Api api = new Api(new ControlPlane(system, ReadSide.start(system, db)), apiToken, Optional.of(new NoHosts()));
        binding = ApiServer.bind(system, "127.0.0.1", 0, api).toCompletableFuture().get(30, TimeUnit.SECONDS);
        base = "http://127.0.0.1:" + binding.localAddress().getPort();
    }

    @AfterAll
    void stop() throws Exception {
        binding.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
        ControlMember.stop(system);
    }

    private static List<Case> cases() {
        List<Case> c = new ArrayList<>();
        // numbers at the edges of long, and beyond
        for (String size : List.of("9223372036854775807", "-9223372036854775808", "1e30", "18446744073709551616", "1048576.0", "\"1048576\"", "true", "null", "[]")) {
            c.add(create("{\"name\":\"s" + c.size() + "\",\"sizeBytes\":" + size + "}", 400, "sizeBytes"));
        }
        for (String field : List.of("activeControllers", "standbyControllers", "legsPerController", "replicas")) {
            for (String n : List.of("-9223372036854775808", "9223372036854775807", "4294967297", "-1", "1.5", "\"1\"")) {
                c.add(create("{\"name\":\"n" + c.size() + "\",\"sizeBytes\":1048576,\"" + field + "\":" + n + "}", 400, field));
            }
        }
        // names: the planner's rule is the API's
        for (String name : List.of("\"" + "a".repeat(41) + "\"", "\"" + "a".repeat(50) + "\"", "\"\"", "\"-a\"", "\"a_b\"", "\"Ab\"",
                "\"v\\u00f6l\"", "\"a/b\"", "123", "null", "{}")) {
            c.add(create("{\"name\":" + name + ",\"sizeBytes\":1048576}", 400, "name"));
        }
        // the body as a whole
        c.add(create("{\"name\":\"dup\",\"name\":\"dup2\",\"sizeBytes\":1048576}", 400, null));
        c.add(create("{\"name\":\"trail\",\"sizeBytes\":1048576} {\"name\":\"trail2\"}", 400, null));
        c.add(create("{\"name\":\"long\",\"sizeBytes\":1" + "0".repeat(2000) + "}", 400, null));
        c.add(create("{\"name\":\"colour\",\"sizeBytes\":1048576,\"colour\":\"red\"}", 400, "colour"));
        for (String body : List.of("", "null", "[]", "\"vol\"", "42", "{not json", "[".repeat(5000) + "]".repeat(5000))) {
            c.add(create(body, 400, null));
        }
        c.add(create("{\"name\":\"big\",\"pad\":\"" + "x".repeat(70_000) + "\"}", 413, null));
        // the body is JSON only when it says so
        for (String type : List.of("text/plain", "application/xml", "application/x-www-form-urlencoded", "application/octet-stream")) {
            c.add(new Case("POST", "/v1/volumes", type, "{\"name\":\"typed\",\"sizeBytes\":1048576}", 415, null));
        }
        c.add(new Case("POST", "/v1/volumes", null, "{\"name\":\"untyped\",\"sizeBytes\":1048576}", 415, null));
        // host NQNs
        for (String nqn : List.of("nqn.2014-08.org.nvmexpress:uuid:not-a-uuid", "nqn.2014-08.org.nvmexpress:uuid:1f7e0c55-3b7d-4d5e-8f22-9a0b1c2d3e4",
                "nqn.2024-01.a:x/../../../tmp/p", "nqn.2024-01.io.dnv:a,hostnqn=b", "nqn.2024-01.io.dnv:" + "x".repeat(205),
                "nqn.2024-01.io.dnv:a b", "nqn.2024-01.io.dnv:a\\u0007", "not-an-nqn")) {
            c.add(new Case("POST", "/v1/volumes/x/attachments", JSON, "{\"hostNqn\":\"" + nqn + "\"}", 400, "hostNqn"));
        }
        c.add(new Case("POST", "/v1/volumes/x/attachments", JSON, "{\"hostNqn\":\"" + HOST + "\",\"hostNqn\":\"" + HOST + "\"}", 400, null));
        c.add(new Case("POST", "/v1/volumes/x/attachments", JSON, "{\"hostNqn\":5}", 400, "hostNqn"));
        c.add(new Case("POST", "/v1/volumes/x/attachments", "text/plain", "{\"hostNqn\":\"" + HOST + "\"}", 415, null));
        c.add(new Case("DELETE", "/v1/volumes/x/attachments/nqn.2024-01.a:x%2F..%2F..%2Ftmp%2Fp", null, null, 400, "hostNqn"));
        c.add(new Case("DELETE", "/v1/volumes/x/attachments/nqn.2014-08.org.nvmexpress:uuid:zzz", null, null, 400, "hostNqn"));
        // paging
        for (String list : List.of("/v1/volumes", "/v1/nodes")) {
            for (String q : List.of("pageToken=zzzz", "pageToken=!", "pageToken=LS0t", "limit=9223372036854775807", "limit=-1", "limit=1e3")) {
                c.add(new Case("GET", list + "?" + q, null, null, 400, q.substring(0, q.indexOf('='))));
            }
        }
        // data I/O ranges
        String data = "/v1/sim/hosts/" + HOST + "/volumes/x/data";
        for (String offset : List.of("-9223372036854775808", "1e30", "18446744073709551616", "0x200")) {
            c.add(new Case("GET", data + "?offset=" + offset + "&length=512", null, null, 400, "offset"));
        }
        for (String length : List.of("9223372036854775807", "-512", "4294967808")) {
            c.add(new Case("GET", data + "?offset=0&length=" + length, null, null, 400, "length"));
        }
        // a URI longer than the server reads
        c.add(new Case("GET", "/v1/volumes/" + "a".repeat(3000), null, null, 414, null));
        return c;
    }

    private static Case create(String body, int status, String field) {
        return new Case("POST", "/v1/volumes", JSON, body, status, field);
    }

    @Test
    void everyMalformedRequestIsA4xxProblemAndChangesNothing() throws Exception {
        List<String> wrong = new ArrayList<>();
        List<Case> cases = cases();
        for (Case c : cases) {
            HttpResponse<byte[]> r = send(c);
            String type = r.headers().firstValue("Content-Type").orElse("");
            String body = new String(r.body());
            if (r.statusCode() != c.status() || !type.equals("application/problem+json")) {
                wrong.add(c + " -> " + r.statusCode() + " " + type + " " + body.substring(0, Math.min(200, body.length())));
                continue;
            }
            JsonNode problem = MAPPER.readTree(r.body());
            List<String> fields = new ArrayList<>();
            problem.path("errors").forEach(e -> fields.add(e.path("field").asText()));
            if (problem.path("status").asInt() != c.status() || c.field() != null && !fields.contains(c.field())) {
                wrong.add(c + " -> " + body + " does not name " + c.field());
            }
        }
        assertTrue(wrong.isEmpty(), wrong.size() + " of " + cases.size() + " requests were not refused as they should be:\n"
                + String.join("\n", wrong));

        // The list lags the entities: a volume created now shows once everything before it has.
        assertEquals(202, send(create("{\"name\":\"sentinel\",\"sizeBytes\":1048576}", 202, null)).statusCode());
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        List<String> listed = List.of();
        while (!listed.contains("sentinel") && System.nanoTime() < deadline) {
            Thread.sleep(100);
            listed = new ArrayList<>();
            for (JsonNode v : MAPPER.readTree(send(new Case("GET", "/v1/volumes?limit=500", null, null, 200, null)).body()).path("items")) {
                listed.add(v.path("id").asText());
            }
        }
        assertEquals(List.of("sentinel"), listed, "only the volume created on purpose exists");
    }

    private HttpResponse<byte[]> send(Case c) throws IOException, InterruptedException {
        HttpRequest.BodyPublisher body = c.body() == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(c.body());
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + c.path())).method(c.method(), body)
                .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(30));
        if (c.contentType() != null) {
            b.header("Content-Type", c.contentType());
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    /** Data routes exist (as in ./dnv dev), but no request here may reach a host. */
    private static final class NoHosts implements SimulatedHosts {
        @Override
        public CompletionStage<byte[]> read(String hostNqn, VolumeView volume, long offset, int length) {
            return CompletableFuture.failedFuture(new AssertionError("a refused request reached a host"));
        }

        @Override
        public CompletionStage<Void> write(String hostNqn, VolumeView volume, long offset, byte[] data) {
            return CompletableFuture.failedFuture(new AssertionError("a refused request reached a host"));
        }
    }
}
