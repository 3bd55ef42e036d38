package dev.backstop.core;

import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.core.transform.ZstdTransform;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
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
import java.security.SecureRandom;

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
 */
public final class BackupPipeline {
    private static final int TOP_BUFFER = 128 * 1024;
    private static final int CHUNK = 256 * 1024;
    private static final int DEPTH = 8;

    private final CaptureSource source;
    private final Repository repository;
    private final List<Transform> transforms;
    private final Encryption encryption;
    private final BackupListener listener;
    private final Clock clock;
    private final RandomGenerator random;
    private final Executor executor;
    private final boolean pipelining;
    private final Map<String, String> labels;
    private final RepositoryLock lock;

    private BackupPipeline(Builder b) {
        this.source = b.source;
        // with encryption, the manifest and key record are authenticated with the repository's metadata key
        this.repository = b.encryption == null ? b.repository : b.repository.withKeys(b.encryption.kek());
        this.transforms = List.copyOf(b.transforms);
        this.encryption = b.encryption;
        this.listener = BackupListener.guarded(b.listener);
        this.clock = b.clock;
        this.random = b.random;
        this.executor = b.executor;
        this.pipelining = b.pipelining;
        this.labels = Map.copyOf(b.labels);
        this.lock = b.lock;
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
        listener.backupStarted(id, source);
        Run run = new Run(id);
        try {
            if (lock != null) {
                run.takeLock();
            }
            Manifest m = run.execute(started);
            listener.backupSucceeded(m);
            return m;
        } catch (BackupException e) {
            run.removeCommitted(e);
            reportFailure(id, e, attempt, retryFollows);
            throw e;
        } catch (RuntimeException | Error e) {
            BackupException be = new BackupException(Stage.CAPTURE, "unexpected failure: " + e, e, false, id);
            run.removeCommitted(be);
            reportFailure(id, be, attempt, retryFollows);
            throw be;
        } finally {
            run.abortUnpublished();
            run.releaseLock();
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
        out.add("objects under " + Repository.dataKey(id, "") + ", manifest last at " + Repository.manifestKey(id));
        try {
            int n = repository.catalog().list().size();
            out.add("repository " + repository.sink() + " readable: " + n + " backups");
        } catch (IOException e) {
            throw StorageException.of(null, "repository " + repository.sink() + " cannot be listed: " + e, e, null);
        } catch (RuntimeException e) {
            throw new StorageException(null, "repository " + repository.sink() + " cannot be listed: " + e, e, true, null);
        }
        String probe = "backups/.probe-" + id.value();
        try (Sink.Upload up = repository.sink().create(probe.replace("/.", "/probe-"), ObjectKind.DATA)) {
            up.stream().write(new byte[] {1});
            out.add("repository writable (probe written and aborted)");
        } catch (IOException e) {
            throw StorageException.of(probe, "repository is not writable: " + e, e, null);
        }
        if (encryption != null) {
            encryption.newDataKey(id);
            out.add("key-encryption key " + encryption.kek().id() + " wraps data keys");
        }
        return out;
    }

    @Override
    public String toString() {
        return "BackupPipeline[" + source + " -> " + transforms + (encryption == null ? "" : " -> " + encryption)
                + " -> " + repository.sink() + "]";
    }

    /** The state of one run: its open uploads and what they have written. */
    private final class Run implements CaptureSource.Streams {
        private final BackupId id;
        private final List<ObjectWriter> writers = new ArrayList<>();
        private final List<Transform> chain = new ArrayList<>(transforms);
        /** Objects this run published (data, then the key record), to remove again if it fails. */
        private final List<String> committed = new ArrayList<>();
        private Encryption.DataKey dataKey;
        private volatile StoreFailure storeFailure;
        private RepositoryLock.Lease lease;
        private LeaseKeeper keeper;

        Run(BackupId id) {
            this.id = id;
        }

        void takeLock() {
            try {
                lease = lock.acquire();
            } catch (BackupException e) {
                throw new BackupException(Stage.LOCK, e.getMessage(), e, e.retryable(), id);
            }
            keeper = LeaseKeeper.start(lease, lock.ttl(), executor);
        }

        /** Before anything is published: the lease must still be ours, or another writer may be running. */
        private void checkLock() {
            if (keeper != null) {
                try {
                    keeper.stopAndCheck();
                } catch (BackupException | IllegalStateException e) {
                    throw new BackupException(Stage.LOCK, "repository lock lost during the backup; nothing published: "
                            + e.getMessage(), e, true, id);
                }
            }
        }

        void releaseLock() {
            if (keeper != null) {
                keeper.stopQuietly();
            }
            if (lease != null) {
                lease.close();
            }
        }

        Manifest execute(Instant started) {
            if (encryption != null) {
                dataKey = encryption.newDataKey(id);
                chain.add(dataKey.transform());
            }
            CaptureResult result;
            try {
                result = source.capture(this);
                if (result == null) {
                    throw new IllegalStateException(source + " returned no CaptureResult");
                }
                for (ObjectWriter w : writers) {
                    if (!w.closed) {
                        throw new IllegalStateException(source + " returned without closing stream '" + w.name + "'");
                    }
                }
            } catch (IOException | RuntimeException e) {
                throw translate(e);
            }
            if (writers.isEmpty()) {
                throw new CaptureException(source + " wrote no stream", null, null, null, id);
            }
            checkLock();
            Manifest.Builder mb = Manifest.builder(id).startedAt(started).source(result.source())
                    .consistency(result.consistency()).labels(labels).attributes(result.attributes());
            result.fingerprints().ifPresent(mb::fingerprints);
            result.requiredLogs().ifPresent(mb::requiredLogs);
            List<TransformSpec> specs = chain.stream().map(Transform::spec).toList();
            for (ObjectWriter w : writers) {
                try {
                    committed.add(w.key);
                    w.upload.commit();
                } catch (IOException e) {
                    throw StorageException.of(w.key, "commit failed: " + e, e, id);
                }
                StoredObject so = new StoredObject(w.name, w.key, w.plain.count(), w.plain.digest(), w.stored.count(),
                        w.stored.digest(), specs);
                mb.addObject(so);
                listener.objectStored(id, so);
            }
            if (dataKey != null) {
                try {
                    committed.add(Repository.dataKeyObject(id));
                    Encryption.storeDataKey(repository, dataKey);
                } catch (IOException e) {
                    throw StorageException.of(Repository.dataKeyObject(id), "could not store the wrapped data key: " + e, e, id);
                }
                mb.encryption(new EncryptionInfo(dataKey.transform().spec().require("algorithm"), dataKey.kekId(),
                        Repository.dataKeyObject(id)));
            }
            Manifest m = mb.finishedAt(clock.instant()).build();
            try {
                repository.catalog().put(m);
            } catch (IOException e) {
                throw StorageException.of(Repository.manifestKey(id), "could not write the manifest: " + e, e, id);
            }
            return m;
        }

        private BackupException translate(Exception e) {
            StoreFailure sf = storeFailure;
            if (sf != null) {
                StorageException se = StorageException.of(sf.key, "write failed: " + sf.getCause(), (IOException) sf.getCause(), id);
                if (e != sf && !(e.getCause() == sf)) {
                    se.addSuppressed(e);
                }
                return se;
            }
            if (e instanceof BackupException be) {
                return be;
            }
            if (e instanceof CaptureFailedException cf) {
                return new CaptureException(cf.getMessage(), cf.exitCode(), cf.stderrTail(), cf, id, cf.retryable());
            }
            if (e instanceof IllegalStateException || e instanceof IllegalArgumentException) {
                return new BackupException(Stage.CAPTURE, e.getMessage(), e, false, id);
            }
            return new CaptureException("capture by " + source + " failed: " + e, null, null, e, id, refused(e));
        }

        /**
         * Whether a source's unclassified failure was a refused connection: the server was down
         * or restarting, which a later attempt may find over.
         */
        private static boolean refused(Throwable e) {
            for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
                if (t instanceof java.net.ConnectException) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public OutputStream open(String name) throws IOException {
            if (name == null || !name.matches(Repository.STREAM_NAME) || name.equals(Repository.MANIFEST)
                    || name.equals("validations")) {
                throw new IllegalArgumentException("stream name: got '" + name
                        + "', need 1..128 of [A-Za-z0-9._-] starting with a letter or digit, not 'manifest.json' or 'validations'");
            }
            for (ObjectWriter w : writers) {
                if (w.name.equals(name)) {
                    throw new IllegalArgumentException("stream name '" + name + "' opened twice in backup " + id);
                }
            }
            String key = Repository.dataKey(id, name);
            Sink.Upload upload;
            try {
                upload = repository.sink().create(key, ObjectKind.DATA);
            } catch (IOException e) {
                storeFailure = new StoreFailure(key, e);
                throw storeFailure;
            }
            ObjectWriter w = new ObjectWriter(name, key, upload);
            writers.add(w);
            try {
                w.build(chain, ObjectBinding.of(id, key));
            } catch (IOException | RuntimeException e) {
                w.abort();
                throw e;
            }
            return w.top;
        }

        /**
         * After a failure: deletes what this run published, best effort. If the manifest is there
         * (a write reported failed that landed) or its absence cannot be established, nothing is
         * deleted, since a visible backup may point to the objects.
         */
        void removeCommitted(BackupException failure) {
            if (committed.isEmpty()) {
                return;
            }
            try {
                if (!repository.sink().list(Repository.manifestKey(id)).isEmpty()) {
                    return;
                }
            } catch (IOException | RuntimeException e) {
                failure.addSuppressed(e);
                return;
            }
            for (String key : committed) {
                try {
                    repository.sink().delete(key);
                } catch (IOException | RuntimeException e) {
                    failure.addSuppressed(new StorageException(key, "could not remove it after the failed backup; "
                            + "Repository.removeOrphans will: " + e, e, true, id));
                }
            }
        }

        void abortUnpublished() {
            for (ObjectWriter w : writers) {
                w.abort();
            }
        }

        /** One stream of the backup: taps, transforms and its upload. */
        private final class ObjectWriter {
            final String name;
            final String key;
            final Sink.Upload upload;
            HashingOutputStream plain;
            HashingOutputStream stored;
            PipelinedOutputStream handoff;
            PipelinedOutputStream handoffIn;
            OutputStream head;
            OutputStream top;
            volatile boolean closed;

            ObjectWriter(String name, String key, Sink.Upload upload) {
                this.name = name;
                this.key = key;
                this.upload = upload;
            }

            void build(List<Transform> chain, ObjectBinding binding) throws IOException {
                stored = new HashingOutputStream(new StoreGuard(upload.stream(), key));
                OutputStream s = stored;
                for (int i = chain.size() - 1; i >= 1; i--) {
                    s = chain.get(i).encode(s, binding);
                }
                // with pipelining, three threads: the source and the plaintext SHA-256; the first
                // transform (zstd, the expensive one) alone; the rest (AEAD, stored SHA-256, I/O)
                if (pipelining && !chain.isEmpty()) {
                    handoff = new PipelinedOutputStream(s, executor, CHUNK, DEPTH);
                    s = handoff;
                }
                if (!chain.isEmpty()) {
                    head = chain.get(0).encode(s, binding);
                    s = head;
                }
                if (pipelining && !chain.isEmpty()) {
                    handoffIn = new PipelinedOutputStream(s, executor, CHUNK, DEPTH);
                    s = handoffIn;
                }
                // without transforms the stored bytes are the plaintext: one digest serves both
                plain = chain.isEmpty() ? stored : new HashingOutputStream(s);
                top = new BufferedOutputStream(plain, TOP_BUFFER) {
                    @Override
                    public void close() throws IOException {
                        if (!closed) {
                            super.close();
                            closed = true;
                        }
                    }
                };
            }

            /**
             * Discards the upload (a no-op after commit), stops the hand-off threads and closes the
             * first encoder, which may hold native memory (zstd-jni's streams have no finalizer).
             */
            void abort() {
                if (!closed) {
                    for (PipelinedOutputStream p : new PipelinedOutputStream[] {handoffIn, handoff}) {
                        if (p != null) {
                            p.cancel();
                        }
                    }
                    for (PipelinedOutputStream p : new PipelinedOutputStream[] {handoffIn, handoff}) {
                        if (p != null) {
                            p.awaitStopped(10_000);
                        }
                    }
                    if (head != null) {
                        try {
                            head.close();
                        } catch (IOException | RuntimeException ignored) {
                            // its downstream is cancelled; closing only frees the encoder
                        }
                    }
                }
                upload.close();
            }
        }

        /** Marks failures of the repository's stream, so they are reported as storage failures. */
        private final class StoreGuard extends OutputStream {
            private final OutputStream out;
            private final String key;

            StoreGuard(OutputStream out, String key) {
                this.out = out;
                this.key = key;
            }

            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                try {
                    out.write(b, off, len);
                } catch (IOException e) {
                    throw fail(e);
                }
            }

            @Override
            public void flush() throws IOException {
                try {
                    out.flush();
                } catch (IOException e) {
                    throw fail(e);
                }
            }

            @Override
            public void close() throws IOException {
                try {
                    out.close();
                } catch (IOException e) {
                    throw fail(e);
                }
            }

            private StoreFailure fail(IOException e) {
                StoreFailure f = new StoreFailure(key, e);
                if (storeFailure == null) {
                    storeFailure = f;
                }
                return f;
            }
        }
    }

    /** An I/O failure of the repository, as opposed to one of the source. */
    private static final class StoreFailure extends IOException {
        private static final long serialVersionUID = 1L;
        final String key;

        StoreFailure(String key, IOException cause) {
            super("repository write of " + key + " failed: " + cause.getMessage(), cause);
            this.key = key;
        }
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
        private Clock clock = Clock.systemUTC();
        private RandomGenerator random = new SecureRandom();
        private Executor executor = DaemonThreads.threadPerTask(DaemonThreads.numbered("backstop-stage"));
        private boolean pipelining = true;
        private final Map<String, String> labels = new LinkedHashMap<>();
        private RepositoryLock lock;

        private Builder() {
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

        /** Compresses with zstd; must come before any other transform. */
        public Builder compress(ZstdTransform zstd) {
            Objects.requireNonNull(zstd, "zstd");
            if (!transforms.isEmpty()) {
                throw new IllegalStateException("compress: must be the first transform (compressing after "
                        + transforms.get(0).spec().id() + " gains nothing); have " + transforms);
            }
            transforms.add(zstd);
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

        public Builder listener(BackupListener listener) {
            this.listener = this.listener.plus(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Randomness for backup id suffixes (tests pass a seeded generator). */
        public Builder random(RandomGenerator random) {
            this.random = Objects.requireNonNull(random, "random");
            return this;
        }

        /** Runs the hand-off stage of each stream; the pipeline never shuts it down. */
        public Builder executor(Executor executor) {
            this.executor = Objects.requireNonNull(executor, "executor");
            return this;
        }

        /**
         * Whether the first transform runs on a thread of its own, between the source's thread and
         * a thread for the rest (default true).
         */
        public Builder pipelining(boolean pipelining) {
            this.pipelining = pipelining;
            return this;
        }

        /** A label recorded in the manifest (environment, service, ...). */
        public Builder label(String name, String value) {
            labels.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
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
            long zstds = transforms.stream().filter(t -> ZstdTransform.ID.equals(t.spec().id())).count();
            if (zstds > 1) {
                throw new IllegalStateException("transforms: zstd given " + zstds + " times, allowed at most once");
            }
            for (Transform t : transforms) {
                if ("aead".equals(t.spec().id())) {
                    throw new IllegalStateException("transforms: an aead transform was added directly; use encrypt(Encryption) "
                            + "so each backup gets its own wrapped data key");
                }
            }
            return new BackupPipeline(this);
        }

        private static <T> T once(String setting, T current, T value) {
            Objects.requireNonNull(value, setting);
            if (current != null) {
                throw new IllegalStateException(setting + ": already set to " + current + ", given again " + value);
            }
            return value;
        }
    }
}
