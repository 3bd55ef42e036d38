package dev.backstop.core.internal.chain;

import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.Digest;
import dev.backstop.core.ObjectBinding;
import dev.backstop.core.ObjectExistsException;
import dev.backstop.core.Sink;
import dev.backstop.core.Transform;
import dev.backstop.core.TransformSpec;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.core.internal.stream.HashingOutputStream;
import dev.backstop.core.internal.stream.PipelinedOutputStream;
import dev.backstop.core.manifest.StoredObject;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executor;

/**
 * Encodes objects into a repository: a list of {@link Transform}s in encode order, with the two
 * digests every stored object carries (plaintext and stored bytes, size and SHA-256) and,
 * optionally, hand-off threads between the stages. The mirror of {@link DecodingChain}.
 *
 * <pre>{@code
 * EncodingChain chain = EncodingChain.builder().transforms(List.of(zstd, dataKey)).pipelining(false).build();
 * try (EncodingChain.Encoder enc = chain.open(sink.create(key, ObjectKind.LOG), new ObjectBinding(scope, key))) {
 *     Files.copy(segment, enc.stream());
 *     EncodingChain.Result r = enc.commit();   // sizes and digests for the metadata
 * }
 * }</pre>
 *
 * <p><b>Guarantees.</b> Nothing becomes visible before {@link Encoder#commit()}: closing the
 * encoder (or its stream) without it leaves no object. A failure of the upload's own stream is
 * kept by the encoder ({@link Encoder#storageFailure()}), so a caller can tell a repository that
 * failed from a source or transform that did, whatever the exception that reached it.
 *
 * <p><b>Threading.</b> Immutable; one chain encodes many objects concurrently. With {@link
 * Builder#pipelining} (the default) and at least one transform, each object uses two threads of
 * the executor: the writing thread hashes the plaintext, one thread runs the first transform
 * (compression) alone, one the rest (encryption, stored digest, upload writes). Without it,
 * everything runs on the writing thread, which suits small objects. An {@link Encoder} is used by
 * one thread.
 */
public final class EncodingChain {
    /** The source's writes are batched before hashing and hand-off. */
    private static final int TOP_BUFFER = 128 * 1024;
    private static final int CHUNK = 256 * 1024;
    private static final int DEPTH = 8;
    /** How long an abort waits for a hand-off thread to stop. */
    private static final long STOP_WAIT_MILLIS = 10_000;

    private final List<Transform> transforms;
    private final List<TransformSpec> specs;
    private final Executor executor;
    private final boolean pipelining;

    private EncodingChain(Builder b) {
        this.transforms = b.transforms == null ? List.of() : b.transforms;
        this.specs = transforms.stream().map(Transform::spec).toList();
        this.executor = b.executor == null ? DaemonThreads.threadPerTask(DaemonThreads.numbered("backstop-stage")) : b.executor;
        this.pipelining = b.pipelining;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The transforms in encode order. */
    public List<Transform> transforms() {
        return transforms;
    }

    /** What each object records about its transforms, in encode order. */
    public List<TransformSpec> specs() {
        return specs;
    }

    /**
     * Starts encoding one object into {@code upload}, which the encoder owns from here: it commits
     * it in {@link Encoder#commit()} and aborts it in {@link Encoder#close()} otherwise (also when
     * this method throws).
     *
     * @param binding the object's identity; encryption binds the ciphertext to it
     */
    public Encoder open(Sink.Upload upload, ObjectBinding binding) throws IOException {
        Objects.requireNonNull(upload, "upload");
        Objects.requireNonNull(binding, "binding");
        Encoder e = new Encoder(upload, binding.objectKey());
        try {
            e.build(binding);
        } catch (IOException | RuntimeException ex) {
            e.close();
            // an encoder may write its header at once (AEAD does): the repository's failure is the cause
            if (e.storeFailure != null) {
                throw e.storeFailure;
            }
            throw ex;
        }
        return e;
    }

    @Override
    public String toString() {
        return "EncodingChain" + transforms + (pipelining ? "" : " (one thread)");
    }

    /** What encoding one object produced: what a {@link StoredObject} records. */
    public record Result(long plaintextSize, Digest plaintextSha256, long storedSize, Digest storedSha256,
                         List<TransformSpec> transforms) {
        public Result {
            Objects.requireNonNull(plaintextSha256, "plaintextSha256");
            Objects.requireNonNull(storedSha256, "storedSha256");
            transforms = List.copyOf(transforms);
        }

        /** The manifest entry of this object, stored as stream {@code name} under {@code key}. */
        public StoredObject toStoredObject(String name, String key) {
            return new StoredObject(name, key, plaintextSize, plaintextSha256, storedSize, storedSha256, transforms);
        }
    }

    /**
     * One object being encoded: write the plaintext to {@link #stream()}, then {@link #commit()}.
     * Closing the stream finishes the encoding without publishing anything.
     */
    public final class Encoder implements AutoCloseable {
        private final Sink.Upload upload;
        private final String key;
        private HashingOutputStream plain;
        private HashingOutputStream stored;
        private PipelinedOutputStream handoff;
        private PipelinedOutputStream handoffIn;
        private OutputStream head;
        private OutputStream top;
        private volatile boolean finished;
        private volatile StoreFailure storeFailure;
        private boolean committed;
        private boolean closed;

        private Encoder(Sink.Upload upload, String key) {
            this.upload = upload;
            this.key = key;
        }

        private void build(ObjectBinding binding) throws IOException {
            stored = new HashingOutputStream(new StoreGuard(upload.stream()));
            OutputStream s = stored;
            for (int i = transforms.size() - 1; i >= 1; i--) {
                s = transforms.get(i).encode(s, binding);
            }
            boolean split = pipelining && !transforms.isEmpty();
            // with pipelining, three threads: the writer and the plaintext SHA-256; the first
            // transform (zstd, the expensive one) alone; the rest (AEAD, stored SHA-256, I/O)
            if (split) {
                handoff = new PipelinedOutputStream(s, executor, CHUNK, DEPTH);
                s = handoff;
            }
            if (!transforms.isEmpty()) {
                head = transforms.get(0).encode(s, binding);
                s = head;
            }
            if (split) {
                handoffIn = new PipelinedOutputStream(s, executor, CHUNK, DEPTH);
                s = handoffIn;
            }
            // without transforms the stored bytes are the plaintext: one digest serves both
            plain = transforms.isEmpty() ? stored : new HashingOutputStream(s);
            top = new BufferedOutputStream(plain, TOP_BUFFER) {
                @Override
                public void close() throws IOException {
                    if (!finished) {
                        super.close();
                        finished = true;
                    }
                }
            };
        }

        /**
         * Where the plaintext goes. Closing it finishes the encoding (flushes every stage into
         * the upload) but publishes nothing.
         */
        public OutputStream stream() {
            return top;
        }

        /** Whether {@link #stream()} was closed successfully, so the object is fully encoded. */
        public boolean finished() {
            return finished;
        }

        /**
         * The first failure of the upload's stream, if any: an {@link IOException} naming the
         * object whose cause is the sink's own exception. Present means the repository failed,
         * whatever a transform or the writer made of the exception on its way up.
         */
        public Optional<IOException> storageFailure() {
            return Optional.ofNullable(storeFailure);
        }

        /**
         * The sizes and digests of the encoded object.
         *
         * @throws IllegalStateException if the stream has not been closed yet
         */
        public Result result() {
            if (!finished) {
                throw new IllegalStateException("object " + key + ": stream not closed yet, so not fully encoded");
            }
            return new Result(plain.count(), plain.digest(), stored.count(), stored.digest(), specs);
        }

        /**
         * Finishes the encoding if the stream is still open, then publishes the object.
         *
         * @throws IOException if finishing fails (see {@link #storageFailure()} for whose fault)
         *     or the sink refuses the commit ({@link ObjectExistsException} among others)
         */
        public Result commit() throws IOException {
            if (closed) {
                throw new IllegalStateException("object " + key + ": encoder already closed");
            }
            if (!finished) {
                top.close();
            }
            Result r = result();
            upload.commit();
            committed = true;
            return r;
        }

        /**
         * Aborts unless committed: discards the upload, stops the hand-off threads and closes
         * the first encoder, which may hold native memory (zstd-jni's streams have no finalizer).
         * Safe to call twice.
         */
        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            if (!finished) {
                for (PipelinedOutputStream p : new PipelinedOutputStream[] {handoffIn, handoff}) {
                    if (p != null) {
                        p.cancel();
                    }
                }
                for (PipelinedOutputStream p : new PipelinedOutputStream[] {handoffIn, handoff}) {
                    if (p != null) {
                        p.awaitStopped(STOP_WAIT_MILLIS);
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
            if (!committed) {
                upload.close();
            }
        }

        /** Marks failures of the upload's stream, so they are reported as storage failures. */
        private final class StoreGuard extends OutputStream {
            private final OutputStream out;

            StoreGuard(OutputStream out) {
                this.out = out;
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

    /** An I/O failure of the repository, as opposed to one of the source or a transform. */
    public static final class StoreFailure extends IOException {
        private static final long serialVersionUID = 1L;
        public final String key;

        public StoreFailure(String key, IOException cause) {
            super("repository write of " + key + " failed: " + cause.getMessage(), cause);
            this.key = key;
        }
    }

    /** Builder for {@link EncodingChain}; each setting may be given once. */
    public static final class Builder {
        private List<Transform> transforms;
        private Executor executor;
        private Boolean pipeliningSet;
        private boolean pipelining = true;

        private Builder() {
        }

        /** The transforms in encode order (none: the stored bytes are the plaintext). */
        public Builder transforms(List<? extends Transform> transforms) {
            List<Transform> copy = List.copyOf(Objects.requireNonNull(transforms, "transforms"));
            this.transforms = Settings.onlyOnce("transforms", this.transforms, copy);
            return this;
        }

        /** Runs the hand-off stages; never shut down by the chain. A default executor starts daemon threads. */
        public Builder executor(Executor executor) {
            this.executor = Settings.onlyOnce("executor", this.executor, executor);
            return this;
        }

        /**
         * Whether the first transform runs on a thread of its own, between the writer's thread and
         * a thread for the rest (default true). False keeps every stage on the writer's thread.
         */
        public Builder pipelining(boolean pipelining) {
            this.pipeliningSet = Settings.onlyOnce("pipelining", this.pipeliningSet, pipelining);
            this.pipelining = pipelining;
            return this;
        }

        public EncodingChain build() {
            return new EncodingChain(this);
        }
    }
}
