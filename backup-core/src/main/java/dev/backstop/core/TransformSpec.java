package dev.backstop.core;

import java.util.Map;
import java.util.Objects;

/**
 * How one transform was applied, as recorded in the manifest: its id ({@code zstd},
 * {@code aead}) and the parameters needed to undo it. Never holds key material.
 */
public record TransformSpec(String id, Map<String, String> parameters) {
    public TransformSpec {
        Objects.requireNonNull(id, "id");
        parameters = Map.copyOf(parameters);
    }

    /** A parameter that must be present; names the transform and parameter when it is not. */
    public String require(String name) {
        String v = parameters.get(name);
        if (v == null) {
            throw new IllegalArgumentException("transform " + id + ": parameter '" + name + "' missing, have " + parameters.keySet());
        }
        return v;
    }
}
