package dev.backstop.core;

import dev.backstop.core.internal.builder.Settings;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What a {@link CaptureSource} reports about the backup it just wrote: the source, the
 * consistency point, the fingerprints taken inside the same snapshot, and the log range a
 * physical backup needs. Immutable; build with {@link #builder(SourceInfo)}.
 */
public final class CaptureResult {
    private final SourceInfo source;
    private final ConsistencyPoint consistency;
    private final Fingerprints fingerprints;
    private final LogRange requiredLogs;
    private final Map<String, String> attributes;
    private final BackupId parent;

    private CaptureResult(Builder b) {
        this.source = b.source;
        this.consistency = b.consistency;
        this.fingerprints = b.fingerprints;
        this.requiredLogs = b.requiredLogs;
        this.attributes = Map.copyOf(b.attributes);
        this.parent = b.parent;
    }

    public static Builder builder(SourceInfo source) {
        return new Builder(source);
    }

    public SourceInfo source() {
        return source;
    }

    public ConsistencyPoint consistency() {
        return consistency;
    }

    public Optional<Fingerprints> fingerprints() {
        return Optional.ofNullable(fingerprints);
    }

    public Optional<LogRange> requiredLogs() {
        return Optional.ofNullable(requiredLogs);
    }

    /** Extra facts worth recording (database size, tool versions, ...). */
    public Map<String, String> attributes() {
        return attributes;
    }

    /**
     * The backup this one needs to be restored (an incremental backup's parent), recorded as the
     * manifest's {@link dev.backstop.core.manifest.Manifest#parent()}; retention then keeps it as
     * long as this backup is kept.
     */
    public Optional<BackupId> parent() {
        return Optional.ofNullable(parent);
    }

    public Builder toBuilder() {
        Builder b = new Builder(source);
        b.parent = parent;
        b.consistency = consistency;
        b.fingerprints = fingerprints;
        b.requiredLogs = requiredLogs;
        b.attributes.putAll(attributes);
        return b;
    }

    /** Builder for {@link CaptureResult}; not thread-safe. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final SourceInfo source;
        private ConsistencyPoint consistency = ConsistencyPoint.NONE;
        private Fingerprints fingerprints;
        private LogRange requiredLogs;
        private final Map<String, String> attributes = new LinkedHashMap<>();
        private BackupId parent;

        private Builder(SourceInfo source) {
            this.source = Objects.requireNonNull(source, "source");
        }

        public Builder consistency(ConsistencyPoint consistency) {
            this.consistency = given.once("consistency", this.consistency, consistency);
            return this;
        }

        public Builder fingerprints(Fingerprints fingerprints) {
            this.fingerprints = given.once("fingerprints", this.fingerprints, fingerprints);
            return this;
        }

        public Builder requiredLogs(LogRange requiredLogs) {
            this.requiredLogs = given.once("requiredLogs", this.requiredLogs, requiredLogs);
            return this;
        }

        /** Adds one attribute; additive: each call adds one (a later one for the same name wins). */
        public Builder attribute(String name, String value) {
            attributes.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /** The backup this one is an increment of; see {@link CaptureResult#parent()}. */
        public Builder parent(BackupId parent) {
            this.parent = given.once("parent", this.parent, parent);
            return this;
        }

        public CaptureResult build() {
            return new CaptureResult(this);
        }
    }
}
