package io.dnv.node.linux;

/** Quoting for the few values dnv puts into shell scripts (names, NQNs, paths, tables). */
final class Shell {

    private Shell() {}

    /** Single-quoted, safe for any string. */
    static String q(String s) {
        return "'" + s.replace("'", "'\"'\"'") + "'";
    }
}
