package io.dnv.http;

import io.dnv.core.volume.VolumeView;

import java.util.concurrent.CompletionStage;

/**
 * Hosts on simulated kernels that read and write volumes through the whole device stack,
 * connected like Linux native multipath to every controller path. Present only when the
 * storage nodes run simulated kernels; with real kernels the data route does not exist.
 */
public interface SimulatedHosts {

    CompletionStage<byte[]> read(String hostNqn, VolumeView volume, long offset, int length);

    CompletionStage<Void> write(String hostNqn, VolumeView volume, long offset, byte[] data);
}
