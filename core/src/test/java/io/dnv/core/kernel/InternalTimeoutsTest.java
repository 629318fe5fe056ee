package io.dnv.core.kernel;

import io.dnv.core.volume.HostContract;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The internal connections' timeouts against the host contract (docs/architecture.md, "Internal
 * connections"): an outage shorter than detection fails nothing, and no write is still held inside
 * the data plane once the host has seen an error for it.
 */
class InternalTimeoutsTest {

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void internalHoldsFitTheHostContract(int actives) {
        HostContract host = HostContract.forVolume(actives);
        ConnectTimeouts disk = ConnectTimeouts.DISK;
        ConnectTimeouts peer = ConnectTimeouts.PEER_LEG;

        // A blip the control plane does not call a failure must not fail a write (both raid1
        // sides would fail, and the pool go read-only): the I/O waits at least that long.
        assertTrue(disk.fastIoFail() * 1000 >= host.detectionAndFencingMillis(), "disk imports fail I/O before detection");
        // A peer's held write resumes on the leg's new owner: it must outlast detection and fencing.
        assertTrue(peer.fastIoFail() * 1000 > host.detectionAndFencingMillis(), "peer imports give up before a failover");
        // The owner's held write is given up before a peer's copy of the same host write is: the
        // host sees an error only when no copy is held anywhere.
        assertTrue(disk.holdSeconds() < peer.holdSeconds(), "disk imports hold longer than peer imports");
        // The peer ends its hold, with an error, before the host's own I/O timeout retries elsewhere.
        assertTrue(peer.holdSeconds() < host.ioTimeout(), "peer imports hold past the host's I/O timeout");
        // A crash is declared on the witnesses' word: their keep-alive is the shortest of all
        // and notices within the budget, and they keep reconnecting while their peer is away.
        ConnectTimeouts witness = ConnectTimeouts.WITNESS;
        assertTrue(witness.keepAlive() >= 1 && witness.keepAlive() * 1000 < host.detectionAndFencingMillis(),
                "witness keep-alive " + witness.keepAlive() + " s");
        assertTrue(witness.keepAlive() < Math.min(disk.keepAlive(), peer.keepAlive()), "witnesses notice last");
        assertTrue(witness.ctrlLoss() < 0 && witness.reconnectDelay() == 1, "a witness stops reading down while its peer is away");
        for (ConnectTimeouts t : new ConnectTimeouts[] {disk, peer}) {
            // The kernel keeps reconnecting after it gave up on I/O; the agent reconnects after ctrl_loss.
            assertTrue(t.ctrlLoss() > t.fastIoFail(), "ctrl_loss_tmo before fast_io_fail_tmo");
            assertTrue(t.reconnectDelay() >= 1, "reconnect delay");
        }
    }
}
