package dev.backstop.core;

import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.event.BackupListener;
import dev.backstop.core.internal.access.CryptoAccess;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.core.internal.concurrent.LogContext;
import dev.backstop.core.internal.crypto.DataKey;
import dev.backstop.core.internal.layout.RepositoryLayout;
import dev.backstop.core.lock.RepositoryLock;
import dev.backstop.core.manifest.Manifest;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;

/**
 * Takes backups: {@link CaptureSource} → transforms → repository, manifest last.
 *
 * <pre>{@code
 * BackupPipeline pipeline = BackupPipeline.builder()
 *     .source(FileSource.of(Path.of("app.db")))
 *     .compress(ZstdTransform.level(3))
 *     .encrypt(Encryption.with(LocalKeysetKek.load(kekFile)))
 *     .repository(Repository.filesystem(Path.of("/backups")))
 *     .build();
 * Manifest m = pipeline.run();
 * }</pre>
 *
 * <p><b>Guarantees.</b> Bytes stream through with memory bounded by buffer sizes. For each stream
 * the manifest records plaintext size and SHA-256 (before any transform) and stored size and
 * SHA-256 (after all). Objects are committed only after the source returned normally (for a
 * process: exited 0); the wrapped data key next; the manifest last. If anything fails, every
 * upload is aborted, no manifest is written, and the {@link BackupException} names the stage.
 * Objects already committed when a later step fails (the key record or the manifest could not be
 * written) are deleted again, with the key record, unless the manifest turns out to be there
 * after all; a deletion that fails is attached to the exception as suppressed, and {@link
 * Repository#removeOrphans} removes what is left.
 *
 * <p><b>Threading.</b> A built pipeline is immutable; {@link #run()} may be called repeatedly and
 * concurrently, each call taking one backup. With pipelining on (the default) each stream uses two
 * extra threads from the executor: the source's thread hashes the plaintext, one thread runs the
 * first transform (compression), one the rest (encryption, stored digest, repository writes).
 *
 * <p><b>Logging.</b> While {@link #run()} runs, the SLF4J MDC of its thread and of every thread it
 * hands work to holds {@code backup.id}, {@code backup.stage} ({@code lock}, {@code capture},
 * {@code store}, {@code key}, {@code catalog}; on a failure the failing stage), {@code
 * correlation.id} (the caller's if its MDC has one) and {@code repository}; the caller's MDC is
 * restored when it returns.
 */
public final class BackupPipeline {
    final CaptureSource source;
    final Repository repository;
    final List<Transform> transforms;
    final Encryption encryption;
    final BackupListener listener;
    final Clock clock;
    final RandomGenerator random;
    final Executor executor;
    final boolean pipelining;
    final Map<String, String> labels;
    final RepositoryLock lock;
    final RateLimit rateLimit;
    final Throttle throttle;

    private BackupPipeline(Builder b) {
        this.source = b.source;
        // with encryption, the manifest and key record are authenticated with the repository's metadata key
        this.repository = b.encryption == null ? b.repository : b.repository.withKeys(b.encryption.kek());
        this.transforms = List.copyOf(b.transforms);
        this.encryption = b.encryption;
        this.listener = BackupListener.guarded(b.listener);
        this.clock = b.clock == null ? Clock.systemUTC() : b.clock;
        this.random = b.random == null ? new SecureRandom() : b.random;
        this.executor = b.executor == null ? DaemonThreads.threadPerTask(DaemonThreads.numbered("backstop-stage")) : b.executor;
        this.pipelining = b.pipelining == null || b.pipelining;
        this.labels = Map.copyOf(b.labels);
        this.lock = b.lock;
        this.rateLimit = b.rateLimit;
        // one pair of buckets per pipeline: concurrent runs share the limit
        this.throttle = Throttle.of(b.rateLimit);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Takes one backup and returns its manifest, or throws a {@link BackupException}. */
    public Manifest run() {
        return run(0, e -> false);
    }

    private void reportFailure(BackupId id, BackupException e, int attempt,
                               Predicate<BackupException> retryFollows) {
        if (retryFollows.test(e)) {
            listener.backupAttemptFailed(id, e, attempt);
        } else {
            listener.backupFailed(id, e);
        }
    }

    /**
     * One attempt of a scheduled run: a failure that {@code retryFollows} is reported to the
     * listeners as {@link BackupListener#backupAttemptFailed}, the others as {@link
     * BackupListener#backupFailed}, so alerts see only failures no retry will fix.
     */
    Manifest run(int attempt, Predicate<BackupException> retryFollows) {
        Instant started = clock.instant();
        BackupId id = BackupId.generate(started, source.type(), random);
        // the run's MDC, carried to its hand-off threads; the caller's comes back on return
        try (LogContext.Scope log = LogContext.open(repository.sink()).backupId(id)
                .stage(lock != null ? Stage.LOCK : Stage.CAPTURE)) {
            listener.backupStarted(id, source);
            BackupRun run = new BackupRun(this, id);
            try {
                if (lock != null) {
                    run.takeLock();
                    log.stage(Stage.CAPTURE);
                }
                Manifest m = run.execute(started);
                listener.backupSucceeded(m);
                return m;
            } catch (BackupException e) {
                run.removeCommitted(e);
                log.stage(e.stage());
                reportFailure(id, e, attempt, retryFollows);
                throw e;
            } catch (RuntimeException | Error e) {
                BackupException be = new BackupException(Stage.CAPTURE, "unexpected failure: " + e, e, false, id);
                run.removeCommitted(be);
                log.stage(be.stage());
                reportFailure(id, be, attempt, retryFollows);
                throw be;
            } finally {
                run.abortUnpublished();
                run.releaseLock();
            }
        }
    }

    /**
     * Checks the configuration and the repository without taking a backup: the repository is
     * listed and a probe object is written and aborted; the KEK is asked to wrap a throwaway key.
     *
     * @return what a run would do, one line per fact
     */
    public List<String> dryRun() {
        List<String> out = new ArrayList<>();
        BackupId id = BackupId.generate(clock.instant(), source.type(), random);
        out.add("backup id would be " + id);
        out.add("source: " + source);
        out.add("transforms: " + transforms + (encryption == null ? ", no encryption" : ", then " + encryption));
        if (rateLimit != null) {
            out.add("rate limit: " + rateLimit);
        }
        out.add("objects under " + Repository.dataKey(id, "") + ", manifest last at " + Repository.manifestKey(id));
        try {
            int n = repository.catalog().list().size();
            out.add("repository " + repository.sink() + " readable: " + n + " backups");
        } catch (IOException e) {
            throw StorageException.of(null, "repository " + repository.sink() + " cannot be listed: " + e, e, null);
        } catch (RuntimeException e) {
            throw new StorageException(null, "repository " + repository.sink() + " cannot be listed: " + e, e, true, null);
        }
        String probe = RepositoryLayout.writeProbeKey(id);
        try (Sink.Upload up = repository.sink().create(probe, ObjectKind.DATA)) {
            up.stream().write(new byte[] {1});
            out.add("repository writable (probe written and aborted)");
        } catch (IOException e) {
            throw StorageException.of(probe, "repository is not writable: " + e, e, null);
        }
        if (encryption != null) {
            CryptoAccess.get().newDataKey(encryption, id);
            out.add("key-encryption key " + encryption.kek().id() + " wraps data keys");
        }
        return out;
    }

    @Override
    public String toString() {
        return "BackupPipeline[" + source + " -> " + transforms + (encryption == null ? "" : " -> " + encryption)
                + " -> " + repository.sink() + "]";
    }

    /**
     * Builder for {@link BackupPipeline}. Source, repository and a choice about encryption are
     * required: either {@link #encrypt(Encryption)} or, deliberately, {@link #noEncryption()}.
     * Each other setting may be given once. {@link #build()} checks combinations and names the
     * offending setting.
     */
    public static final class Builder {
        private CaptureSource source;
        private Repository repository;
        private final List<Transform> transforms = new ArrayList<>();
        private Encryption encryption;
        private boolean noEncryption;
        private BackupListener listener = BackupListener.NONE;
        private Clock clock;
        private RandomGenerator random;
        private Executor executor;
        private Boolean pipelining;
        private final Map<String, String> labels = new LinkedHashMap<>();
        private RepositoryLock lock;
        private RateLimit rateLimit;

        private Builder() {
        }

        /**
         * Limits the bytes per second the source writes into the pipeline and the stored bytes per
         * second written to the repository (see {@link RateLimit}); the limit holds for all runs of
         * the built pipeline together. Default: no limit.
         */
        public Builder rateLimit(RateLimit rateLimit) {
            this.rateLimit = once("rateLimit", this.rateLimit, rateLimit);
            return this;
        }

        /**
         * Holds {@code lock} for the whole backup (kept alive while the capture runs and checked
         * before anything is published), so backups on other hosts and expiry, which takes the same
         * lock, never run at the same time as this one. A held lock fails the run at
         * {@link Stage#LOCK}, retryable.
         */
        public Builder lock(RepositoryLock lock) {
            this.lock = once("lock", this.lock, lock);
            return this;
        }

        public Builder source(CaptureSource source) {
            this.source = once("source", this.source, source);
            return this;
        }

        public Builder repository(Repository repository) {
            this.repository = once("repository", this.repository, repository);
            return this;
        }

        /**
         * Compresses with {@code compression} (such as {@code ZstdTransform.level(3)}); it must
         * come before any other transform, and runs on a thread of its own (see {@link
         * #pipelining}).
         */
        public Builder compress(Transform compression) {
            Objects.requireNonNull(compression, "compression");
            if (!transforms.isEmpty()) {
                throw new IllegalStateException("compress: must be the first transform (compressing after "
                        + transforms.get(0).spec().id() + " gains nothing); have " + transforms);
            }
            transforms.add(compression);
            return this;
        }

        /** Adds a custom transform after the ones added so far (and before encryption). */
        public Builder transform(Transform transform) {
            transforms.add(Objects.requireNonNull(transform, "transform"));
            return this;
        }

        /**
         * Encrypts every object with a fresh per-backup data key; always the last transform.
         * Excludes {@link #noEncryption()}.
         */
        public Builder encrypt(Encryption encryption) {
            if (noEncryption) {
                throw new IllegalStateException("encrypt: noEncryption() was already called; choose one of "
                        + ".encrypt(Encryption.with(kek)) and .noEncryption()");
            }
            this.encryption = once("encrypt", this.encryption, encryption);
            return this;
        }

        /**
         * Stores backups without encryption, as a deliberate choice: anyone who can read the
         * repository can read the data. A pipeline must be given either this or
         * {@link #encrypt(Encryption)}; leaving both out fails at {@link #build()}, so that
         * forgetting encryption never silently writes plain-text backups.
         */
        public Builder noEncryption() {
            if (encryption != null) {
                throw new IllegalStateException("noEncryption: encrypt(" + encryption + ") was already called; choose one of "
                        + ".encrypt(Encryption.with(kek)) and .noEncryption()");
            }
            if (noEncryption) {
                throw new IllegalStateException("noEncryption: already called");
            }
            this.noEncryption = true;
            return this;
        }

        /** Adds a listener: the one setting that adds up, every listener given hears every event. */
        public Builder listener(BackupListener listener) {
            this.listener = this.listener.plus(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = once("clock", this.clock, clock);
            return this;
        }

        /** Randomness for backup id suffixes (tests pass a seeded generator). */
        public Builder random(RandomGenerator random) {
            this.random = once("random", this.random, random);
            return this;
        }

        /** Runs the hand-off stage of each stream; the pipeline never shuts it down. */
        public Builder executor(Executor executor) {
            this.executor = once("executor", this.executor, executor);
            return this;
        }

        /**
         * Whether the first transform runs on a thread of its own, between the source's thread and
         * a thread for the rest (default true).
         */
        public Builder pipelining(boolean pipelining) {
            this.pipelining = once("pipelining", this.pipelining, pipelining);
            return this;
        }

        /** A label recorded in the manifest (environment, service, ...). */
        public Builder label(String name, String value) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(value, "value");
            if (labels.containsKey(name)) {
                throw new IllegalStateException("label " + name + ": already set to " + labels.get(name) + ", given again "
                        + value);
            }
            labels.put(name, value);
            return this;
        }

        public BackupPipeline build() {
            if (source == null) {
                throw new IllegalStateException("source: not set; call source(...) with a CaptureSource");
            }
            if (repository == null) {
                throw new IllegalStateException("repository: not set; call repository(...), e.g. Repository.filesystem(path)");
            }
            if (encryption == null && !noEncryption) {
                throw new IllegalStateException("encryption: not chosen; call .encrypt(Encryption.with(kek)) to encrypt "
                        + "every backup, or .noEncryption() to store backups unencrypted on purpose");
            }
            if (encryption != null && noEncryption) {
                throw new IllegalStateException("encryption: both .encrypt(Encryption.with(kek)) and .noEncryption() were "
                        + "given; choose one");
            }
            TransformRegistry known = TransformRegistry.builtIns();
            List<String> compressions = transforms.stream().map(t -> t.spec().id())
                    .filter(i -> known.kind(i) == TransformRegistry.Kind.COMPRESSION).toList();
            if (compressions.size() > 1) {
                throw new IllegalStateException("transforms: compression given " + compressions.size() + " times "
                        + compressions + ", allowed at most once");
            }
            for (Transform t : transforms) {
                if (known.kind(t.spec().id()) == TransformRegistry.Kind.ENCRYPTION) {
                    throw new IllegalStateException("transforms: " + t.spec().id() + " (encryption) was added directly; "
                            + "use encrypt(Encryption) so each backup gets its own wrapped data key");
                }
            }
            return new BackupPipeline(this);
        }

        private static <T> T once(String setting, T current, T value) {
            return Settings.once(setting, current, value);
        }
    }
}
