package io.dnv.http;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.plan.Planner;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The API takes a create exactly when what it creates can be built: the planner's rules are the API's. */
class CreateVolumeRequestTest {

    @Test
    void theApiTakesANameExactlyWhenThePlannerPlansIt() {
        for (int length = 1; length <= 70; length++) {
            for (String name : List.of("a".repeat(length), "a" + "-".repeat(length - 1))) {
                assertEquals(plans(name), accepts(name), name.length() + " characters: " + name);
            }
        }
    }

    private static boolean accepts(String name) {
        ObjectNode body = JsonNodeFactory.instance.objectNode().put("name", name).put("sizeBytes", 1 << 20)
                .put("standbyControllers", 0).put("legsPerController", 1).put("replicas", 1);
        try {
            CreateVolumeRequest.parse(body);
            return true;
        } catch (Problem.Raised refused) {
            return false;
        }
    }

    private static boolean plans(String name) {
        VolumeSpec spec = new VolumeSpec(1 << 20, 1, 0, 1, 1);
        VolumeLayout layout = VolumeLayout.of(spec);
        NodeEndpoints n1 = new NodeEndpoints("n1", "10.0.0.1", Optional.of("/dev/ram0"), Optional.of(NvmetPort.tcp(1, "10.0.0.1", 4420)),
                Optional.of(NvmetPort.tcp(2, "10.0.0.1", 4421)), List.of(NvmetPort.tcp(3, "10.0.0.1", 4422)));
        Placement placement = new Placement(List.of(new Placement.Controller("n1", Placement.Role.ACTIVE, 3, 2)),
                List.of(new Placement.Leg(List.of(new Placement.Group(true, List.of(new Placement.Extent("n1", 0, layout.ldSectors())), 0, 0)))));
        try {
            Planner.plan(name, spec, layout, placement, List.of(), Map.of("n1", n1));
            return true;
        } catch (IllegalArgumentException refused) {
            return false;
        }
    }
}
