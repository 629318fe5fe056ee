package io.dnv.http;

/** NVMe host NQNs: "nqn.yyyy-mm.reverse.domain:anything", at most 223 bytes (NVMe base spec). */
final class HostNqn {

    static final String PATTERN = "nqn\\.[0-9]{4}-[0-9]{2}\\.[a-z0-9][a-z0-9.-]*:[\\x21-\\x7e]+";

    private HostNqn() {}

    static boolean valid(String nqn) {
        return nqn != null && nqn.length() <= 223 && nqn.matches(PATTERN);
    }
}
