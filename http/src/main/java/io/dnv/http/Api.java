package io.dnv.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.dnv.core.kernel.Nqn;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeView;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.Location;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * The REST API under /v1. Every route but the OpenAPI document needs the bearer token; every
 * error is problem+json; a request that breaks a rule changes nothing.
 */
public final class Api extends AllDirectives {

    static final long JSON_LIMIT = 64 * 1024;
    static final int DATA_LIMIT = 16 << 20;
    static final int DEFAULT_PAGE = 50;
    static final int MAX_PAGE = 500;
    private static final ContentType PROBLEM = ContentTypes.create(MediaTypes.applicationWithFixedCharset("problem+json", HttpCharsets.UTF_8));

    private final ControlPlane cp;
    private final ApiToken token;
    private final Optional<SimulatedHosts> hosts;
    private final Optional<SimulatedFaults> faults;
    static final java.time.Duration SIM_IO_TIMEOUT = java.time.Duration.ofSeconds(80);
    private final byte[] openApi;

    public Api(ControlPlane cp, ApiToken token, Optional<SimulatedHosts> hosts) {
        this(cp, token, hosts, Optional.empty());
    }

    public Api(ControlPlane cp, ApiToken token, Optional<SimulatedHosts> hosts, Optional<SimulatedFaults> faults) {
        this.cp = cp;
        this.token = token;
        this.hosts = hosts;
        this.faults = faults;
        this.openApi = resource("/openapi.json");
    }

    public Route routes() {
        return handleExceptions(exceptions(), () -> handleRejections(rejections(), () -> pathPrefix("v1", () -> concat(
                path("openapi.json", () -> get(() -> complete(HttpResponse.create()
                        .withEntity(ContentTypes.APPLICATION_JSON, openApi)))),
                authenticated(() -> concat(nodeRoutes(), volumeRoutes(), snapshotRoutes(), snapshotGroupRoutes(), simRoutes()))))));
    }

    private Route authenticated(Supplier<Route> inner) {
        return optionalHeaderValueByName("Authorization", header -> header
                .filter(h -> h.startsWith("Bearer ") && token.matches(h.substring("Bearer ".length()).trim()))
                .map(h -> inner.get())
                .orElseGet(() -> complete(problem(Problem.of(401, "Unauthorized",
                        "send the API token as 'Authorization: Bearer <token>' (it is in <data-dir>/api-token)")))));
    }

    // ---------------------------------------------------------------- nodes

    private Route nodeRoutes() {
        return pathPrefix("nodes", () -> concat(
                pathEnd(() -> get(() -> paged((limit, after) -> cp.nodes(limit, after).thenApply(Api::json)))),
                pathPrefix(id -> concat(
                        pathEnd(() -> get(() -> async(() -> cp.node(id).thenApply(n -> n.state().equals("UNREGISTERED")
                                ? problem(Problem.of(404, "Not found", "no storage node " + id)) : json(n))))),
                        path("health", () -> get(() -> async(() -> cp.health(id).thenApply(Api::json)))),
                        path("kernel", () -> get(() -> async(() -> cp.kernel(id).thenApply(k -> k
                                .map(Api::json)
                                .orElseGet(() -> problem(Problem.of(404, "Not found", "no agent of node " + id
                                        + " has reported its kernel")))))))))));
    }

    // ---------------------------------------------------------------- volumes

    private Route volumeRoutes() {
        return pathPrefix("volumes", () -> concat(
                pathEnd(() -> concat(
                        get(() -> paged((limit, after) -> cp.volumes(limit, after).thenApply(Api::json))),
                        post(() -> jsonBody(body -> {
                            CreateVolumeRequest req = CreateVolumeRequest.parse(body);
                            return (req.source().isPresent() ? cp.createClone(req) : cp.create(req.name(), req.spec()))
                                    .thenApply(r -> r.volume().isPresent() ? created(r.volume().get()) : problem(resultProblem(r)));
                        })))),
                pathPrefix(id -> concat(
                        pathEnd(() -> concat(
                                get(() -> async(() -> cp.inspect(id).thenApply(Api::result))),
                                patch(() -> jsonBody(body -> cp.extend(id, ExtendVolumeRequest.parse(body))
                                        .thenApply(Api::accepted))),
                                delete(() -> parameterOptional("deleteSnapshots", with -> async(() ->
                                        cp.delete(id, flag("deleteSnapshots", with)).thenApply(Api::accepted)))))),
                        path("snapshots", () -> concat(
                                post(() -> jsonBody(body -> cp.takeSnapshot(id, SnapshotRequest.parse(body)).thenApply(r ->
                                        r.snapshot().map(Api::snapshotAccepted).orElseGet(() -> problem(Problem.of(r.error().orElseThrow())))))),
                                get(() -> async(() -> cp.snapshots(id).thenApply(l -> l.error().isPresent()
                                        ? problem(Problem.of(l.error().get())) : json(new SnapshotPage(l.snapshots()))))))),
                        path("events", () -> get(() -> async(() -> cp.get(id).thenCompose(r -> r.volume().isEmpty()
                                ? CompletableFuture.completedFuture(problem(resultProblem(r)))
                                : cp.events(id).thenApply(Api::json))))),
                        pathPrefix("attachments", () -> concat(
                                pathEnd(() -> post(() -> jsonBody(body -> {
                                    String host = hostNqn(body);
                                    return cp.attach(id, host).thenApply(a -> a.connect().isPresent() ? json(a.connect().get())
                                            : problem(Problem.of(a.error().orElseThrow())));
                                }))),
                                path(host -> delete(() -> async(() -> {
                                    checkHost(host);
                                    return cp.detach(id, host).thenApply(Api::result);
                                })))))))));
    }

    // ---------------------------------------------------------------- snapshots

    /** The items of GET /v1/volumes/{id}/snapshots, in the order they were taken. */
    record SnapshotPage(java.util.List<io.dnv.core.volume.SnapshotView> items) {}

    private Route snapshotRoutes() {
        return pathPrefix("snapshots", () -> path(id -> concat(
                get(() -> async(() -> cp.snapshot(id).thenApply(r -> r.snapshot().map(Api::json)
                        .orElseGet(() -> problem(Problem.of(r.error().orElseThrow())))))),
                delete(() -> async(() -> cp.deleteSnapshot(id).thenApply(r -> r.snapshot().map(Api::snapshotAccepted)
                        .orElseGet(() -> problem(Problem.of(r.error().orElseThrow())))))))));
    }

    /** Snapshot groups: POST answers once every member joined (or why one could not: nothing changed). */
    private Route snapshotGroupRoutes() {
        return pathPrefix("snapshot-groups", () -> concat(
                pathEnd(() -> post(() -> jsonBody(body -> {
                    SnapshotGroupRequest req = SnapshotGroupRequest.parse(body);
                    return cp.createGroup(req.name(), req.volumeIds()).thenApply(Api::groupAccepted);
                }))),
                pathPrefix(id -> concat(
                        pathEnd(() -> concat(
                                get(() -> async(() -> cp.group(id).thenApply(r -> r.group().map(Api::json)
                                        .orElseGet(() -> problem(Problem.of(r.error().orElseThrow())))))),
                                delete(() -> async(() -> cp.deleteGroup(id).thenApply(Api::groupAccepted))))),
                        path("events", () -> get(() -> async(() -> cp.group(id).thenCompose(r -> r.group().isEmpty()
                                ? CompletableFuture.completedFuture(problem(Problem.of(r.error().orElseThrow())))
                                : cp.groupEvents(id).thenApply(Api::json)))))))));
    }

    private static HttpResponse groupAccepted(io.dnv.core.volume.SnapshotGroup.Result r) {
        return r.group().map(g -> HttpResponse.create().withStatus(StatusCodes.ACCEPTED)
                        .addHeader(Location.create("/v1/snapshot-groups/" + g.id())).withEntity(ContentTypes.APPLICATION_JSON, bytes(g)))
                .orElseGet(() -> problem(Problem.of(r.error().orElseThrow())));
    }

    /** 202 with the snapshot: taking or deleting it goes on; its Location is where to watch it. */
    private static HttpResponse snapshotAccepted(io.dnv.core.volume.SnapshotView v) {
        return HttpResponse.create().withStatus(StatusCodes.ACCEPTED).addHeader(Location.create("/v1/snapshots/" + v.id()))
                .withEntity(ContentTypes.APPLICATION_JSON, bytes(v));
    }

    /** A query flag: absent is false; anything but true or false is refused. */
    private static boolean flag(String name, Optional<String> value) {
        if (value.isEmpty() || value.get().equals("false")) {
            return false;
        }
        if (value.get().equals("true")) {
            return true;
        }
        throw new Problem.Raised(Problem.invalid(java.util.List.of(new Problem.FieldError(name, "must be true or false"))));
    }

    private static String hostNqn(JsonNode body) {
        if (body == null || !body.isObject() || body.size() != 1 || !body.has("hostNqn") || !body.get("hostNqn").isTextual()) {
            throw new Problem.Raised(Problem.invalid(java.util.List.of(new Problem.FieldError("hostNqn",
                    "the body must be {\"hostNqn\": \"nqn....\"} and nothing else"))));
        }
        String host = body.get("hostNqn").asText();
        checkHost(host);
        return host;
    }

    private static void checkHost(String host) {
        if (!Nqn.valid(host)) {
            throw new Problem.Raised(Problem.invalid(java.util.List.of(new Problem.FieldError("hostNqn", "must be an NQN: " + Nqn.RULE))));
        }
    }

    // ---------------------------------------------------------------- simulated hosts

    private Route simRoutes() {
        return concat(simHostRoutes(), simFaultRoutes());
    }

    /** POST /v1/sim/nodes/{id}/faults {"kind": ...}: only where the nodes run simulated kernels (else 404). */
    private Route simFaultRoutes() {
        if (faults.isEmpty()) {
            return reject();
        }
        return pathPrefix("sim", () -> pathPrefix("nodes", () -> pathPrefix(node -> path("faults", () -> post(() -> jsonBody(body -> {
            if (body == null || !body.isObject() || body.size() != 1 || !body.path("kind").isTextual()
                    || !SimulatedFaults.KINDS.contains(body.path("kind").asText())) {
                throw new Problem.Raised(Problem.invalid(java.util.List.of(new Problem.FieldError("kind",
                        "the body must be {\"kind\": one of " + SimulatedFaults.KINDS + "} and nothing else"))));
            }
            return faults.get().inject(node, body.path("kind").asText()).thenApply(state -> state
                    .map(st -> json(st).withStatus(StatusCodes.ACCEPTED))
                    .orElseGet(() -> problem(Problem.of(404, "Not found", "no simulated storage node " + node))));
        }))))));
    }

    private Route simHostRoutes() {
        if (hosts.isEmpty()) {
            return reject();
        }
        SimulatedHosts h = hosts.get();
        // A simulated host's I/O takes what a host's takes: held through a failover until the host's
        // own keep-alive or I/O timeout moves it to another path (HostContract), past the default 20 s.
        return pathPrefix("sim", () -> pathPrefix("hosts", () -> pathPrefix(host -> pathPrefix("volumes", () -> pathPrefix(id ->
                path("data", () -> withRequestTimeout(SIM_IO_TIMEOUT, () -> parameter("offset", offset -> parameter("length", length -> concat(
                        get(() -> async(() -> {
                            long[] range = range(offset, length);
                            checkHost(host);
                            return volumeFor(id).thenCompose(v -> h.read(host, v, range[0], (int) range[1]))
                                    .thenApply(data -> HttpResponse.create().withEntity(ContentTypes.APPLICATION_OCTET_STREAM, data));
                        })),
                        put(() -> withSizeLimit(DATA_LIMIT, () -> entity(Unmarshaller.entityToByteString(), body -> async(() -> {
                            long[] range = range(offset, length);
                            checkHost(host);
                            if (body.size() != range[1]) {
                                throw new Problem.Raised(Problem.invalid(java.util.List.of(new Problem.FieldError("length",
                                        "must equal the body's size (" + body.size() + " bytes)"))));
                            }
                            return volumeFor(id).thenCompose(v -> h.write(host, v, range[0], body.toArray()))
                                    .thenApply(done -> HttpResponse.create().withStatus(StatusCodes.NO_CONTENT));
                        }))))))))))))));
    }

    private CompletionStage<VolumeView> volumeFor(String id) {
        return cp.get(id).thenApply(r -> r.volume().orElseThrow(() -> new Problem.Raised(resultProblem(r))));
    }

    /** offset and length in bytes, both multiples of 512, length at most 16 MiB. */
    private static long[] range(String offset, String length) {
        java.util.List<Problem.FieldError> errors = new java.util.ArrayList<>();
        long o = parseLong(offset, "offset", errors);
        long l = parseLong(length, "length", errors);
        if (o >= 0 && o % 512 != 0) {
            errors.add(new Problem.FieldError("offset", "must be a multiple of 512"));
        }
        if (l >= 0 && (l == 0 || l % 512 != 0 || l > DATA_LIMIT)) {
            errors.add(new Problem.FieldError("length", "must be a positive multiple of 512, at most 16 MiB"));
        }
        if (!errors.isEmpty()) {
            throw new Problem.Raised(Problem.invalid(errors));
        }
        return new long[]{o, l};
    }

    private static long parseLong(String s, String field, java.util.List<Problem.FieldError> errors) {
        try {
            long v = Long.parseLong(s);
            if (v < 0) {
                errors.add(new Problem.FieldError(field, "must not be negative"));
            }
            return v;
        } catch (NumberFormatException e) {
            errors.add(new Problem.FieldError(field, "must be a whole number"));
            return -1;
        }
    }

    // ---------------------------------------------------------------- plumbing

    private interface PagedQuery {
        CompletionStage<HttpResponse> run(int limit, Optional<String> after);
    }

    private Route paged(PagedQuery query) {
        return parameterOptional("limit", limit -> parameterOptional("pageToken", token -> async(() -> {
            int n = DEFAULT_PAGE;
            if (limit.isPresent()) {
                try {
                    n = Integer.parseInt(limit.get());
                } catch (NumberFormatException e) {
                    n = -1;
                }
                if (n < 1 || n > MAX_PAGE) {
                    throw new Problem.Raised(Problem.invalid(java.util.List.of(new Problem.FieldError("limit",
                            "must be an integer from 1 to " + MAX_PAGE))));
                }
            }
            return query.run(n, PageToken.decode(token));
        })));
    }

    /** A JSON body: it must say it is one, so a form or text posted by mistake is never read as a request. */
    private Route jsonBody(java.util.function.Function<JsonNode, CompletionStage<HttpResponse>> handler) {
        return extractRequestEntity(entity -> !entity.getContentType().mediaType().equals(MediaTypes.APPLICATION_JSON)
                ? complete(problem(Problem.of(415, "Unsupported Media Type", "the body must be sent as application/json, not "
                        + entity.getContentType().mediaType())))
                : withSizeLimit(JSON_LIMIT, () -> entity(Unmarshaller.entityToByteString(), body -> async(() -> {
            JsonNode json;
            try {
                json = Json.MAPPER.readTree(body.toArray());
            } catch (IOException e) {
                throw new Problem.Raised(Problem.invalid(java.util.List.of(new Problem.FieldError("(body)",
                        "must be JSON: " + e.getMessage().lines().findFirst().orElse("unreadable")))));
            }
            return handler.apply(json);
        }))));
    }

    /** Runs a handler; a Problem it raises (now or in its future) becomes the response. */
    private Route async(Supplier<CompletionStage<HttpResponse>> handler) {
        CompletionStage<HttpResponse> response;
        try {
            response = handler.get();
        } catch (Problem.Raised p) {
            response = CompletableFuture.completedFuture(problem(p.problem()));
        }
        return completeWithFuture(response.exceptionally(Api::failure));
    }

    private static HttpResponse failure(Throwable t) {
        Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        if (cause instanceof Problem.Raised p) {
            return problem(p.problem());
        }
        if (cause instanceof java.util.concurrent.TimeoutException) {
            return problem(Problem.of(503, "Service Unavailable", "the cluster did not answer in time; retry (requests are idempotent)"));
        }
        return problem(Problem.of(500, "Internal Server Error", String.valueOf(cause.getMessage())));
    }

    private ExceptionHandler exceptions() {
        return ExceptionHandler.newBuilder()
                .match(Problem.Raised.class, p -> complete(problem(p.problem())))
                .match(EntityStreamSizeException.class, e -> complete(problem(Problem.of(413, "Payload Too Large",
                        "the body is larger than this route takes"))))
                .matchAny(t -> complete(failure(t)))
                .build();
    }

    private RejectionHandler rejections() {
        return RejectionHandler.newBuilder()
                .handleNotFound(complete(problem(Problem.of(404, "Not found", "no such route"))))
                .handle(org.apache.pekko.http.javadsl.server.MethodRejection.class,
                        r -> complete(problem(Problem.of(405, "Method Not Allowed", "use " + r.supported().name()))))
                .handle(org.apache.pekko.http.javadsl.server.MissingQueryParamRejection.class,
                        r -> complete(problem(Problem.invalid(java.util.List.of(new Problem.FieldError(r.parameterName(), "required"))))))
                .build()
                .withFallback(RejectionHandler.defaultHandler())
                .mapRejectionResponse(res -> res.entity().getContentType().equals(PROBLEM) ? res
                        : problemFromDefault(res));
    }

    private static HttpResponse problemFromDefault(HttpResponse res) {
        int status = res.status().intValue();
        String detail = res.entity() instanceof org.apache.pekko.http.javadsl.model.HttpEntity.Strict s
                ? s.getData().utf8String() : res.status().reason();
        return problem(Problem.of(status, title(status), detail));
    }

    /** 202 with the volume: the operation it started (or that was already under way) goes on. */
    private static HttpResponse accepted(Volume.Result r) {
        return r.volume().isPresent() ? HttpResponse.create().withStatus(StatusCodes.ACCEPTED)
                .withEntity(ContentTypes.APPLICATION_JSON, bytes(r.volume().get())) : problem(resultProblem(r));
    }

    private static HttpResponse result(Volume.Result r) {
        return r.volume().isPresent() ? json(r.volume().get()) : problem(resultProblem(r));
    }

    private static Problem resultProblem(Volume.Result r) {
        return Problem.of(r.error().orElseThrow());
    }

    private static HttpResponse created(VolumeView v) {
        return HttpResponse.create().withStatus(StatusCodes.ACCEPTED).addHeader(Location.create("/v1/volumes/" + v.id()))
                .withEntity(ContentTypes.APPLICATION_JSON, bytes(v));
    }

    static HttpResponse json(Object o) {
        return HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, bytes(o));
    }

    static HttpResponse problem(Problem p) {
        return HttpResponse.create().withStatus(p.status()).withEntity(PROBLEM, bytes(p));
    }

    private static String title(int status) {
        return switch (status) {
            case 400 -> "Invalid request";
            case 404 -> "Not found";
            case 409 -> "Conflict";
            case 413 -> "Payload Too Large";
            default -> StatusCodes.get(status).reason();
        };
    }

    private static byte[] bytes(Object o) {
        try {
            return Json.MAPPER.writeValueAsBytes(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON for " + o.getClass(), e);
        }
    }

    private static byte[] resource(String name) {
        try (InputStream in = Api.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

}
