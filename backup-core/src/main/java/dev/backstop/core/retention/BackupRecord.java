package dev.backstop.core.retention;

import dev.backstop.core.BackupId;
import dev.backstop.core.BackupType;
import dev.backstop.core.LogRange;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.StorageTier;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.internal.builder.Settings;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * What retention knows about one backup: its manifest facts, whether it is verified, and whether
 * a person pinned it or put it under legal hold. Immutable.
 *
 * <p>Calendar rules and ages use {@link #startedAt()}, the time in the backup id that listings
 * show. A backup is usable as a base for point-in-time recovery from {@link #finishedAt()} on.
 */
public final class BackupRecord {
    private final BackupId id;
    private final Instant startedAt;
    private final Instant finishedAt;
    private final BackupId parent;
    private final LogRange requiredLogs;
    private final long storedBytes;
    private final BackupStatus status;
    private final boolean pinned;
    private final boolean legalHold;
    private final StorageTier tier;

    private BackupRecord(Builder b) {
        this.id = b.id;
        this.startedAt = b.startedAt == null ? b.id.timestamp() : b.startedAt;
        this.finishedAt = b.finishedAt == null ? startedAt : b.finishedAt;
        this.parent = b.parent;
        this.requiredLogs = b.requiredLogs;
        this.storedBytes = b.storedBytes;
        this.status = b.status;
        this.pinned = b.pinned;
        this.legalHold = b.legalHold;
        this.tier = b.tier;
        if (finishedAt.isBefore(startedAt)) {
            throw new IllegalArgumentException("backup " + id + ": finishedAt " + finishedAt + " is before startedAt " + startedAt);
        }
        if (id.equals(parent)) {
            throw new IllegalArgumentException("backup " + id + ": is its own parent");
        }
    }

    /** A record with status {@link BackupStatus#UNVERIFIED}, times from the id, no holds. */
    public static Builder builder(BackupId id) {
        return new Builder(id);
    }

    /**
     * The record of a stored backup.
     *
     * @param newestValidation the newest validation record, if any: passed means verified, unless it
     *     proved only a sample (measurement {@code coverage} is {@code sampled})
     */
    public static Builder from(Manifest manifest, Optional<ValidationResult> newestValidation) {
        // fields, not setters: the caller may still give each setting once
        Builder b = builder(manifest.id());
        b.startedAt = Objects.requireNonNull(manifest.startedAt(), "startedAt");
        b.finishedAt = Objects.requireNonNull(manifest.finishedAt(), "finishedAt");
        b.storedBytes = manifest.storedBytes();
        b.parent = manifest.parent().orElse(null);
        b.requiredLogs = manifest.requiredLogs().orElse(null);
        // a pass that proved only a sample of the data (measurement coverage=sampled) is no full proof
        b.status = newestValidation.map(v -> !v.passed() ? BackupStatus.FAILED
                        : "sampled".equals(v.measurements().get("coverage")) ? BackupStatus.UNVERIFIED : BackupStatus.VERIFIED)
                .orElse(BackupStatus.UNVERIFIED);
        return b;
    }

    public BackupId id() {
        return id;
    }

    public BackupType type() {
        return id.type();
    }

    public Instant startedAt() {
        return startedAt;
    }

    public Instant finishedAt() {
        return finishedAt;
    }

    /** The backup this one builds on, if it is incremental. */
    public Optional<BackupId> parent() {
        return Optional.ofNullable(parent);
    }

    /** The logs a restore of this backup needs (its start to its consistency point). */
    public Optional<LogRange> requiredLogs() {
        return Optional.ofNullable(requiredLogs);
    }

    public long storedBytes() {
        return storedBytes;
    }

    public BackupStatus status() {
        return status;
    }

    public boolean verified() {
        return status == BackupStatus.VERIFIED;
    }

    public boolean pinned() {
        return pinned;
    }

    public boolean legalHold() {
        return legalHold;
    }

    /** The storage tier the backup's objects are in now. */
    public StorageTier tier() {
        return tier;
    }

    public Builder toBuilder() {
        // fields, not setters: the caller may still give each setting once
        Builder b = new Builder(id);
        b.startedAt = startedAt;
        b.finishedAt = finishedAt;
        b.storedBytes = storedBytes;
        b.status = status;
        b.pinned = pinned;
        b.legalHold = legalHold;
        b.tier = tier;
        b.parent = parent;
        b.requiredLogs = requiredLogs;
        return b;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BackupRecord r && id.equals(r.id) && startedAt.equals(r.startedAt)
                && finishedAt.equals(r.finishedAt) && Objects.equals(parent, r.parent)
                && Objects.equals(requiredLogs, r.requiredLogs) && storedBytes == r.storedBytes
                && status == r.status && pinned == r.pinned && legalHold == r.legalHold && tier == r.tier;
    }

    @Override
    public int hashCode() {
        return id.hashCode();
    }

    @Override
    public String toString() {
        return id + " " + status + (pinned ? " pinned" : "") + (legalHold ? " legal-hold" : "")
                + (parent == null ? "" : " parent=" + parent);
    }

    /** Builder for {@link BackupRecord}; not thread-safe. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final BackupId id;
        private Instant startedAt;
        private Instant finishedAt;
        private BackupId parent;
        private LogRange requiredLogs;
        private long storedBytes;
        private BackupStatus status = BackupStatus.UNVERIFIED;
        private boolean pinned;
        private boolean legalHold;
        private StorageTier tier = StorageTier.HOT;

        private Builder(BackupId id) {
            this.id = Objects.requireNonNull(id, "id");
        }

        public Builder startedAt(Instant startedAt) {
            this.startedAt = given.once("startedAt", this.startedAt, startedAt);
            return this;
        }

        public Builder finishedAt(Instant finishedAt) {
            this.finishedAt = given.once("finishedAt", this.finishedAt, finishedAt);
            return this;
        }

        public Builder parent(BackupId parent) {
            this.parent = given.once("parent", this.parent, parent);
            return this;
        }

        public Builder requiredLogs(LogRange requiredLogs) {
            this.requiredLogs = given.once("requiredLogs", this.requiredLogs, requiredLogs);
            return this;
        }

        public Builder storedBytes(long storedBytes) {
            if (storedBytes < 0) {
                throw new IllegalArgumentException("storedBytes: got " + storedBytes + ", must be >= 0");
            }
            given.onceNullable("storedBytes", this.storedBytes, storedBytes);
            this.storedBytes = storedBytes;
            return this;
        }

        public Builder status(BackupStatus status) {
            this.status = given.once("status", this.status, status);
            return this;
        }

        public Builder verified() {
            return status(BackupStatus.VERIFIED);
        }

        public Builder pinned(boolean pinned) {
            given.onceNullable("pinned", this.pinned, pinned);
            this.pinned = pinned;
            return this;
        }

        public Builder legalHold(boolean legalHold) {
            given.onceNullable("legalHold", this.legalHold, legalHold);
            this.legalHold = legalHold;
            return this;
        }

        public Builder tier(StorageTier tier) {
            this.tier = given.once("tier", this.tier, tier);
            return this;
        }

        public BackupRecord build() {
            return new BackupRecord(this);
        }
    }
}
