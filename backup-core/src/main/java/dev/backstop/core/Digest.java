package dev.backstop.core;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/** A SHA-256 digest as 64 lower-case hex characters. */
public record Digest(String hex) {

    public Digest {
        Objects.requireNonNull(hex, "hex");
        if (!hex.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("sha256 digest: got '" + hex + "', expected 64 lower-case hex characters");
        }
    }

    /** The digest of {@code bytes}. */
    public static Digest sha256(byte[] bytes) {
        return of(newSha256().digest(bytes));
    }

    /** Wraps the raw 32 bytes of a finished SHA-256. */
    public static Digest of(byte[] raw) {
        if (raw.length != 32) {
            throw new IllegalArgumentException("sha256 digest: got " + raw.length + " bytes, expected 32");
        }
        return new Digest(HexFormat.of().formatHex(raw));
    }

    /** A fresh SHA-256 {@link MessageDigest}; every JDK has one. */
    public static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK lacks SHA-256", e);
        }
    }

    @Override
    public String toString() {
        return "sha256:" + hex;
    }
}
