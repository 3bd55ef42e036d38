package dev.backstop.core;

import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.event.BackupListener;
import dev.backstop.core.event.ReadProgress;
import dev.backstop.core.internal.chain.DecodingChain;
import dev.backstop.core.internal.concurrent.LogContext;
import dev.backstop.core.internal.crypto.DataKey;
import dev.backstop.core.internal.validate.ObjectChecks;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.manifest.StoredObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads backups back: the mirror of {@link BackupPipeline}.
 *
 * <pre>{@code
 * Restore restore = Restore.builder().repository(repo).keys(kek).build();
 * Manifest m = restore.manifest(id);
 * restore.toFile(m, "data", Path.of("restored.db"));   // verified before it appears
 * }</pre>
 *
 * <p><b>Guarantees.</b> Every byte read is checked three ways: the stored bytes' size and SHA-256
 * against the manifest, authentication by the AEAD (segment by segment), and the plaintext's size
 * and SHA-256. A stream from {@link #open} delivers end-of-stream only after all checks passed;
 * any mismatch raises {@link IntegrityException} naming the object, what was expected and what
 * was found, instead. {@link #toFile} publishes the file only after that. Before any data is read,
 * the manifest passed in must be the one stored for its id, under that id; with {@link
 * Builder#keys} it must also carry the repository's metadata authentication tag for that location
 * and id, so only a manifest a KEK holder wrote is ever restored (an unauthenticated manifest of
 * an unencrypted backup only with {@link Builder#allowUnencrypted}). A missing object is a
 * {@link StorageException}; a missing or unusable key a {@link BackupException} at {@link
 * Stage#KEY}.
 *
 * <p><b>Threading.</b> Immutable and thread-safe; streams it returns are single-threaded. A stream
 * of a big object decodes on two threads (see {@link Builder#pipelining}): closing it early stops
 * the second one, and its failures surface from {@code read} with their type kept.
 *
 * <p><b>Logging.</b> {@link #toFile}, {@link #copyTo}, {@link #verify} and {@link #verifyStored}
 * run under the MDC described in {@link BackupPipeline} ({@code backup.stage} {@code restore} or
 * {@code verify}) and log a failure at ERROR before throwing it; a stream from {@link #open}
 * hands the caller's MDC to its second thread.
 *
 * <p>Past 400 lines because it is the one entry point of reading back (files, streams, copies,
 * verification, progress) and each path shares its checks; the object reading itself is
 * in {@code BackupObjects} and {@code FileRestore}.
 */
public final class Restore {
    private static final Logger LOG = LoggerFactory.getLogger(Restore.class);
    private final Repository repository;
    private final BackupListener listener;
    private final Clock clock;
    private final BackupObjects objects;
    private final boolean allowUnencrypted;
    /** Set only by {@link Encryption#upgrade}: manifests are checked by decoding, not admitted. */
    private final boolean upgrading;

    private Restore(Builder b, boolean upgrading) {
        DecodingChain.Builder cb = DecodingChain.builder().registry(b.registry.build());
        if (b.pipelining != null) {
            cb.pipelining(b.pipelining);
        }
        if (b.pipeliningFrom != null) {
            cb.pipeliningFrom(b.pipeliningFrom);
        }
        if (b.executor != null) {
            cb.executor(b.executor);
        }
        DecodingChain chain = cb.build();
        this.allowUnencrypted = b.allowUnencrypted;
        this.upgrading = upgrading;
        this.repository = b.kek == null ? b.repository : b.repository.withKeys(b.kek, b.allowUnencrypted);
        Encryption encryption = b.kek == null ? null : Encryption.with(b.kek);
        this.objects = new BackupObjects(repository, encryption, chain, ReadProgress.guarded(b.progress));
        this.listener = BackupListener.guarded(b.listener);
        this.clock = b.clock == null ? Clock.systemUTC() : b.clock;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * The repository as this restore reads it: with {@link Builder#keys}, its keyed view (see
     * {@link Repository#withKeys}), so validation records written through it are authenticated.
     */
    public Repository repository() {
        return repository;
    }

    /**
     * The manifest of backup {@code id}, checked (see {@link #admit}); a {@link BackupException}
     * if it does not exist.
     */
    public Manifest manifest(BackupId id) {
        return admit(id, null);
    }

    /**
     * The newest backup in the repository whose manifest is admitted; a {@link BackupException}
     * if there is none. Damaged manifests are skipped (see {@link Repository#damaged}).
     */
    public Manifest latest() {
        try {
            List<Manifest> all = repository.catalog().list();
            if (all.isEmpty()) {
                throw new BackupException(Stage.CATALOG, "repository " + repository.sink() + " holds no backup", null);
            }
            // ids sort by their second, then by a random suffix: two backups of one second are
            // ordered by when they started
            Manifest m = all.stream().max(java.util.Comparator.comparing(Manifest::startedAt)
                    .thenComparing(x -> x.id().value())).orElseThrow();
            return admit(m.id(), m);
        } catch (IOException e) {
            throw StorageException.of(null, "could not list backups: " + e, e, null);
        }
    }

    /**
     * The manifest stored for {@code id}, if it may be trusted and {@code given} (unless null) is
     * that manifest; see {@link SinkCatalog#admitted} for the checks.
     */
    private Manifest admit(BackupId id, Manifest given) {
        return ((SinkCatalog) repository.catalog()).admitted(id, given, allowUnencrypted);
    }

    private void admit(Manifest m) {
        if (!upgrading) {
            admit(m.id(), m);
        }
    }

    /**
     * Opens stream {@code name} of a backup, decoded. Read it to the end: the final checks run
     * when the stored data ends, and a failure surfaces from {@code read} as an unchecked
     * {@link IntegrityException} instead of end-of-stream.
     */
    public InputStream open(Manifest m, String name) {
        StoredObject o = m.object(name).orElseThrow(() -> new IllegalArgumentException(
                "stream '" + name + "' is not in backup " + m.id() + "; it has " + m.objects().stream().map(StoredObject::name).toList()));
        admit(m);
        return objects.open(m, o);
    }

    /**
     * Writes stream {@code name} to {@code target}, which appears only once every check passed
     * (written to a temporary file beside it, then moved). Returns the bytes written.
     */
    public long toFile(Manifest m, String name, Path target) {
        return logged(m, Stage.RESTORE, "restore", () -> {
            LOG.atInfo().addKeyValue("event", "restore.started").addKeyValue("backup.id", m.id().value())
                    .addKeyValue("stream", name).addKeyValue("target", target.toString()).log("restore of {} started", m.id());
            return FileRestore.write(this, listener, clock, m, name, target);
        });
    }

    /**
     * Runs {@code body} as one job on backup {@code m}: under its MDC (see {@link
     * BackupPipeline}), with a failure logged before it reaches the caller.
     */
    private <T> T logged(Manifest m, Stage stage, String job, Supplier<T> body) {
        LogContext.Scope log = LogContext.open(repository.sink()).backupId(m.id()).stage(stage);
        try {
            return body.get();
        } catch (RuntimeException e) {
            LOG.atError().addKeyValue("event", job + ".failed").addKeyValue("backup.id", m.id().value())
                    .log("{} of {} failed: {}", job, m.id(), e.getMessage());
            throw e;
        } finally {
            log.close();
        }
    }

    /** Copies stream {@code name} decoded into {@code out} (not closed). Checks as {@link #open}. */
    public long copyTo(Manifest m, String name, OutputStream out) {
        return logged(m, Stage.RESTORE, "restore", () -> {
            LOG.atInfo().addKeyValue("event", "restore.started").addKeyValue("backup.id", m.id().value())
                    .addKeyValue("stream", name).log("restore of {} started", m.id());
            Instant start = clock.instant();
            try (InputStream in = open(m, name)) {
                long n = in.transferTo(out);
                listener.restoreFinished(m.id(), n, Duration.between(start, clock.instant()));
                return n;
            } catch (IOException e) {
                throw new BackupException(Stage.RESTORE, "could not write stream " + name + " of " + m.id() + ": " + e, e, false,
                        m.id());
            }
        });
    }

    /** Whether {@link #verify(Manifest, Recording)} stores its result in the repository. */
    public enum Recording {
        /**
         * Append the result, passed or failed, as a validation record next to the manifest (as a
         * restore drill does), so retention and {@code status} see the backup as verified or as
         * failed. Needs write access to the repository.
         */
        RECORD,
        /** Only return the result; the repository is not written (read-only credentials, dry checks). */
        NONE
    }

    /**
     * The full, keyed check of a backup, and the way to make a backup <i>verified</i>: decodes
     * every object (stored size and SHA-256, AEAD authentication, decompression, plaintext size and
     * SHA-256) without writing the data anywhere, then records the result in the repository as a
     * validation record ({@link Recording#RECORD}). Problems are findings in the result, not
     * exceptions; call {@link ValidationResult#orThrow()} to fail on them. A record that cannot be
     * written is a retryable {@link StorageException}; use {@code verify(m, Recording.NONE)} on a
     * repository this process may not write.
     */
    public ValidationResult verify(Manifest m) {
        return verify(m, Recording.RECORD);
    }

    /** {@link #verify(Manifest)}, recording its result only when {@code recording} says so. */
    public ValidationResult verify(Manifest m, Recording recording) {
        Objects.requireNonNull(recording, "recording");
        return logged(m, Stage.VERIFY, "verification", () -> {
            ValidationResult r = reported(ObjectChecks.fullDecode(reader(m), clock));
            if (recording == Recording.RECORD) {
                repository.recordValidation(r);
            }
            return r;
        });
    }

    /**
     * Checks the stored size and SHA-256 of every object; needs no keys and records nothing.
     * Stored digests can be rewritten together with the data by whoever can write the
     * repository, so a passed result here does not make a backup verified: that takes
     * {@link #verify(Manifest)}. (Should a caller record it anyway, a keyless record never makes a
     * backup verified in a repository written with keys: see {@link Repository#recordValidation}.)
     */
    public ValidationResult verifyStored(Manifest m) {
        return logged(m, Stage.VERIFY, "verification", () -> reported(ObjectChecks.storedChecksums(reader(m), clock)));
    }

    /**
     * A reader of the objects of {@code m}, once its manifest is admitted (see {@link #open}):
     * what validators read through.
     *
     * @throws IntegrityException naming the manifest if it is not the one stored for its id
     */
    public BackupReader reader(Manifest m) {
        admit(m);
        return objects.reader(m);
    }

    /** Tells the listeners about {@code r}; returns it. */
    ValidationResult reported(ValidationResult r) {
        listener.validated(r);
        return r;
    }

    Clock clock() {
        return clock;
    }

    /** The raw stored bytes of an object; no checks. */
    public InputStream openStored(BackupId id, String key) {
        return DecodingChain.openRaw(repository.sink(), key, id);
    }

    /**
     * Builder for {@link Restore}; the repository is required. Each setting may be given once
     * (a second call is an {@link IllegalStateException} naming it); listeners and decoders add up.
     */
    public static final class Builder {
        private Repository repository;
        private KeyEncryptionKey kek;
        private BackupListener listener = BackupListener.NONE;
        private ReadProgress progress = ReadProgress.NONE;
        private Clock clock;
        private final TransformRegistry.Builder registry = TransformRegistry.builder();
        private Boolean pipelining;
        private DataSize pipeliningFrom;
        private Executor executor;
        private boolean allowUnencrypted;

        private Builder() {
        }

        /**
         * Accepts manifests without authentication whose backups are not encrypted, in a
         * repository whose other backups are (by default they are refused, so that nobody with
         * write access can swap in a forged unencrypted backup). An unauthenticated manifest
         * that claims encryption is refused either way.
         */
        public Builder allowUnencrypted() {
            if (allowUnencrypted) {
                throw new IllegalStateException("allowUnencrypted: already called");
            }
            this.allowUnencrypted = true;
            return this;
        }

        /**
         * Whether a big object is decoded on two threads (true by default): one reads it and runs
         * the stored-bytes SHA-256 and the decryption, the reading thread decompresses and runs the
         * plaintext SHA-256, with at most 4 MiB in flight between them. A framed zstd object (see
         * {@link dev.backstop.core.transform.ZstdTransform}) decompresses on its own decode threads either way, leaving the
         * reading thread the plaintext SHA-256. Every check holds either way; false keeps each
         * stream's other stages on the reading thread.
         */
        public Builder pipelining(boolean pipelining) {
            this.pipelining = Settings.once("pipelining", this.pipelining, pipelining);
            return this;
        }

        /** Stored size from which {@link #pipelining} starts a thread; 8 MiB by default, below which a thread does not pay. */
        public Builder pipeliningFrom(DataSize storedSize) {
            this.pipeliningFrom = Settings.once("pipeliningFrom", this.pipeliningFrom, storedSize);
            return this;
        }

        /** Runs the decode thread of each pipelined stream; the restore never shuts it down. */
        public Builder executor(Executor executor) {
            this.executor = Settings.once("executor", this.executor, executor);
            return this;
        }

        public Builder repository(Repository repository) {
            if (this.repository != null) {
                throw new IllegalStateException("repository: already set to " + this.repository.sink());
            }
            this.repository = Objects.requireNonNull(repository, "repository");
            return this;
        }

        /** The key-encryption key that unwraps data keys; needed for encrypted backups. */
        public Builder keys(KeyEncryptionKey kek) {
            if (this.kek != null) {
                throw new IllegalStateException("keys: already set to " + this.kek.id());
            }
            this.kek = Objects.requireNonNull(kek, "kek");
            return this;
        }

        /** Adds a listener: the one setting that adds up, every listener given hears every event. */
        public Builder listener(BackupListener listener) {
            this.listener = this.listener.plus(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Settings.once("clock", this.clock, clock);
            return this;
        }

        /**
         * Told the stored bytes read of every object this restore opens, verifies or drills (see
         * {@link ReadProgress}); none by default, and then no stream is added.
         */
        public Builder progress(ReadProgress progress) {
            Objects.requireNonNull(progress, "progress");
            if (this.progress != ReadProgress.NONE) {
                throw new IllegalStateException("progress: already set");
            }
            this.progress = progress;
            return this;
        }

        /**
         * Registers the decoder of a custom transform, recorded in manifests as {@code
         * transformId}, for backups written with one: it is resolved exactly as the built-ins are
         * (see {@link TransformRegistry}).
         *
         * @throws IllegalStateException if {@code transformId} is registered already, or is a
         *     built-in ({@link #replaceDecoder} replaces one explicitly)
         */
        public Builder decoder(String transformId, Transform.Factory factory) {
            registry.register(transformId, factory);
            return this;
        }

        /**
         * Replaces the decoder of a built-in transform ({@code zstd}, {@code aead}); see {@link
         * TransformRegistry.Builder#replaceBuiltIn}.
         */
        public Builder replaceDecoder(String transformId, Transform.Factory factory) {
            registry.replaceBuiltIn(transformId, factory);
            return this;
        }

        public Restore build() {
            if (repository == null) {
                throw new IllegalStateException("repository: not set; call repository(...)");
            }
            return new Restore(this, false);
        }

        /** A restore that decodes manifests a KEK holder is upgrading, before they are authenticated. */
        Restore buildForUpgrade() {
            if (repository == null || kek == null) {
                throw new IllegalStateException("upgrade needs a repository and keys");
            }
            return new Restore(this, true);
        }
    }
}
