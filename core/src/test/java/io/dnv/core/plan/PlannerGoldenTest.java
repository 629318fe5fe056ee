package io.dnv.core.plan;

import io.dnv.core.kernel.DesiredNodeText;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Pins every dm table and nvmet object the planner produces for two volume shapes. A change
 * here is a change to what runs in the kernel: read the diff (written to target/golden-actual)
 * against docs/architecture.md before accepting it.
 */
class PlannerGoldenTest {

    @Test
    void oneActiveOneStandbyFourLegsTwoReplicas() throws IOException {
        check("1a1s4l2r", new VolumeSpec(64L << 20, 1, 1, 4, 2));
    }

    @Test
    void twoActivesOneStandbyFourLegsPerControllerTwoReplicas() throws IOException {
        check("2a1s4l2r", new VolumeSpec(64L << 20, 2, 1, 4, 2));
    }

    private void check(String name, VolumeSpec spec) throws IOException {
        Map<String, NodeEndpoints> nodes = Fixtures.sixNodes();
        VolumeLayout layout = VolumeLayout.of(spec);
        Map<String, NodeObjects> plan = Planner.plan("vol1", spec, layout, Fixtures.placement(spec, layout, true),
                List.of("nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-000000000001"), nodes);
        StringBuilder actual = new StringBuilder();
        for (NodeEndpoints n : nodes.values()) {
            NodeObjects objects = plan.getOrDefault(n.nodeId(), new NodeObjects(List.of(), List.of(), List.of(), List.of()));
            actual.append(DesiredNodeText.render(DesiredNodes.assemble(n, 1, List.of(objects)))).append('\n');
        }
        Path out = Path.of("target", "golden-actual", name + ".txt");
        Files.createDirectories(out.getParent());
        Files.writeString(out, actual);
        assertEquals(golden(name), actual.toString(), "planner output differs from golden/" + name + ".txt; actual in " + out);
    }

    private static String golden(String name) throws IOException {
        try (InputStream in = PlannerGoldenTest.class.getResourceAsStream("/golden/" + name + ".txt")) {
            assertNotNull(in, "missing golden/" + name + ".txt");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
