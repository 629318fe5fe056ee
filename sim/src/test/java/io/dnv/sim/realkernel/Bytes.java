package io.dnv.sim.realkernel;

import java.io.ByteArrayOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.LongFunction;

/**
 * Bytes a case expects to read back, described the way a reader of the case thinks of them
 * ("write #21, its second 16 KiB", "zeroes"). Each kernel makes the bytes of write #N itself
 * (a guest from /dev/urandom: uploading them through its command channel costs seconds per
 * MiB), so a kernel computes what a description comes to from its own writes, and the md5
 * read back is compared with that.
 */
sealed interface Bytes {

    int length();

    String shown();

    /** The writes these bytes come from. */
    Set<Long> seeds();

    /** The bytes, given each write's bytes. */
    byte[] resolve(LongFunction<byte[]> written);

    /**
     * A shell pipeline printing the bytes in a guest, where write #N's bytes are in
     * {@code dir}/N.
     */
    String shell(String dir);

    record Written(long seed, int length) implements Bytes {
        public String shown() {
            return "write #" + seed;
        }

        public Set<Long> seeds() {
            return Set.of(seed);
        }

        public byte[] resolve(LongFunction<byte[]> written) {
            byte[] b = written.apply(seed);
            if (b.length != length) {
                throw new IllegalStateException("write #" + seed + " has " + b.length + " bytes, not " + length);
            }
            return b;
        }

        public String shell(String dir) {
            return "cat " + dir + "/" + seed;
        }
    }

    record Zeroes(int length) implements Bytes {
        public String shown() {
            return "zeroes";
        }

        public Set<Long> seeds() {
            return Set.of();
        }

        public byte[] resolve(LongFunction<byte[]> written) {
            return new byte[length];
        }

        public String shell(String dir) {
            return "head -c " + length + " /dev/zero";
        }
    }

    record Range(Bytes of, int from, int to) implements Bytes {
        public int length() {
            return to - from;
        }

        public String shown() {
            return of.shown() + " [" + size(from) + ", " + size(to) + ")";
        }

        public Set<Long> seeds() {
            return of.seeds();
        }

        public byte[] resolve(LongFunction<byte[]> written) {
            return Arrays.copyOfRange(of.resolve(written), from, to);
        }

        public String shell(String dir) {
            return "{ " + of.shell(dir) + " | tail -c +" + (from + 1) + " | head -c " + (to - from) + "; }";
        }
    }

    record Concat(Bytes first, Bytes second) implements Bytes {
        public int length() {
            return first.length() + second.length();
        }

        public String shown() {
            return first.shown() + " + " + second.shown();
        }

        public Set<Long> seeds() {
            Set<Long> s = new TreeSet<>(first.seeds());
            s.addAll(second.seeds());
            return s;
        }

        public byte[] resolve(LongFunction<byte[]> written) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(first.resolve(written));
            out.writeBytes(second.resolve(written));
            return out.toByteArray();
        }

        public String shell(String dir) {
            return "{ " + first.shell(dir) + "; " + second.shell(dir) + "; }";
        }
    }

    /** All {@code length} bytes of write #{@code seed}. */
    static Bytes written(int length, long seed) {
        return new Written(seed, length);
    }

    static Bytes zeroes(int length) {
        return new Zeroes(length);
    }

    /** [from, to) of these bytes. */
    default Bytes range(int from, int to) {
        return new Range(this, from, to);
    }

    default Bytes then(Bytes more) {
        return new Concat(this, more);
    }

    static String md5(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** 4096 → "4 KiB", 1048576 → "1 MiB", anything else in bytes. */
    static String size(long bytes) {
        if (bytes != 0 && bytes % (1 << 20) == 0) {
            return bytes / (1 << 20) + " MiB";
        }
        if (bytes != 0 && bytes % 1024 == 0) {
            return bytes / 1024 + " KiB";
        }
        return Long.toString(bytes);
    }
}
