package dev.backstop.core.internal.chain;

import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.DataSize;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.ObjectBinding;
import dev.backstop.core.Sink;
import dev.backstop.core.StorageException;
import dev.backstop.core.Transform;
import dev.backstop.core.TransformRegistry;
import dev.backstop.core.TransformSpec;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.core.internal.repo.RepositoryStore;
import dev.backstop.core.internal.stream.ForwardingInputStream;
import dev.backstop.core.internal.stream.HashingInputStream;
import dev.backstop.core.internal.stream.PipelinedInputStream;
import dev.backstop.core.internal.validate.ObjectChecks;
import dev.backstop.core.manifest.StoredObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.function.LongConsumer;

/**
 * Decodes stored objects with every check their record allows: the stored bytes' size and
 * SHA-256, each transform's own (AEAD authentication segment by segment, zstd's checksums), and
 * the plaintext's size and SHA-256. The mirror of {@link EncodingChain}; transforms are rebuilt
 * from the recorded {@link TransformSpec}s through a {@link TransformRegistry}.
 *
 * <pre>{@code
 * DecodingChain chain = DecodingChain.builder().pipelining(false).build();
 * StoredObject o = result.toStoredObject(name, key);          // or rebuilt from log metadata
 * try (InputStream in = chain.open(sink, o, Transform.Context.of(binding, () -> dataKey))) {
 *     Files.copy(in, temporaryFile);                          // end-of-stream only once all checks passed
 * }
 * }</pre>
 *
 * <p><b>Guarantees.</b> A stream from this chain delivers end-of-stream only after every check
 * passed and the stored object ended where its record says; otherwise {@code read} throws, never
 * a short result. Corrupted, truncated, extended, moved or wrongly keyed data is an unchecked
 * {@link IntegrityException} naming the object, what was expected and what was found; a failure
 * of the repository while reading is a retryable {@link StorageException}; a missing object a
 * {@link StorageException} that is not retryable; an unknown transform or missing key a {@link
 * BackupException} before any byte is read.
 *
 * <p><b>Threading.</b> Immutable and thread-safe; the streams it returns are single-threaded. With
 * {@link Builder#pipelining} on (the default), an object of at least {@link
 * Builder#pipeliningFrom} stored bytes is read on a second thread of the executor, which hashes
 * the stored bytes and runs the outermost decoder (AEAD), while the reading thread runs the rest
 * (zstd) and the plaintext digest, with at most 4 MiB in flight. Closing the stream early stops
 * the second thread; its failures reach the reader with their type kept.
 */
public final class DecodingChain {
    /** Hand-off chunk: one AEAD segment's worth. */
    private static final int CHUNK = 1 << 20;
    /** Chunks in flight per pipelined stream: enough to ride out uneven stages, 4 MiB at most. */
    private static final int DEPTH = 4;
    private static final DataSize DEFAULT_PIPELINING_FROM = DataSize.ofMiB(8);

    private final TransformRegistry registry;
    private final Executor executor;
    private final boolean pipelining;
    private final DataSize pipeliningFrom;

    private DecodingChain(Builder b) {
        this.registry = b.registry == null ? TransformRegistry.builtIns() : b.registry;
        this.executor = b.executor == null ? DaemonThreads.threadPerTask(DaemonThreads.numbered("backstop-stage")) : b.executor;
        this.pipelining = b.pipelining == null || b.pipelining;
        this.pipeliningFrom = b.pipeliningFrom == null ? DEFAULT_PIPELINING_FROM : b.pipeliningFrom;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The registry this chain resolves recorded transforms with. */
    public TransformRegistry registry() {
        return registry;
    }

    /**
     * Opens {@code object} in {@code sink}, decoded and verified against its record. Transforms
     * are resolved (and keys unwrapped) before the object is opened.
     *
     * @param context the object's binding and, for encrypted objects, its data key
     */
    public InputStream open(Sink sink, StoredObject object, Transform.Context context) {
        return open(sink, object, context, null);
    }

    /**
     * {@link #open(Sink, StoredObject, Transform.Context)}, telling {@code storedRead} (unless
     * null) the count of each read of the stored bytes, as they come from the sink.
     */
    public InputStream open(Sink sink, StoredObject object, Transform.Context context, LongConsumer storedRead) {
        List<Transform> decoders = registry.resolveAll(object.transforms(), context);
        return decode(object, decoders, context.binding(), openRaw(sink, object.key(), backupIdOf(context.binding()), storedRead));
    }

    /**
     * Decodes {@code stored}, the stored bytes of {@code object}, with {@code decoders} (in encode
     * order, as recorded), checking as {@link #open}. The returned stream owns {@code stored} and
     * closes it.
     */
    public InputStream decode(StoredObject object, List<Transform> decoders, ObjectBinding binding, InputStream stored) {
        Objects.requireNonNull(object, "object");
        BackupId id = backupIdOf(binding);
        String key = object.key();
        InputStream guarded = stored instanceof StoreReadGuard ? stored : new StoreReadGuard(stored);
        HashingInputStream storedHash = new HashingInputStream(guarded, key, "stored", object.storedSize(),
                object.storedSha256(), id);
        boolean split = pipelining && !decoders.isEmpty() && object.storedSize() >= pipeliningFrom.bytes();
        // split: a worker thread reads, hashes the stored bytes and runs the outermost decoder
        // (AEAD); the reader's thread runs the rest (zstd) and the plaintext digest
        int workerFrom = split && decoders.size() >= 2 ? decoders.size() - 1 : decoders.size();
        InputStream s = storedHash;
        InputStream tail = storedHash;
        try {
            for (int i = decoders.size() - 1; i >= 0; i--) {
                if (split && i == workerFrom - 1) {
                    s = new PipelinedInputStream(s == storedHash ? storedHash : new DrainingAtEnd(s, storedHash),
                            executor, CHUNK, DEPTH);
                    tail = s;
                }
                s = decoders.get(i).decode(s, binding);
            }
        } catch (IOException e) {
            closeQuietly(s);
            throw ObjectChecks.integrity(key, id, e);
        }
        HashingInputStream plain = new HashingInputStream(s, key, "plaintext", object.plaintextSize(),
                object.plaintextSha256(), id);
        return new VerifyingStream(plain, tail, key, id);
    }

    /**
     * Opens the stored bytes of {@code object} without decoding them, checked against its stored
     * size and SHA-256 (the keyless check); failures as {@link #open}.
     */
    public static InputStream openStored(Sink sink, StoredObject object, ObjectBinding binding) {
        return openStored(sink, object, binding, null);
    }

    /** {@link #openStored(Sink, StoredObject, ObjectBinding)}, counting reads as {@link #open(Sink, StoredObject, Transform.Context, LongConsumer)}. */
    public static InputStream openStored(Sink sink, StoredObject object, ObjectBinding binding, LongConsumer storedRead) {
        BackupId id = backupIdOf(binding);
        HashingInputStream stored = new HashingInputStream(openRaw(sink, object.key(), id, storedRead), object.key(), "stored",
                object.storedSize(), object.storedSha256(), id);
        return new VerifyingStream(stored, stored, object.key(), id);
    }

    /** The raw stored bytes of {@code key}, read failures marked as the repository's; no checks. */
    public static InputStream openRaw(Sink sink, String key, BackupId id) {
        return openRaw(sink, key, id, null);
    }

    private static InputStream openRaw(Sink sink, String key, BackupId id, LongConsumer storedRead) {
        try {
            InputStream in = sink.open(key);
            // counted under the guard, so a failing read is still marked as the repository's
            return new StoreReadGuard(storedRead == null ? in : new CountingRead(in, storedRead));
        } catch (IOException e) {
            boolean missing = RepositoryStore.isMissing(e);
            throw new StorageException(key, missing ? "missing from the repository" : "could not open: " + e, e, !missing, id);
        }
    }


    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // already failing
        }
    }

    /** Reads {@code in} to its end; a verifying stream throws there on extra bytes or a mismatch. */
    private static void drain(InputStream in) throws IOException {
        byte[] rest = new byte[8192];
        while (in.read(rest, 0, rest.length) >= 0) {
            // counted and hashed by the stream itself
        }
    }

    @Override
    public String toString() {
        return "DecodingChain[" + registry + (pipelining ? ", pipelined from " + pipeliningFrom : ", one thread") + "]";
    }

    /**
     * Reads the outermost decoder to its end, then the stored bytes after it, so that the decode
     * thread checks the stored digest before it reports the end.
     */
    private static final class DrainingAtEnd extends ForwardingInputStream {
        private final InputStream stored;

        DrainingAtEnd(InputStream decoded, InputStream stored) {
            super(decoded);
            this.stored = stored;
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

    /**
     * Turns decoder failures into {@link IntegrityException} and repository read failures into
     * {@link StorageException}, and checks the stored bytes at the end ({@code tail}: the stored
     * stream itself, or the hand-off from the thread that reads it).
     */
    private static final class VerifyingStream extends ForwardingInputStream {
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
                throw ObjectChecks.integrity(key, id, e);
            }
        }
    }

    /** Tells a consumer how many bytes each read returned. */
    private static final class CountingRead extends ForwardingInputStream {
        private final LongConsumer counted;

        CountingRead(InputStream in, LongConsumer counted) {
            super(in);
            this.counted = counted;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                counted.accept(n);
            }
            return n;
        }
    }

    /** Marks read failures of the repository, to tell them from corrupted data. */
    private static final class StoreReadFailure extends IOException {
        private static final long serialVersionUID = 1L;

        StoreReadFailure(IOException cause) {
            super(cause.getMessage(), cause);
        }
    }

    private static final class StoreReadGuard extends ForwardingInputStream {
        StoreReadGuard(InputStream in) {
            super(in);
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

    /** Builder for {@link DecodingChain}; each setting may be given once. */
    public static final class Builder {
        private TransformRegistry registry;
        private Executor executor;
        private Boolean pipelining;
        private DataSize pipeliningFrom;

        private Builder() {
        }

        /** Resolves recorded transforms; the built-ins alone ({@link TransformRegistry#builtIns()}) by default. */
        public Builder registry(TransformRegistry registry) {
            this.registry = Settings.onlyOnce("registry", this.registry, registry);
            return this;
        }

        /** Runs the decode thread of each pipelined stream; never shut down by the chain. */
        public Builder executor(Executor executor) {
            this.executor = Settings.onlyOnce("executor", this.executor, executor);
            return this;
        }

        /**
         * Whether a big object is decoded on two threads (true by default). A framed zstd object
         * decompresses on its own decode threads either way. Every check holds either way.
         */
        public Builder pipelining(boolean pipelining) {
            this.pipelining = Settings.onlyOnce("pipelining", this.pipelining, pipelining);
            return this;
        }

        /** Stored size from which {@link #pipelining} starts a thread; 8 MiB by default, below which a thread does not pay. */
        public Builder pipeliningFrom(DataSize storedSize) {
            this.pipeliningFrom = Settings.onlyOnce("pipeliningFrom", this.pipeliningFrom, storedSize);
            return this;
        }

        public DecodingChain build() {
            return new DecodingChain(this);
        }
    }

    /** The backup {@code binding} binds to, or null for a scope that is not a backup (a log stream). */
    private static BackupId backupIdOf(ObjectBinding binding) {
        return BackupId.isValid(binding.scope()) ? BackupId.parse(binding.scope()) : null;
    }
}
