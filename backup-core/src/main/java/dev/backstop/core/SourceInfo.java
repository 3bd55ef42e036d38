package dev.backstop.core;

import java.util.Map;
import java.util.Objects;

/**
 * What was backed up: engine ({@code postgresql}, {@code mariadb}, {@code file}), its version and
 * engine-specific descriptive attributes (database name, system identifier, host label, ...).
 * Never holds credentials.
 */
public record SourceInfo(String engine, String version, Map<String, String> attributes) {
    public SourceInfo {
        Objects.requireNonNull(engine, "engine");
        Objects.requireNonNull(version, "version");
        attributes = Map.copyOf(attributes);
    }

    public static SourceInfo of(String engine, String version) {
        return new SourceInfo(engine, version, Map.of());
    }
}
