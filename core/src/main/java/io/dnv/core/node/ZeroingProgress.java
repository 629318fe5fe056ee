package io.dnv.core.node;

import io.dnv.core.CborSerializable;

/**
 * How far a storage node has zeroed a released LD: its dm device stays until every byte of its
 * extent is zero, and so does the extent's reservation.
 */
public record ZeroingProgress(String device, long doneBytes, long totalBytes) implements CborSerializable {

    public boolean done() {
        return doneBytes >= totalBytes;
    }
}
