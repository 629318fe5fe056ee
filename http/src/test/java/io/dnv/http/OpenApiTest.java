package io.dnv.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.Nqn;
import io.dnv.core.volume.HostContract;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.Snapshot;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.core.volume.VolumeView;
import io.dnv.core.volume.operation.CreateVolume;
import io.dnv.core.volume.operation.FailOver;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The OpenAPI document states the rules core holds, so a client validating against it refuses what the API refuses. */
class OpenApiTest {

    private final JsonNode schemas = read().path("components").path("schemas");

    @Test
    void volumeNamesAndSizesAreCoresRules() {
        JsonNode name = schemas.path("VolumeName");
        assertEquals("^" + Names.VOLUME_ID_PATTERN + "$", name.path("pattern").asText());
        assertEquals(Names.VOLUME_ID_MAX, name.path("maxLength").asInt());
        JsonNode size = schemas.path("CreateVolume").path("properties").path("sizeBytes");
        assertEquals(VolumeSpec.SIZE_UNIT, size.path("multipleOf").asLong());
        assertEquals(VolumeSpec.SIZE_UNIT, size.path("minimum").asLong());
        assertEquals(VolumeSpec.MAX_SIZE_BYTES, size.path("maximum").asLong());
    }

    @Test
    void anExtendTakesASizeByTheSameRuleAsACreate() {
        JsonNode extend = schemas.path("ExtendVolume");
        assertEquals(List.of("sizeBytes"), List.copyOf(iterable(extend.path("required"))));
        assertEquals(schemas.path("CreateVolume").path("properties").path("sizeBytes").path("maximum"),
                extend.path("properties").path("sizeBytes").path("maximum"));
        assertEquals(VolumeSpec.SIZE_UNIT, extend.path("properties").path("sizeBytes").path("multipleOf").asLong());
        assertEquals("#/components/schemas/ExtendVolume", read().path("paths").path("/v1/volumes/{id}").path("patch")
                .path("requestBody").path("content").path("application/json").path("schema").path("$ref").asText());
    }

    /** Snapshot names and ids as core takes them; every snapshot route is in the document. */
    @Test
    void snapshotNamesIdsAndRoutesAreCoresRules() {
        assertEquals("^" + Snapshot.NAME_PATTERN + "$", schemas.path("SnapshotName").path("pattern").asText());
        assertEquals("^" + Snapshot.ID_PATTERN + "$", schemas.path("SnapshotId").path("pattern").asText());
        assertEquals(List.of("name"), List.copyOf(iterable(schemas.path("CreateSnapshot").path("required"))));
        List<String> states = new java.util.ArrayList<>();
        schemas.path("Snapshot").path("properties").path("state").path("enum").forEach(v -> states.add(v.asText()));
        assertEquals(java.util.Arrays.stream(Snapshot.Status.values()).map(Enum::name).toList(), states);
        JsonNode paths = read().path("paths");
        for (String route : List.of("/v1/volumes/{id}/snapshots post", "/v1/volumes/{id}/snapshots get", "/v1/snapshots/{id} get",
                "/v1/snapshots/{id} delete")) {
            String[] r = route.split(" ");
            assertEquals(false, paths.path(r[0]).path(r[1]).isMissingNode(), route);
        }
        boolean flag = false;
        for (JsonNode p : paths.path("/v1/volumes/{id}").path("delete").path("parameters")) {
            flag |= p.path("name").asText().equals("deleteSnapshots");
        }
        assertEquals(true, flag, "DELETE /v1/volumes/{id} takes deleteSnapshots");
    }

    @Test
    void snapshotGroupRoutesAndSchemasAreCoresRules() {
        JsonNode paths = read().path("paths");
        for (String route : List.of("/v1/snapshot-groups post", "/v1/snapshot-groups/{id} get", "/v1/snapshot-groups/{id} delete",
                "/v1/snapshot-groups/{id}/events get")) {
            String[] r = route.split(" ");
            assertEquals(false, paths.path(r[0]).path(r[1]).isMissingNode(), route);
        }
        JsonNode create = schemas.path("CreateSnapshotGroup");
        assertEquals(List.of("name", "volumeIds"), List.copyOf(iterable(create.path("required"))));
        assertEquals(io.dnv.core.volume.SnapshotGroup.MAX_VOLUMES, create.path("properties").path("volumeIds").path("maxItems").asInt());
        List<String> states = new java.util.ArrayList<>();
        schemas.path("SnapshotGroup").path("properties").path("state").path("enum").forEach(v -> states.add(v.asText()));
        assertEquals(java.util.Arrays.stream(io.dnv.core.volume.SnapshotGroup.Phase.values()).map(Enum::name)
                .filter(p -> !p.equals("EMPTY") && !p.equals("DELETED")).sorted().toList(), states.stream().sorted().toList());
        List<String> stages = new java.util.ArrayList<>();
        schemas.path("SnapshotGroup").path("properties").path("stage").path("enum").forEach(v -> stages.add(v.asText()));
        assertEquals(java.util.Arrays.stream(io.dnv.core.volume.operation.GroupSnapshot.Stage.values()).map(st -> st.name().toLowerCase())
                .toList(), stages);
        java.util.Set<String> fields = new java.util.TreeSet<>();
        schemas.path("SnapshotGroup").path("properties").fieldNames().forEachRemaining(fields::add);
        assertEquals(java.util.Arrays.stream(io.dnv.core.volume.SnapshotGroupView.class.getRecordComponents())
                .map(java.lang.reflect.RecordComponent::getName).collect(java.util.stream.Collectors.toCollection(java.util.TreeSet::new)), fields);
    }

    private static List<String> iterable(JsonNode array) {
        List<String> values = new java.util.ArrayList<>();
        array.forEach(v -> values.add(v.asText()));
        return values;
    }

    @Test
    void theNqnPatternTakesExactlyWhatNqnTakes() {
        JsonNode nqn = schemas.path("Nqn");
        assertEquals(Nqn.MAX_BYTES, nqn.path("maxLength").asInt());
        Pattern pattern = Pattern.compile(nqn.path("pattern").asText());
        for (String s : List.of("nqn.2014-08.org.nvmexpress:uuid:1f7e0c55-3b7d-4d5e-8f22-9a0b1c2d3e4f", "nqn.2024-01.io.dnv:vol:v",
                "nqn.2014-08.org.nvmexpress:uuid:not-a-uuid", "nqn.2024-01.a:x/../p", "nqn.2024-01.a:x,y", "nqn.2024-01.a:x y",
                "nqn.2024-13.a:x", "nqn.2014-08.org.nvmexpress.discovery", "nqn.1992-05.com.example:h~1")) {
            assertEquals(Nqn.valid(s), pattern.matcher(s).find(), s);
        }
    }

    @Test
    void theHostSettingsNameTheIopoliciesHostContractGives() {
        JsonNode iopolicy = schemas.path("ConnectInfo").path("properties").path("hostSettings").path("properties").path("iopolicy");
        List<String> values = new java.util.ArrayList<>();
        iopolicy.path("enum").forEach(v -> values.add(v.asText()));
        assertEquals(HostContract.IOPOLICIES, values);
    }

    /** The connect information's host settings, as the document names them, are the contract's fields. */
    @Test
    void theHostSettingsAreTheHostContractsFields() {
        List<String> documented = new java.util.ArrayList<>();
        schemas.path("ConnectInfo").path("properties").path("hostSettings").path("properties").fieldNames()
                .forEachRemaining(documented::add);
        assertEquals(java.util.Arrays.stream(HostContract.class.getRecordComponents()).map(java.lang.reflect.RecordComponent::getName)
                .toList(), documented);
    }

    @Test
    void theFaultKindsAreTheOnesTheSimulatedNodesTake() {
        JsonNode kind = read().path("paths").path("/v1/sim/nodes/{id}/faults").path("post").path("requestBody").path("content")
                .path("application/json").path("schema").path("properties").path("kind");
        assertEquals(SimulatedFaults.KINDS, iterable(kind.path("enum")));
    }

    /** Every stage of a failover and of a create is named, every failover event listed, and a controller's every role. */
    @Test
    void theVolumeSchemaNamesEveryStageEventAndRoleCoreHas() {
        JsonNode volume = schemas.path("Volume").path("properties");
        String stages = volume.path("operation").path("properties").path("stage").path("description").asText();
        for (Enum<?> stage : List.of(FailOver.Stage.values())) {
            assertTrue(stages.contains(stage.name().toLowerCase()), "failover stage " + stage);
        }
        for (Enum<?> stage : List.of(CreateVolume.Stage.values())) {
            assertTrue(stages.contains(stage.name().toLowerCase()), "create stage " + stage);
        }
        for (Enum<?> stage : List.of(io.dnv.core.volume.operation.GrowPools.Stage.values())) {
            assertTrue(stages.contains(stage.name().toLowerCase()), "grow-pools stage " + stage);
        }
        String events = schemas.path("JournalEvent").path("properties").path("type").path("description").asText();
        for (Class<?> event : List.of(Volume.FailoverRequested.class, Volume.Fenced.class, Volume.SuccessorPlaced.class,
                Volume.Promoted.class, Volume.StandbyChosen.class, Volume.StandbyPlaced.class, Volume.NoStandbyPlaced.class,
                Volume.FailedOver.class, Volume.PlacementLost.class, Volume.PoolGrowthRequested.class, Volume.PoolGrowthNodesChosen.class,
                Volume.PoolGroupsReserved.class, Volume.PoolGroupsBuilt.class, Volume.PoolsGrown.class, Volume.PoolGrowthFailed.class)) {
            assertTrue(events.contains(event.getSimpleName()), event.getSimpleName());
        }
        List<String> roles = new java.util.ArrayList<>();
        volume.path("controllers").path("items").path("properties").path("role").path("enum").forEach(r -> roles.add(r.asText()));
        assertEquals(List.of(Placement.Role.values()).stream().map(Enum::name).toList(), roles);
        assertEquals(components(VolumeView.FailoverView.class), fieldNames(volume.path("lastFailover").path("properties")));
        assertEquals(components(VolumeView.StageTiming.class), fieldNames(schemas.path("StageTiming").path("properties")));
        assertEquals(components(VolumeView.KernelView.class), fieldNames(volume.path("kernel").path("properties")));
        assertEquals(components(VolumeView.PoolView.class), fieldNames(volume.path("kernel").path("properties").path("pools")
                .path("items").path("properties")));
        assertTrue(volume.has("full"), "a volume's FULL is documented");
    }

    /**
     * A clone's source is a snapshot's id or a volume's, by core's rules, and replaces the size as
     * what a create needs; the volume shows its clone by the view's fields and statuses; the
     * stages of an export and a clone's finish are named.
     */
    @Test
    void aClonesSourceAndProgressAreCoresRules() {
        JsonNode create = schemas.path("CreateVolume");
        assertEquals(List.of("name"), iterable(create.path("required")));
        assertEquals("[{\"required\":[\"sizeBytes\"]},{\"required\":[\"source\"]}]", create.path("anyOf").toString());
        JsonNode source = create.path("properties").path("source");
        assertEquals("#/components/schemas/SnapshotId", source.path("properties").path("snapshotId").path("$ref").asText());
        assertEquals("#/components/schemas/VolumeName", source.path("properties").path("volumeId").path("$ref").asText());
        assertEquals(1, source.path("maxProperties").asInt());
        JsonNode clone = schemas.path("Volume").path("properties").path("cloneOf");
        assertEquals(components(VolumeView.CloneView.class), fieldNames(clone.path("properties")));
        assertEquals(java.util.Arrays.stream(io.dnv.core.volume.Clone.Status.values()).map(Enum::name).toList(),
                iterable(clone.path("properties").path("status").path("enum")));
        String stages = schemas.path("Volume").path("properties").path("operation").path("properties").path("stage").path("description")
                .asText();
        for (Enum<?> stage : List.of(io.dnv.core.volume.operation.FinishClone.Stage.values())) {
            assertTrue(stages.contains(stage.name().toLowerCase()), "finish-clone stage " + stage);
        }
        assertTrue(stages.contains("unsource"), "a delete's unsource");
        String events = schemas.path("JournalEvent").path("properties").path("type").path("description").asText();
        for (Class<?> event : List.of(Volume.CloneSourceSnapshotted.class, Volume.CloneSourceImported.class, Volume.HydrationProgressed.class,
                Volume.CloneHydrated.class, Volume.CloneActivesRegrouped.class, Volume.CloneMetadataDropped.class,
                Volume.CloneSourceReleasing.class, Volume.CloneSourceReleased.class, Volume.SnapshotImported.class,
                Volume.SnapshotImportReleased.class)) {
            assertTrue(events.contains(event.getSimpleName()), event.getSimpleName());
        }
    }

    private static java.util.Set<String> components(Class<? extends Record> type) {
        return java.util.Arrays.stream(type.getRecordComponents()).map(java.lang.reflect.RecordComponent::getName)
                .collect(java.util.stream.Collectors.toSet());
    }

    private static java.util.Set<String> fieldNames(JsonNode properties) {
        java.util.Set<String> names = new java.util.HashSet<>();
        properties.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static JsonNode read() {
        try (InputStream in = OpenApiTest.class.getResourceAsStream("/openapi.json")) {
            return new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
