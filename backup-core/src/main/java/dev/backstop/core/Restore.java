package dev.backstop.core;

import dev.backstop.core.crypto.AeadTransform;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.core.transform.ZstdTransform;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.function.Function;

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
 */
public final class Restore {
    /** Hand-off chunk: one AEAD segment's worth. */
    private static final int CHUNK = 1 << 20;
    /** Chunks in flight per pipelined stream: enough to ride out uneven stages, 4 MiB at most. */
    private static final int DEPTH = 4;

    private final Repository repository;
    private final Encryption encryption;
    private final BackupListener listener;
    private final Clock clock;
    private final Map<String, Function<TransformSpec, Transform>> decoders;
    private final boolean pipelining;
    private final DataSize pipeliningFrom;
    private final Executor executor;
    private final boolean allowUnencrypted;
    /** Set only by {@link Encryption#upgrade}: manifests are checked by decoding, not admitted. */
    private final boolean upgrading;

    private Restore(Builder b, boolean upgrading) {
        this.pipelining = b.pipelining;
        this.pipeliningFrom = b.pipeliningFrom;
        this.executor = b.executor;
        this.allowUnencrypted = b.allowUnencrypted;
        this.upgrading = upgrading;
        this.repository = b.kek == null ? b.repository : b.repository.withKeys(b.kek, b.allowUnencrypted);
        this.encryption = b.kek == null ? null : Encryption.with(b.kek);
        this.listener = BackupListener.guarded(b.listener);
        this.clock = b.clock;
        this.decoders = Map.copyOf(b.decoders);
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
            Manifest m = all.get(all.size() - 1);
            return admit(m.id(), m);
        } catch (IOException e) {
            throw StorageException.of(null, "could not list backups: " + e, e, null);
        }
    }

    /**
     * Checks that {@code given} (or, if null, whatever is stored) is the manifest stored for
     * {@code id} and may be trusted; returns the stored one.
     *
     * <ul>
     *   <li>Always: its checksum, and that it names the id it is stored under.
     *   <li>With keys: its authentication tag by the repository's metadata key, bound to its key
     *       and id; an unauthenticated manifest is accepted only if it has no encryption section
     *       and {@link Builder#allowUnencrypted} was called.
     *   <li>Without keys, in a repository that has a metadata key (it was written with keys): a
     *       manifest without an authentication member is refused unless {@link
     *       Builder#allowUnencrypted} was called. This stops a downgrade to a forged unencrypted
     *       backup only as long as nobody deleted the key record; only a keyed restore is sure.
     * </ul>
     *
     * @throws IntegrityException naming the manifest if any check fails
     */
    private Manifest admit(BackupId id, Manifest given) {
        String key = Repository.manifestKey(id);
        Manifest stored;
        try {
            stored = repository.catalog().get(id).orElseThrow(() -> new BackupException(Stage.CATALOG,
                    "backup " + id + " does not exist (no manifest in " + repository.sink() + ")", null, false, id));
            if (!repository.keyed() && !allowUnencrypted && MetadataKey.exists(repository)
                    && !((SinkCatalog) repository.catalog()).sealed(id)) {
                throw new IntegrityException(key, "manifest authentication", "an authenticated manifest, as every manifest "
                        + "of this repository (it has " + MetadataKey.OBJECT + ")", "none: an unauthenticated manifest"
                        + " (forged or downgraded?); Restore.Builder.allowUnencrypted() accepts it", null, id);
            }
        } catch (IOException e) {
            throw StorageException.of(key, "could not read manifest: " + e, e, id);
        }
        if (given != null && !ManifestFormat.sameContent(stored, given)) {
            throw new IntegrityException(key, "manifest", "the manifest stored for " + id,
                    "a manifest that differs from it (edited in memory or read from elsewhere)", null, id);
        }
        return stored;
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
        return open(m, o);
    }

    private InputStream open(Manifest m, StoredObject o) {
        ObjectBinding binding = ObjectBinding.of(m.id(), o.key());
        List<Transform> chain = decodersFor(m, o);
        InputStream raw = openStored(m.id(), o.key());
        HashingInputStream stored = new HashingInputStream(raw, o.key(), "stored", o.storedSize(), o.storedSha256(), m.id());
        boolean split = pipelining && !chain.isEmpty() && o.storedSize() >= pipeliningFrom.bytes();
        // split: a worker thread reads, hashes the stored bytes and runs the outermost decoder
        // (AEAD); the reader's thread runs the rest (zstd) and the plaintext digest
        int workerFrom = split && chain.size() >= 2 ? chain.size() - 1 : chain.size();
        InputStream s = stored;
        InputStream tail = stored;
        try {
            for (int i = chain.size() - 1; i >= 0; i--) {
                if (split && i == workerFrom - 1) {
                    s = new PipelinedInputStream(s == stored ? stored : new DrainingAtEnd(s, stored), executor, CHUNK, DEPTH);
                    tail = s;
                }
                s = chain.get(i).decode(s, binding);
            }
        } catch (IOException e) {
            closeQuietly(s);
            throw integrity(o.key(), m.id(), e);
        }
        HashingInputStream plain = new HashingInputStream(s, o.key(), "plaintext", o.plaintextSize(), o.plaintextSha256(), m.id());
        return new VerifyingStream(plain, tail, o.key(), m.id());
    }

    /**
     * Writes stream {@code name} to {@code target}, which appears only once every check passed
     * (written to a temporary file beside it, then moved). Returns the bytes written.
     */
    public long toFile(Manifest m, String name, Path target) {
        Instant start = clock.instant();
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, "." + target.getFileName(), ".restoring");
            long n;
            try (InputStream in = open(m, name); OutputStream out = Files.newOutputStream(tmp)) {
                n = in.transferTo(out);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            listener.restoreFinished(m.id(), n, Duration.between(start, clock.instant()));
            return n;
        } catch (IOException e) {
            throw new BackupException(Stage.RESTORE, "could not write " + target + ": " + e, e, false, m.id());
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a leftover temporary file never looks like the target
                }
            }
        }
    }

    /** Copies stream {@code name} decoded into {@code out} (not closed). Checks as {@link #open}. */
    public long copyTo(Manifest m, String name, OutputStream out) {
        Instant start = clock.instant();
        try (InputStream in = open(m, name)) {
            long n = in.transferTo(out);
            listener.restoreFinished(m.id(), n, Duration.between(start, clock.instant()));
            return n;
        } catch (IOException e) {
            throw new BackupException(Stage.RESTORE, "could not write stream " + name + " of " + m.id() + ": " + e, e, false, m.id());
        }
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
        admit(m);
        ValidationResult r = check(m, "full-decode", o -> {
            try (InputStream in = open(m, o)) {
                in.transferTo(OutputStream.nullOutputStream());
            }
        });
        if (recording == Recording.RECORD) {
            repository.recordValidation(r);
        }
        return r;
    }

    /**
     * Checks the stored size and SHA-256 of every object; needs no keys and records nothing.
     * Stored digests can be rewritten together with the data by whoever can write the
     * repository, so a passed result here does not make a backup verified: that takes
     * {@link #verify(Manifest)}. (Should a caller record it anyway, a keyless record never makes a
     * backup verified in a repository written with keys: see {@link Repository#recordValidation}.)
     */
    public ValidationResult verifyStored(Manifest m) {
        admit(m);
        return check(m, Repository.KEYLESS_CHECK, o -> {
            try (InputStream in = new HashingInputStream(openStored(m.id(), o.key()), o.key(), "stored", o.storedSize(),
                    o.storedSha256(), m.id())) {
                in.transferTo(OutputStream.nullOutputStream());
            }
        });
    }

    private interface ObjectCheck {
        void run(StoredObject o) throws IOException;
    }

    private ValidationResult check(Manifest m, String name, ObjectCheck check) {
        Instant start = clock.instant();
        List<String> findings = new ArrayList<>();
        long bytes = 0;
        for (StoredObject o : m.objects()) {
            try {
                check.run(o);
                bytes += o.storedSize();
            } catch (IntegrityException e) {
                findings.add(e.getMessage());
            } catch (BackupException e) {
                if (e.retryable()) {
                    throw e;
                }
                findings.add(e.getMessage());
            } catch (IOException e) {
                findings.add(integrity(o.key(), m.id(), e).getMessage());
            }
        }
        Instant end = clock.instant();
        ValidationResult r = new ValidationResult(m.id(), name, end, Duration.between(start, end), findings,
                Map.of("objects", Integer.toString(m.objects().size()), "storedBytesChecked", Long.toString(bytes)));
        listener.validated(r);
        return r;
    }

    /** The raw stored bytes of an object; no checks. */
    public InputStream openStored(BackupId id, String key) {
        try {
            return new StoreReadGuard(repository.sink().open(key), key, id);
        } catch (IOException e) {
            throw new StorageException(key, Repository.isMissing(e) ? "missing from the repository" : "could not open: " + e, e,
                    !Repository.isMissing(e), id);
        }
    }

    private List<Transform> decodersFor(Manifest m, StoredObject o) {
        List<Transform> chain = new ArrayList<>();
        for (TransformSpec spec : o.transforms()) {
            if (ZstdTransform.ID.equals(spec.id())) {
                chain.add(ZstdTransform.fromSpec(spec));
            } else if (AeadTransform.ID.equals(spec.id())) {
                if (m.encryption().isEmpty()) {
                    throw new IntegrityException(o.key(), "encryption record", "an encryption section for an aead object",
                            "none (manifest inconsistent)", null, m.id());
                }
                if (encryption == null) {
                    throw new BackupException(Stage.KEY, "backup " + m.id() + " is encrypted (data key wrapped by "
                            + m.encryption().get().kekId() + ") but this Restore was built without keys(...)", null, false, m.id());
                }
                chain.add(encryption.openDataKey(repository, m));
            } else if (decoders.containsKey(spec.id())) {
                chain.add(decoders.get(spec.id()).apply(spec));
            } else {
                throw new BackupException(Stage.TRANSFORM, "object " + o.key() + " uses transform '" + spec.id()
                        + "', unknown here; register it with Restore.builder().decoder(...)", null, false, m.id());
            }
        }
        return chain;
    }

    private static IntegrityException integrity(String key, BackupId id, IOException e) {
        return new IntegrityException(key, "decoding", "authentic, complete data",
                "failure: " + e.getMessage() + " (corrupted, truncated, moved or wrongly keyed)", e, id);
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // already failing
        }
    }

    /**
     * Reads the outermost decoder to its end, then the stored bytes after it, so that the decode
     * thread checks the stored digest before it reports the end.
     */
    private static final class DrainingAtEnd extends FilterInputStream {
        private final InputStream stored;

        DrainingAtEnd(InputStream decoded, InputStream stored) {
            super(decoded);
            this.stored = stored;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n < 0) {
                drain(stored);
            }
            return n;
        }
    }

    /** Reads {@code in} to its end; a verifying stream throws there on extra bytes or a mismatch. */
    private static void drain(InputStream in) throws IOException {
        byte[] rest = new byte[8192];
        while (in.read(rest, 0, rest.length) >= 0) {
            // counted and hashed by the stream itself
        }
    }

    /**
     * Turns decoder failures into {@link IntegrityException}, and checks stored bytes at the end
     * ({@code tail}: the stored stream itself, or the hand-off from the thread that reads it).
     */
    private static final class VerifyingStream extends FilterInputStream {
        private final InputStream tail;
        private final String key;
        private final BackupId id;

        VerifyingStream(HashingInputStream plain, InputStream tail, String key, BackupId id) {
            super(plain);
            this.tail = tail;
            this.key = key;
            this.id = id;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                int n = in.read(b, off, len);
                if (n < 0) {
                    // the decoders may stop before the stored stream ends: anything after must not
                    // exist, and a decode thread's failure must surface here, not as the end
                    drain(tail);
                }
                return n;
            } catch (InterruptedIOException e) {
                throw e;
            } catch (StoreReadFailure e) {
                throw new StorageException(key, "read failed: " + e.getCause(), e.getCause(), true, id);
            } catch (IOException e) {
                if (e.getCause() instanceof StoreReadFailure f) {
                    throw new StorageException(key, "read failed: " + f.getCause(), f.getCause(), true, id);
                }
                throw integrity(key, id, e);
            }
        }

        @Override
        public long skip(long n) throws IOException {
            byte[] buf = new byte[(int) Math.min(Math.max(n, 0), 8192)];
            int r = read(buf, 0, buf.length);
            return Math.max(r, 0);
        }
    }

    /** Marks read failures of the repository, to tell them from corrupted data. */
    private static final class StoreReadFailure extends IOException {
        private static final long serialVersionUID = 1L;

        StoreReadFailure(IOException cause) {
            super(cause.getMessage(), cause);
        }
    }

    private static final class StoreReadGuard extends FilterInputStream {
        StoreReadGuard(InputStream in, String key, BackupId id) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            try {
                return in.read();
            } catch (IOException e) {
                throw new StoreReadFailure(e);
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return in.read(b, off, len);
            } catch (IOException e) {
                throw new StoreReadFailure(e);
            }
        }
    }

    private static final DataSize DEFAULT_PIPELINING_FROM = DataSize.ofMiB(8);

    /** Builder for {@link Restore}; the repository is required. */
    public static final class Builder {
        private Repository repository;
        private KeyEncryptionKey kek;
        private BackupListener listener = BackupListener.NONE;
        private Clock clock = Clock.systemUTC();
        private final Map<String, Function<TransformSpec, Transform>> decoders = new HashMap<>();
        private boolean pipelining = true;
        private DataSize pipeliningFrom = DEFAULT_PIPELINING_FROM;
        private Executor executor = DaemonThreads.threadPerTask(DaemonThreads.numbered("backstop-stage"));
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
            this.allowUnencrypted = true;
            return this;
        }

        /**
         * Whether a big object is decoded on two threads (true by default): one reads it and runs
         * the stored-bytes SHA-256 and the decryption, the reading thread decompresses and runs the
         * plaintext SHA-256, with at most 4 MiB in flight between them. A framed zstd object (see
         * {@link ZstdTransform}) decompresses on its own decode threads either way, leaving the
         * reading thread the plaintext SHA-256. Every check holds either way; false keeps each
         * stream's other stages on the reading thread.
         */
        public Builder pipelining(boolean pipelining) {
            this.pipelining = pipelining;
            return this;
        }

        /** Stored size from which {@link #pipelining} starts a thread; 8 MiB by default, below which a thread does not pay. */
        public Builder pipeliningFrom(DataSize storedSize) {
            this.pipeliningFrom = Objects.requireNonNull(storedSize, "storedSize");
            return this;
        }

        /** Runs the decode thread of each pipelined stream; the restore never shuts it down. */
        public Builder executor(Executor executor) {
            this.executor = Objects.requireNonNull(executor, "executor");
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

        public Builder listener(BackupListener listener) {
            this.listener = this.listener.plus(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Rebuilds a custom transform from its manifest entry, for backups written with one. */
        public Builder decoder(String transformId, Function<TransformSpec, Transform> factory) {
            if (ZstdTransform.ID.equals(transformId) || AeadTransform.ID.equals(transformId)) {
                throw new IllegalArgumentException("decoder: '" + transformId + "' is built in and cannot be replaced");
            }
            decoders.put(Objects.requireNonNull(transformId, "transformId"), Objects.requireNonNull(factory, "factory"));
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
