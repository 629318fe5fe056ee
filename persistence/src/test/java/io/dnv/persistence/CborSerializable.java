package io.dnv.persistence;

/** Marker bound to jackson-cbor in {@link TestSystems}, as the application's entities do. */
interface CborSerializable {}
