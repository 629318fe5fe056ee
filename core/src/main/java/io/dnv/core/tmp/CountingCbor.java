package io.dnv.core.tmp;

import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.serialization.SerializerWithStringManifest;
import org.apache.pekko.serialization.jackson.JacksonCborSerializer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.Map;
import java.util.TreeMap;

public final class CountingCbor extends SerializerWithStringManifest {
    public static final Map<String, LongAdder[]> COUNTS = new ConcurrentHashMap<>();
    private final JacksonCborSerializer d;
    public CountingCbor(ExtendedActorSystem system) { d = new JacksonCborSerializer(system, "jackson-cbor"); }
    @Override public int identifier() { return d.identifier(); }
    @Override public String manifest(Object o) { return d.manifest(o); }
    private static void count(String k, int idx, long bytes) {
        LongAdder[] a = COUNTS.computeIfAbsent(k, x -> new LongAdder[]{new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder()});
        a[idx].increment(); a[idx + 1].add(bytes);
    }
    @Override public byte[] toBinary(Object o) { byte[] b = d.toBinary(o); count(o.getClass().getName(), 0, b.length); return b; }
    @Override public Object fromBinary(byte[] b, String m) { count(m, 2, b.length); return d.fromBinary(b, m); }
    public static Map<String, long[]> snapshot() {
        Map<String, long[]> m = new TreeMap<>();
        COUNTS.forEach((k, v) -> m.put(k, new long[]{v[0].sum(), v[1].sum(), v[2].sum(), v[3].sum()}));
        return m;
    }
}
