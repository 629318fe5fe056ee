package io.dnv.core;

/** Marks commands, events and state that cross the wire or the journal, bound to Jackson CBOR. */
public interface CborSerializable {}
