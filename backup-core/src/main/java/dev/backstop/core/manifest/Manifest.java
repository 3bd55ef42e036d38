package dev.backstop.core.manifest;

import dev.backstop.core.BackupId;
import dev.backstop.core.BackupType;
import dev.backstop.core.ConsistencyPoint;
import dev.backstop.core.DataSize;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.LogRange;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.repo.ManifestFormat;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Everything known about one finished backup; written last, so its presence is what makes the
 * backup exist. Stored as JSON with a {@code formatVersion} and a SHA-256 of its own bytes
 * (see {@link ManifestFormat}). Immutable.
 */
public final class Manifest {
    /**
     * The manifest format this code writes. Readers refuse newer versions. Version 2 manifests
     * may carry an {@code authentication} member; version 1 predates metadata authentication.
     */
    public static final int FORMAT_VERSION = 2;

    private final BackupId id;
    private final BackupId parent;
    private final Instant startedAt;
    private final Instant finishedAt;
    private final SourceInfo source;
    private final ConsistencyPoint consistency;
    private final Fingerprints fingerprints;
    private final LogRange requiredLogs;
    private final List<StoredObject> objects;
    private final EncryptionInfo encryption;
    private final Map<String, String> attributes;
    private final Map<String, String> labels;

    private Manifest(Builder b) {
        this.id = Objects.requireNonNull(b.id, "id");
        this.parent = b.parent;
        this.startedAt = Objects.requireNonNull(b.startedAt, "startedAt");
        this.finishedAt = Objects.requireNonNull(b.finishedAt, "finishedAt");
        this.source = Objects.requireNonNull(b.source, "source");
        this.consistency = b.consistency;
        this.fingerprints = b.fingerprints;
        this.requiredLogs = b.requiredLogs;
        this.objects = List.copyOf(b.objects);
        this.encryption = b.encryption;
        this.attributes = Map.copyOf(b.attributes);
        this.labels = Map.copyOf(b.labels);
        if (finishedAt.isBefore(startedAt)) {
            throw new IllegalArgumentException("manifest " + id + ": finishedAt " + finishedAt + " is before startedAt " + startedAt);
        }
    }

    public static Builder builder(BackupId id) {
        return new Builder(id);
    }

    public Builder toBuilder() {
        Builder b = new Builder(id);
        b.parent = parent;
        b.startedAt = startedAt;
        b.finishedAt = finishedAt;
        b.source = source;
        b.consistency = consistency;
        b.fingerprints = fingerprints;
        b.requiredLogs = requiredLogs;
        b.objects.addAll(objects);
        b.encryption = encryption;
        b.attributes.putAll(attributes);
        b.labels.putAll(labels);
        return b;
    }

    public BackupId id() {
        return id;
    }

    public BackupType type() {
        return id.type();
    }

    /** The backup this one builds on (incremental), if any. */
    public Optional<BackupId> parent() {
        return Optional.ofNullable(parent);
    }

    public Instant startedAt() {
        return startedAt;
    }

    public Instant finishedAt() {
        return finishedAt;
    }

    public Duration duration() {
        return Duration.between(startedAt, finishedAt);
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

    /** The log range the backup needs to be restored (physical backups). */
    public Optional<LogRange> requiredLogs() {
        return Optional.ofNullable(requiredLogs);
    }

    /** Data objects in the order they were written. */
    public List<StoredObject> objects() {
        return objects;
    }

    /** Looks up an object by its stream name. */
    public Optional<StoredObject> object(String name) {
        return objects.stream().filter(o -> o.name().equals(name)).findFirst();
    }

    public Optional<EncryptionInfo> encryption() {
        return Optional.ofNullable(encryption);
    }

    /** Facts the source reported (database size, tool versions, ...). */
    public Map<String, String> attributes() {
        return attributes;
    }

    /** User labels given to the pipeline. */
    public Map<String, String> labels() {
        return labels;
    }

    public long plaintextBytes() {
        return objects.stream().mapToLong(StoredObject::plaintextSize).sum();
    }

    public long storedBytes() {
        return objects.stream().mapToLong(StoredObject::storedSize).sum();
    }

    @Override
    public String toString() {
        return "Manifest[" + id + ", " + objects.size() + " objects, " + DataSize.ofBytes(plaintextBytes()) + " -> "
                + DataSize.ofBytes(storedBytes()) + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Manifest m && ManifestFormat.sameContent(this, m);
    }

    @Override
    public int hashCode() {
        return id.hashCode();
    }

    /** Builder for {@link Manifest}; not thread-safe. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final BackupId id;
        private BackupId parent;
        private Instant startedAt;
        private Instant finishedAt;
        private SourceInfo source;
        private ConsistencyPoint consistency = ConsistencyPoint.NONE;
        private Fingerprints fingerprints;
        private LogRange requiredLogs;
        private final List<StoredObject> objects = new ArrayList<>();
        private EncryptionInfo encryption;
        private final Map<String, String> attributes = new LinkedHashMap<>();
        private final Map<String, String> labels = new LinkedHashMap<>();

        private Builder(BackupId id) {
            this.id = Objects.requireNonNull(id, "id");
        }

        public Builder parent(BackupId parent) {
            given.onceNullable("parent", this.parent, parent);
            this.parent = parent;
            return this;
        }

        public Builder startedAt(Instant startedAt) {
            given.onceNullable("startedAt", this.startedAt, startedAt);
            this.startedAt = startedAt;
            return this;
        }

        public Builder finishedAt(Instant finishedAt) {
            given.onceNullable("finishedAt", this.finishedAt, finishedAt);
            this.finishedAt = finishedAt;
            return this;
        }

        public Builder source(SourceInfo source) {
            given.onceNullable("source", this.source, source);
            this.source = source;
            return this;
        }

        public Builder consistency(ConsistencyPoint consistency) {
            this.consistency = given.once("consistency", this.consistency, consistency);
            return this;
        }

        public Builder fingerprints(Fingerprints fingerprints) {
            given.onceNullable("fingerprints", this.fingerprints, fingerprints);
            this.fingerprints = fingerprints;
            return this;
        }

        public Builder requiredLogs(LogRange requiredLogs) {
            given.onceNullable("requiredLogs", this.requiredLogs, requiredLogs);
            this.requiredLogs = requiredLogs;
            return this;
        }

        /** Adds one stored object; additive: objects are listed in the order added. */
        public Builder addObject(StoredObject object) {
            objects.add(Objects.requireNonNull(object, "object"));
            return this;
        }

        public Builder encryption(EncryptionInfo encryption) {
            given.onceNullable("encryption", this.encryption, encryption);
            this.encryption = encryption;
            return this;
        }

        /** Adds attributes; additive: later ones win for the same name. */
        public Builder attributes(Map<String, String> attributes) {
            this.attributes.putAll(attributes);
            return this;
        }

        /** Adds labels; additive: later ones win for the same name. */
        public Builder labels(Map<String, String> labels) {
            this.labels.putAll(labels);
            return this;
        }

        public Manifest build() {
            return new Manifest(this);
        }
    }
}
