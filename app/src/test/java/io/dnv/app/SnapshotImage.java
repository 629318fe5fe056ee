package io.dnv.app;

import com.fasterxml.jackson.databind.JsonNode;
import io.dnv.core.kernel.Names;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.core.volume.VolumeView;
import io.dnv.node.kernel.KernelException;
import io.dnv.node.sim.SimulatedKernel;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A snapshot's bytes, as the simulated kernels hold them: on each leg's owner the leg's
 * snapshot thin is activated beside the pool (a dm thin of the snapshot's id, under a name no
 * agent owns), read whole and removed again; the stripe's 16 KiB chunks put back in order give
 * the volume as it was.
 */
final class SnapshotImage {

    private final List<byte[]> legs;
    private final long chunk = VolumeLayout.STRIPE_CHUNK_SECTORS * (long) VolumeLayout.SECTOR;

    private SnapshotImage(List<byte[]> legs) {
        this.legs = legs;
    }

    /** {@code volume}: the volume's API view (its legs' owners and spec); {@code kernels} by node id. */
    static SnapshotImage read(Map<String, SimulatedKernel> kernels, JsonNode volume, int thinId) throws Exception {
        JsonNode spec = volume.path("spec");
        List<String> owners = new ArrayList<>();
        volume.path("legs").forEach(leg -> owners.add(leg.path("owner").asText()));
        return read(kernels, volume.path("id").asText(), new VolumeSpec(spec.path("sizeBytes").asLong(),
                spec.path("activeControllers").asInt(), spec.path("standbyControllers").asInt(), spec.path("legsPerController").asInt(),
                spec.path("replicas").asInt()), owners, thinId);
    }

    static SnapshotImage read(Map<String, SimulatedKernel> kernels, VolumeView volume, int thinId) throws Exception {
        return read(kernels, volume.id(), volume.spec(), volume.legs().stream().map(VolumeView.LegView::owner).toList(), thinId);
    }

    /** {@code owners}: the node that owns each leg, in leg order. */
    static SnapshotImage read(Map<String, SimulatedKernel> kernels, String vol, VolumeSpec spec, List<String> owners, int thinId)
            throws Exception {
        long legSectors = VolumeLayout.of(spec).legSectors();
        List<byte[]> legs = new ArrayList<>();
        for (int leg = 0; leg < owners.size(); leg++) {
            String owner = owners.get(leg);
            SimulatedKernel k = kernels.get(owner);
            String reader = "snapread-" + vol + "-" + leg + "-" + thinId;
            k.dmCreate(reader, "0 " + legSectors + " thin /dev/mapper/" + Names.pool(owner, vol, leg) + " " + thinId);
            try (SimulatedKernel.Handle h = k.open("/dev/mapper/" + reader)) {
                byte[] bytes = new byte[(int) (legSectors * VolumeLayout.SECTOR)];
                h.read(0, bytes);
                legs.add(bytes);
            } finally {
                k.dmRemove(reader);
            }
        }
        return new SnapshotImage(legs);
    }

    /** Whether the pool holds thin {@code thinId}: a thin of it can be activated. */
    static boolean exists(SimulatedKernel kernel, String pool, int thinId) {
        try {
            kernel.dmCreate("snapcheck", "0 2048 thin /dev/mapper/" + pool + " " + thinId);
        } catch (KernelException e) {
            return false;
        }
        kernel.dmRemove("snapcheck");
        return true;
    }

    /** The volume's bytes at {@code offset}, as raid0 maps them onto the legs. */
    byte[] volume(long offset, int length) {
        byte[] out = new byte[length];
        for (int done = 0; done < length; ) {
            long at = offset + done;
            long c = at / chunk;
            int n = (int) Math.min(length - done, chunk - at % chunk);
            byte[] leg = legs.get((int) (c % legs.size()));
            System.arraycopy(leg, (int) ((c / legs.size()) * chunk + at % chunk), out, done, n);
            done += n;
        }
        return out;
    }

    List<byte[]> legs() {
        return legs;
    }
}
