package dev.backstop.core.replication;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.Digest;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.crypto.MetadataKey;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Repository;
import dev.backstop.core.Sink;
import dev.backstop.core.Stage;
import dev.backstop.core.StorageException;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.concurrent.LogContext;
import dev.backstop.core.internal.layout.RepositoryLayout;
import dev.backstop.core.internal.repo.ManifestFormat;
import dev.backstop.core.internal.repo.RepositoryStore;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.manifest.StoredObject;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static dev.backstop.core.replication.ReplicaCopy.compare;
import static dev.backstop.core.replication.ReplicaCopy.copyMetadataKey;
import static dev.backstop.core.replication.ReplicaCopy.copyWhole;
import static dev.backstop.core.replication.ReplicaCopy.sameManifest;
import static dev.backstop.core.replication.ReplicaCopy.sha256;
import static dev.backstop.core.replication.ReplicaCopy.streamCopy;

/**
 * Copies backups from a primary {@link Repository} to replicas (other buckets, regions or
 * directories) and checks that replicas hold the same bytes.
 *
 * <pre>{@code
 * Replication r = Replication.from(primary).to("eu-west-1", replicaRepo).build();
 * r.copy(backupId);            // resumable: run again after a failure
 * r.verify(backupId);          // compares every object's stored SHA-256 with the manifest
 * }</pre>
 *
 * <p><b>Guarantees.</b> Objects are copied as stored, never decoded or re-encoded: data objects,
 * then the wrapped data key, then the manifest's exact bytes last, so a replica shows a backup
 * only once all of it is there. Copying is resumable: an object already on the replica is
 * skipped when its SHA-256 equals the manifest's stored SHA-256, and one that differs stops the
 * copy with an {@link IntegrityException} (immutable objects are never overwritten). A streamed
 * copy is hashed on the way and committed only if it matches the manifest, so a corrupted
 * primary is not propagated. Where the replica's sink offers {@link ServerSideCopy} (S3 to S3 on
 * one client) the bytes do not pass through this process. Each copy and verification appends an
 * immutable record to the <em>primary</em> under {@code backups/<id>/replicas/}, in the format of
 * validation records (validator {@code replica:<name>:copy} or {@code replica:<name>:verify});
 * {@link #status} reads the newest per replica.
 *
 * <p><b>Keys.</b> Built on a keyed view of the primary ({@link Repository#withKeys}), it copies
 * only manifests that authenticate, authenticates its records, and refuses records that do not
 * authenticate, each with an {@link IntegrityException} naming the object. The repository's
 * wrapped {@link MetadataKey} record is copied with the first encrypted backup, so the replica's
 * copies authenticate there too; a replica that holds a different metadata key is refused.
 *
 * <p><b>Threading.</b> Immutable; safe for concurrent use on different backups.
 */
public final class Replication {
    private static final Logger LOG = LoggerFactory.getLogger(Replication.class);

    /** A named replica repository. */
    public record Replica(String name, Repository repository) {
        public Replica {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(repository, "repository");
            if (!name.matches("[A-Za-z0-9._-]{1,64}")) {
                throw new IllegalArgumentException("replica name: got '" + name + "', expected 1-64 of [A-Za-z0-9._-]");
            }
        }
    }

    /**
     * What one copy or verification found.
     *
     * @param copied      objects written to the replica by this run
     * @param serverSide  of those, copied without the bytes passing through this process
     * @param skipped     objects already on the replica with the right SHA-256
     * @param bytesCopied stored bytes written by this run
     * @param findings    what is wrong, as sentences; empty when the replica is complete and equal
     */
    public record Outcome(String replica, BackupId backupId, int copied, int serverSide, int skipped, long bytesCopied,
                          List<String> findings) {
        public Outcome {
            findings = List.copyOf(findings);
        }

        public boolean ok() {
            return findings.isEmpty();
        }
    }

    private final Repository primary;
    private final List<Replica> replicas;
    private final Clock clock;

    private Replication(Builder b) {
        this.primary = b.primary;
        this.replicas = List.copyOf(b.replicas);
        this.clock = b.clock;
    }

    /** Starts a replication setup from {@code primary}. */
    public static Builder from(Repository primary) {
        return new Builder(primary);
    }

    public List<Replica> replicas() {
        return replicas;
    }

    /** The repository backups are copied from. */
    public Repository primary() {
        return primary;
    }

    /** Copies one backup to every replica; see {@link #copy(BackupId, Replica)}. */
    public List<Outcome> copy(BackupId id) {
        List<Outcome> out = new ArrayList<>();
        for (Replica r : replicas) {
            out.add(copy(id, r));
        }
        return out;
    }

    /** Copies every backup of the primary that a replica lacks; returns one outcome per copy made. */
    public List<Outcome> copyAll() {
        List<Outcome> out = new ArrayList<>();
        for (Manifest m : listPrimary()) {
            for (Replica r : replicas) {
                if (!hasManifest(r, m.id())) {
                    out.add(copy(m.id(), r));
                }
            }
        }
        return out;
    }

    /**
     * Copies backup {@code id} to {@code replica}: data objects, wrapped key, manifest last.
     *
     * @throws StorageException if the primary or the replica cannot be read or written (run again
     *     to resume)
     * @throws IntegrityException if the replica holds a different object under one of the keys,
     *     or the primary's bytes do not match its own manifest
     */
    public Outcome copy(BackupId id, Replica replica) {
        LogContext.Scope log = LogContext.open(primary.sink()).backupId(id).stage(Stage.STORE);
        try {
            return copyTo(id, replica);
        } finally {
            log.close();
        }
    }

    private Outcome copyTo(BackupId id, Replica replica) {
        Manifest m = manifest(id);
        Sink from = primary.sink();
        Sink to = replica.repository().sink();
        if (sameManifest(from, to, id)) {
            // the manifest is written last, so the replica's copy of this backup is complete;
            // verify() reads the objects when you want proof
            return new Outcome(replica.name(), id, 0, 0, m.objects().size(), 0, List.of());
        }
        int copied = 0;
        int serverSide = 0;
        int skipped = 0;
        long bytes = 0;
        for (StoredObject o : m.objects()) {
            String there = compare(to, o, id);
            if (there == null) {
                skipped++;
                continue;
            }
            if (!there.isEmpty()) {
                throw record(replica, id, "copy", copied, serverSide, skipped, bytes,
                        new IntegrityException(o.key(), "stored object on replica " + replica.name(),
                                o.storedSize() + " bytes with " + o.storedSha256(),
                                there + " (immutable: check why, then remove it on the replica by hand)", null, id));
            }
            try {
                if (to instanceof ServerSideCopy s && s.copyFrom(from, o.key(), ObjectKind.DATA)) {
                    serverSide++;
                } else {
                    streamCopy(from, to, o.key(), ObjectKind.DATA, o.storedSize(), o.storedSha256(), id);
                }
            } catch (IOException e) {
                throw record(replica, id, "copy", copied, serverSide, skipped, bytes,
                        StorageException.of(o.key(), "could not copy to replica " + replica.name() + ": " + e, e, id));
            } catch (BackupException e) {
                throw record(replica, id, "copy", copied, serverSide, skipped, bytes, e);
            }
            copied++;
            bytes += o.storedSize();
        }
        try {
            if (MetadataKey.exists(primary)) {
                bytes += copyMetadataKey(from, to, replica, id);
            }
            if (m.encryption().isPresent()) {
                String keyObject = m.encryption().get().keyObject();
                bytes += copyWhole(from, to, keyObject, ObjectKind.KEY, id);
            }
            if (!hasManifest(replica, id)) {
                bytes += copyWhole(from, to, Repository.manifestKey(id), ObjectKind.MANIFEST, id);
            }
        } catch (IOException e) {
            throw record(replica, id, "copy", copied, serverSide, skipped, bytes,
                    StorageException.of(null, "could not copy key or manifest to replica " + replica.name() + ": " + e, e, id));
        } catch (BackupException e) {
            throw record(replica, id, "copy", copied, serverSide, skipped, bytes, e);
        }
        Outcome done = new Outcome(replica.name(), id, copied, serverSide, skipped, bytes, List.of());
        writeRecord("copy", done);
        return done;
    }

    /** Verifies one backup on every replica. */
    public List<Outcome> verify(BackupId id) {
        List<Outcome> out = new ArrayList<>();
        for (Replica r : replicas) {
            out.add(verify(id, r));
        }
        return out;
    }

    /**
     * Reads every object of backup {@code id} on {@code replica} and compares its SHA-256 with
     * the stored SHA-256 in the primary's manifest; also checks the replica's manifest is byte
     * for byte the primary's. Findings are returned and recorded, not thrown.
     */
    public Outcome verify(BackupId id, Replica replica) {
        LogContext.Scope log = LogContext.open(primary.sink()).backupId(id).stage(Stage.VERIFY);
        try {
            return verifyOn(id, replica);
        } finally {
            log.close();
        }
    }

    private Outcome verifyOn(BackupId id, Replica replica) {
        Manifest m = manifest(id);
        Sink to = replica.repository().sink();
        List<String> findings = new ArrayList<>();
        for (StoredObject o : m.objects()) {
            try {
                Digest d = sha256(to, o.key());
                if (!d.equals(o.storedSha256())) {
                    findings.add(o.key() + ": replica has " + d + ", primary's manifest says " + o.storedSha256());
                }
            } catch (IOException e) {
                findings.add(o.key() + ": " + (RepositoryStore.isMissing(e) ? "missing on the replica" : "unreadable on the replica: " + e));
            }
        }
        try {
            Digest here = sha256(primary.sink(), Repository.manifestKey(id));
            Digest there = sha256(to, Repository.manifestKey(id));
            if (!here.equals(there)) {
                findings.add(Repository.manifestKey(id) + ": replica's manifest differs from the primary's");
            }
        } catch (IOException e) {
            findings.add(Repository.manifestKey(id) + ": " + (RepositoryStore.isMissing(e) ? "missing on the replica" : e.toString()));
        }
        Outcome out = new Outcome(replica.name(), id, 0, 0, 0, 0, findings);
        writeRecord("verify", out);
        return out;
    }

    /** The newest copy or verify record per replica for a backup, as stored on the primary. */
    public Map<String, ValidationResult> status(BackupId id) {
        String prefix = RepositoryLayout.replicasPrefix(id);
        Map<String, ValidationResult> out = new LinkedHashMap<>();
        try {
            for (ObjectInfo o : primary.sink().list(prefix)) {
                ValidationResult r = ManifestFormat.readValidation(RepositoryStore.readRecord(primary, o.key(), id.value(),
                        "replica record"), o.key());
                String[] parts = r.validator().split(":");
                if (parts.length == 3) {
                    out.put(parts[1], r);
                }
            }
        } catch (IOException e) {
            throw StorageException.of(prefix, "could not read replica records: " + e, e, id);
        }
        return out;
    }

    private Manifest manifest(BackupId id) {
        try {
            return primary.catalog().get(id).orElseThrow(() -> new StorageException(Repository.manifestKey(id),
                    "backup does not exist in the primary repository", null, false, id));
        } catch (IOException e) {
            throw StorageException.of(Repository.manifestKey(id), "could not read the primary's manifest: " + e, e, id);
        }
    }

    private List<Manifest> listPrimary() {
        try {
            return primary.catalog().list();
        } catch (IOException e) {
            throw StorageException.of(null, "could not list the primary's catalog: " + e, e, null);
        }
    }

    private static boolean hasManifest(Replica r, BackupId id) {
        try {
            return !r.repository().sink().list(Repository.manifestKey(id)).isEmpty();
        } catch (IOException e) {
            throw StorageException.of(Repository.manifestKey(id), "could not list replica " + r.name() + ": " + e, e, id);
        }
    }

    private BackupException record(Replica replica, BackupId id, String what, int copied, int serverSide, int skipped,
                                   long bytes, BackupException failure) {
        try {
            writeRecord(what, new Outcome(replica.name(), id, copied, serverSide, skipped, bytes, List.of(failure.getMessage())));
        } catch (RuntimeException e) {
            failure.addSuppressed(e);
        }
        return failure;
    }

    private void writeRecord(String what, Outcome o) {
        (o.ok() ? LOG.atInfo() : LOG.atError()).addKeyValue("event", "replica." + what + (o.ok() ? "" : ".failed"))
                .addKeyValue("backup.id", o.backupId().value()).addKeyValue("replica", o.replica())
                .addKeyValue("copied", o.copied()).addKeyValue("server.side", o.serverSide()).addKeyValue("skipped", o.skipped())
                .addKeyValue("bytes", o.bytesCopied()).addKeyValue("findings", o.findings())
                .log("replica {} {} of {}: {}", o.replica(), what, o.backupId(), o.ok() ? "ok" : String.join("; ", o.findings()));
        Instant now = clock.instant();
        Map<String, String> measured = new LinkedHashMap<>();
        measured.put("copied", Integer.toString(o.copied()));
        measured.put("serverSide", Integer.toString(o.serverSide()));
        measured.put("skipped", Integer.toString(o.skipped()));
        measured.put("bytesCopied", Long.toString(o.bytesCopied()));
        ValidationResult r = new ValidationResult(o.backupId(), "replica:" + o.replica() + ":" + what, now, Duration.ZERO,
                o.findings(), measured);
        String key = RepositoryLayout.replicaRecordKey(o.backupId(), now, o.replica(), what);
        try {
            RepositoryStore.putRecord(primary, key, o.backupId().value(), ObjectKind.VALIDATION, ManifestFormat.writeValidation(r));
        } catch (IOException e) {
            throw StorageException.of(key, "could not record replica status: " + e, e, o.backupId());
        }
    }

    /** Configures a {@link Replication}. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final Repository primary;
        private final List<Replica> replicas = new ArrayList<>();
        private Clock clock = Clock.systemUTC();

        private Builder(Repository primary) {
            this.primary = Objects.requireNonNull(primary, "primary");
        }

        /** Adds a replica; names must be unique. */
        public Builder to(String name, Repository replica) {
            Replica r = new Replica(name, replica);
            if (replicas.stream().anyMatch(x -> x.name().equals(name))) {
                throw new IllegalArgumentException("replica name: '" + name + "' is already used");
            }
            if (replica == primary || replica.sink() == primary.sink()) {
                throw new IllegalArgumentException("replica '" + name + "': is the primary repository itself");
            }
            replicas.add(r);
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = given.once("clock", this.clock, clock);
            return this;
        }

        public Replication build() {
            if (replicas.isEmpty()) {
                throw new IllegalStateException("replication: add at least one replica with to(name, repository)");
            }
            return new Replication(this);
        }
    }
}
