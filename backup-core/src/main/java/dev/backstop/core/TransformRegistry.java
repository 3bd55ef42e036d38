package dev.backstop.core;

import dev.backstop.core.crypto.AeadTransform;
import dev.backstop.core.transform.ZstdTransform;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Resolves every {@link TransformSpec} a manifest or log metadata recorded to the {@link
 * Transform} that decodes it. Seeded with the built-ins, registered exactly as a user's codec is:
 * {@code zstd} ({@link ZstdTransform#fromSpec}) and {@code aead} (the data key of the object's
 * backup or archive, from {@link Transform.Context#dataKey()}).
 *
 * <pre>{@code
 * TransformRegistry registry = TransformRegistry.builder()
 *     .register("xor", (spec, context) -> new XorTransform(spec))
 *     .build();
 * }</pre>
 *
 * <p><b>Restrictions.</b> Nothing is replaced silently: registering an id twice is an {@link
 * IllegalStateException} naming it, and so is registering a built-in's id; a built-in is replaced
 * only through {@link Builder#replaceBuiltIn}, a separate, explicit call.
 *
 * <p>The registry also knows what each built-in is ({@link Kind}), so a pipeline can check its
 * transforms (compression at most once, encryption only through {@code encrypt(...)}) by the ids
 * they record, without naming them.
 *
 * <p><b>Threading.</b> Immutable and thread-safe.
 */
public final class TransformRegistry {
    /** What a registered transform does, as far as pipelines care. */
    public enum Kind {
        /** Shrinks the data; a pipeline applies at most one, first. */
        COMPRESSION,
        /** Encrypts with the data key of a backup or log archive; added only through encryption settings. */
        ENCRYPTION,
        /** Anything else, such as a user's codec. */
        OTHER
    }

    private record Entry(Kind kind, Transform.Factory factory, boolean builtIn) {
    }

    private static final Map<String, Entry> BUILT_INS = builtInEntries();
    private static final TransformRegistry BUILT_IN_REGISTRY = new TransformRegistry(BUILT_INS);

    private final Map<String, Entry> entries;

    private TransformRegistry(Map<String, Entry> entries) {
        this.entries = Collections.unmodifiableMap(new LinkedHashMap<>(entries));
    }

    private static Map<String, Entry> builtInEntries() {
        Map<String, Entry> m = new LinkedHashMap<>();
        m.put(ZstdTransform.ID, new Entry(Kind.COMPRESSION, (spec, context) -> ZstdTransform.fromSpec(spec), true));
        m.put(AeadTransform.ID, new Entry(Kind.ENCRYPTION, AeadTransform.FACTORY, true));
        return m;
    }

    /** The built-ins alone. */
    public static TransformRegistry builtIns() {
        return BUILT_IN_REGISTRY;
    }

    /** A builder seeded with the built-ins. */
    public static Builder builder() {
        return new Builder(BUILT_INS);
    }

    /** A builder holding what this registry holds, to add more. */
    public Builder toBuilder() {
        return new Builder(entries);
    }

    /** The registered ids, built-ins first. */
    public Set<String> ids() {
        return entries.keySet();
    }

    /** What transform {@code id} is; {@link Kind#OTHER} for ids not registered here. */
    public Kind kind(String id) {
        Entry e = entries.get(id);
        return e == null ? Kind.OTHER : e.kind();
    }

    /**
     * The transform that decodes what {@code spec} describes, for the object of {@code context}.
     *
     * @throws BackupException at {@link Stage#TRANSFORM} naming the object and the id, if the id is
     *     not registered or its factory refuses the spec; a {@link BackupException} of the factory
     *     itself (a missing key) as thrown
     */
    public Transform resolve(TransformSpec spec, Transform.Context context) {
        Objects.requireNonNull(spec, "spec");
        String key = context.binding().objectKey();
        Entry e = entries.get(spec.id());
        if (e == null) {
            throw new BackupException(Stage.TRANSFORM, "object " + key + " uses transform '" + spec.id()
                    + "', unknown here (registered: " + entries.keySet() + "); register it with "
                    + "Restore.builder().decoder(\"" + spec.id() + "\", factory) or TransformRegistry.Builder.register",
                    null, false, context.binding().backupIdOrNull());
        }
        Transform t;
        try {
            t = e.factory().create(spec, context);
        } catch (IllegalArgumentException ex) {
            throw new BackupException(Stage.TRANSFORM, "object " + key + ": transform '" + spec.id()
                    + "' cannot be rebuilt from its recorded parameters " + spec.parameters() + ": " + ex.getMessage(),
                    ex, false, context.binding().backupIdOrNull());
        }
        if (t == null) {
            throw new IllegalStateException("factory of transform '" + spec.id() + "' returned null for object " + key);
        }
        return t;
    }

    /** {@link #resolve} for each spec, in encode order. */
    public List<Transform> resolveAll(List<TransformSpec> specs, Transform.Context context) {
        List<Transform> out = new ArrayList<>(specs.size());
        for (TransformSpec s : specs) {
            out.add(resolve(s, context));
        }
        return List.copyOf(out);
    }

    @Override
    public String toString() {
        return "TransformRegistry" + entries.keySet();
    }

    /** Builder for {@link TransformRegistry}; starts with the built-ins. */
    public static final class Builder {
        private final Map<String, Entry> entries;
        private final Set<String> replaced = new java.util.HashSet<>();

        private Builder(Map<String, Entry> entries) {
            this.entries = new LinkedHashMap<>(entries);
        }

        /**
         * Registers the decoder of a codec recorded as {@code id}.
         *
         * @throws IllegalStateException if {@code id} is registered already (a built-in included:
         *     see {@link #replaceBuiltIn})
         */
        public Builder register(String id, Transform.Factory factory) {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(factory, "factory");
            Entry e = entries.get(id);
            if (e != null && e.builtIn()) {
                throw new IllegalStateException("transform '" + id + "': built in; replacing it takes an explicit "
                        + "replaceBuiltIn(\"" + id + "\", factory)");
            }
            if (e != null) {
                throw new IllegalStateException("transform '" + id + "': registered twice; each id has one decoder");
            }
            entries.put(id, new Entry(Kind.OTHER, factory, false));
            return this;
        }

        /**
         * Replaces the decoder of built-in {@code id} ({@code zstd} or {@code aead}), for instance
         * with an instrumented or hardware-backed one. It keeps the built-in's {@link Kind}.
         *
         * @throws IllegalStateException if {@code id} is not a built-in or was replaced already
         */
        public Builder replaceBuiltIn(String id, Transform.Factory factory) {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(factory, "factory");
            Entry e = BUILT_INS.get(id);
            if (e == null) {
                throw new IllegalStateException("transform '" + id + "': not a built-in (built-ins: " + BUILT_INS.keySet()
                        + "); use register");
            }
            if (!replaced.add(id)) {
                throw new IllegalStateException("transform '" + id + "': built-in replaced twice");
            }
            entries.put(id, new Entry(e.kind(), factory, true));
            return this;
        }

        public TransformRegistry build() {
            return new TransformRegistry(entries);
        }
    }
}
