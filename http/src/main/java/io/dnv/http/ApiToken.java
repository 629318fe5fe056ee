package io.dnv.http;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;

/** The API's bearer token: generated on first start, kept in {@code <data-dir>/api-token}, mode 0600. */
public final class ApiToken {

    private final String token;

    private ApiToken(String token) {
        this.token = token;
    }

    public static ApiToken loadOrCreate(Path dataDir) {
        Path file = dataDir.resolve("api-token");
        try {
            if (Files.exists(file)) {
                return new ApiToken(Files.readString(file, StandardCharsets.US_ASCII).trim());
            }
            Files.createDirectories(dataDir);
            byte[] random = new byte[32];
            new SecureRandom().nextBytes(random);
            String token = HexFormat.of().formatHex(random);
            Path tmp = dataDir.resolve("api-token.tmp");
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(tmp, token + "\n", StandardCharsets.US_ASCII);
            Files.move(tmp, file);
            return new ApiToken(token);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or create " + file, e);
        }
    }

    public String value() {
        return token;
    }

    /** Constant-time, so the comparison does not leak how much of a guess was right. */
    public boolean matches(String presented) {
        return presented != null && MessageDigest.isEqual(token.getBytes(StandardCharsets.US_ASCII),
                presented.getBytes(StandardCharsets.US_ASCII));
    }
}
