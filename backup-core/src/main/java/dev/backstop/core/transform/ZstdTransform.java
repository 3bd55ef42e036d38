package dev.backstop.core.transform;

import com.github.luben.zstd.RecyclingBufferPool;
import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import dev.backstop.core.DataSize;
import dev.backstop.core.ObjectBinding;
import dev.backstop.core.Transform;
import dev.backstop.core.TransformSpec;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.zstd.FramedZstdInputStream;
import dev.backstop.core.internal.zstd.FramedZstdOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadFactory;

/**
 * zstd compression (zstd-jni). Immutable; build with {@link #builder()} or {@link #level(int)}.
 *
 * <p><b>Parameters.</b> {@code level} 1..19 (3 by default); {@code windowLog} 0 (default, the
 * level's window) or 10..30 for long-distance matching, which the decoder is told about from the
 * manifest; {@code workers} 0 compresses one stream on the writing thread, n &gt; 0 compresses in
 * <i>framed</i> mode on n threads; {@link Builder#frameSize} asks for framed mode explicitly.
 * Frames carry zstd's content checksum, so a damaged or truncated frame fails to decode.
 *
 * <p><b>Framed mode.</b> The plaintext is cut into blocks of {@code frameSize} (2 MiB by default)
 * and each block becomes an independent zstd frame with its content size and checksum, so frames
 * compress and decompress in parallel (a single zstd stream, even one written by zstd's own
 * threads, decodes on one thread only). Each frame is preceded by a 24-byte zstd skippable frame
 * (magic {@code 0x184D2A5B}) with the frame's number, compressed and plaintext lengths and a copy of
 * its content checksum, and the stream ends with a skippable end record (magic {@code 0x184D2A5E})
 * holding the plaintext length, frame count and frame size. The result is a standard zstd stream
 * that any zstd decoder reads; this transform's decoder splits it into frames from the records
 * alone (no parsing of zstd's block headers, which would need a walk over every block) and
 * decodes {@code decodeThreads} frames at a time, holding at most {@code decodeThreads + 2}
 * frames, while the encoder holds at most {@code workers + 2} blocks. Reordered, dropped or
 * swapped frames fail by number and checksum copy, and a stream cut at a frame boundary fails for
 * its missing end record. The spec records {@code frames} (the frame size); a spec without it
 * (all objects written before framed mode) is decoded by the streaming decoder.
 *
 * <p><b>Threading.</b> Compression threads are daemon threads {@code backstop-zstd-encode-*},
 * decode threads {@code backstop-zstd-decode-*}; both belong to one stream, are started on demand
 * and stop when it ends or is closed. Failures of a thread surface from the stream's {@code write},
 * {@code close} or {@code read} on the calling thread.
 */
public final class ZstdTransform implements Transform {
    /** Id recorded in manifests. */
    public static final String ID = "zstd";
    /**
     * Framed mode's block size unless set. 2, 4 and 8 MiB frames compress MIXED rows alike (ratio
     * within 0.01% of zstd's native threads) at the same speed, so the smallest wins: frames live on
     * the Java heap (zstd's own threads kept theirs off it), (workers + 2) blocks while writing and
     * (decodeThreads + 2) frames while reading, and a 4 GiB backup and restore must fit a 128 MiB heap.
     */
    public static final DataSize DEFAULT_FRAME_SIZE = DataSize.ofMiB(2);
    private static final DataSize MIN_FRAME_SIZE = DataSize.ofKiB(4);
    private static final DataSize MAX_FRAME_SIZE = DataSize.ofMiB(256);

    private final int level;
    private final int workers;
    private final int windowLog;
    /** 0 for one stream, else the framed mode's block size. */
    private final int frameSize;
    private final int decodeThreads;
    /** Where encode and decode pools get threads; null for Backstop's own daemon threads. */
    private final ThreadFactory threads;

    private ZstdTransform(Builder b) {
        this.level = b.level;
        this.workers = b.workers;
        this.windowLog = b.windowLog;
        this.frameSize = b.frameSize != null ? b.frameSize.toIntBytes()
                : b.workers > 0 ? DEFAULT_FRAME_SIZE.toIntBytes() : 0;
        this.decodeThreads = b.decodeThreads;
        this.threads = b.threads;
    }

    /** zstd at {@code level} on the writing thread. */
    public static ZstdTransform level(int level) {
        return builder().level(level).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Rebuilds the decoder side from a manifest entry: framed if the entry records {@code frames},
     * else the streaming decoder (which reads every zstd stream, framed or not, on one thread).
     */
    public static ZstdTransform fromSpec(TransformSpec spec) {
        if (!ID.equals(spec.id())) {
            throw new IllegalArgumentException("not a zstd spec: " + spec.id());
        }
        Builder b = builder()
                .level(Integer.parseInt(spec.require("level")))
                .windowLog(Integer.parseInt(spec.parameters().getOrDefault("windowLog", "0")));
        String frames = spec.parameters().get("frames");
        if (frames != null) {
            b.frameSize(DataSize.ofBytes(Long.parseLong(frames)));
        }
        return b.build();
    }

    public int level() {
        return level;
    }

    public int workers() {
        return workers;
    }

    public int windowLog() {
        return windowLog;
    }

    /** Whether objects are written and read as independent frames (see the class comment). */
    public boolean framed() {
        return frameSize > 0;
    }

    /** The framed mode's block size; empty for one stream. */
    public Optional<DataSize> frameSize() {
        return framed() ? Optional.of(DataSize.ofBytes(frameSize)) : Optional.empty();
    }

    /** Threads that decode the frames of one framed object. */
    public int decodeThreads() {
        return decodeThreads;
    }

    @Override
    public TransformSpec spec() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("level", Integer.toString(level));
        p.put("windowLog", Integer.toString(windowLog));
        // workers change speed, not the format; recorded for the record only
        p.put("workers", Integer.toString(workers));
        if (framed()) {
            p.put("frames", Integer.toString(frameSize));
        }
        return new TransformSpec(ID, p);
    }

    @Override
    public OutputStream encode(OutputStream out, ObjectBinding binding) throws IOException {
        if (framed()) {
            return new FramedZstdOutputStream(out, level, windowLog, frameSize, workers, threads);
        }
        ZstdOutputStreamNoFinalizer z = new ZstdOutputStreamNoFinalizer(out, RecyclingBufferPool.INSTANCE);
        try {
            z.setLevel(level);
            z.setChecksum(true);
            if (windowLog > 0) {
                z.setLong(windowLog);
            }
        } catch (IOException | RuntimeException e) {
            z.close();
            throw e;
        }
        return z;
    }

    @Override
    public InputStream decode(InputStream in, ObjectBinding binding) throws IOException {
        if (framed()) {
            return new FramedZstdInputStream(in, frameSize, decodeThreads, threads);
        }
        ZstdInputStreamNoFinalizer z = new ZstdInputStreamNoFinalizer(in, RecyclingBufferPool.INSTANCE);
        if (windowLog > 0) {
            z.setLongMax(windowLog);
        }
        return z;
    }

    @Override
    public String toString() {
        return "zstd(level=" + level + ", workers=" + workers + (windowLog > 0 ? ", windowLog=" + windowLog : "")
                + (framed() ? ", frames=" + DataSize.ofBytes(frameSize) : "") + ")";
    }

    /** Builder for {@link ZstdTransform}; each setter may be called once. */
    public static final class Builder {
        private final Settings given = new Settings();
        private int level = 3;
        private int workers;
        private int windowLog;
        private DataSize frameSize;
        private int decodeThreads = Math.min(Runtime.getRuntime().availableProcessors(), 4);
        private ThreadFactory threads;

        private Builder() {
        }

        /**
         * Where the threads of framed mode come from (each stream makes its pool from it and stops
         * the pool when it ends); by default daemon threads named {@code backstop-zstd-...}.
         */
        public Builder threads(ThreadFactory threads) {
            this.threads = given.once("threads", this.threads, threads);
            return this;
        }

        /** Compression level, 1..19. */
        public Builder level(int level) {
            if (level < 1 || level > 19) {
                throw new IllegalArgumentException("zstd level: got " + level + ", allowed 1..19");
            }
            given.onceNullable("level", this.level, level);
            this.level = level;
            return this;
        }

        /**
         * Compression threads, 0..64: 0 compresses one zstd stream on the writing thread; n &gt; 0
         * compresses in framed mode (see the class comment) on n threads, so that the object also
         * decompresses in parallel.
         */
        public Builder workers(int workers) {
            if (workers < 0 || workers > 64) {
                throw new IllegalArgumentException("zstd workers: got " + workers + ", allowed 0..64");
            }
            given.onceNullable("workers", this.workers, workers);
            this.workers = workers;
            return this;
        }

        /**
         * Framed mode with blocks of this size, 4 KiB..256 MiB; 2 MiB when
         * {@link #workers} &gt; 0 and this is not called. With {@code workers(0)} the frames are
         * compressed on the writing thread but still decode in parallel. Smaller frames restore on
         * more threads sooner and compress a little worse (no match crosses a frame).
         */
        public Builder frameSize(DataSize frameSize) {
            if (frameSize.compareTo(MIN_FRAME_SIZE) < 0 || frameSize.compareTo(MAX_FRAME_SIZE) > 0) {
                throw new IllegalArgumentException("zstd frameSize: got " + frameSize + ", allowed " + MIN_FRAME_SIZE + ".."
                        + MAX_FRAME_SIZE);
            }
            given.onceNullable("frameSize", this.frameSize, frameSize);
            this.frameSize = frameSize;
            return this;
        }

        /**
         * Threads that decode one framed object, 1..64; by default the available processors, at
         * most 4. Not recorded in the spec: a restore picks its own.
         */
        public Builder decodeThreads(int decodeThreads) {
            if (decodeThreads < 1 || decodeThreads > 64) {
                throw new IllegalArgumentException("zstd decodeThreads: got " + decodeThreads + ", allowed 1..64");
            }
            given.onceNullable("decodeThreads", this.decodeThreads, decodeThreads);
            this.decodeThreads = decodeThreads;
            return this;
        }

        /** Long-distance window as a power of two, 10..30, or 0 for the level's default window. */
        public Builder windowLog(int windowLog) {
            if (windowLog != 0 && (windowLog < 10 || windowLog > 30)) {
                throw new IllegalArgumentException("zstd windowLog: got " + windowLog + ", allowed 0 (off) or 10..30");
            }
            given.onceNullable("windowLog", this.windowLog, windowLog);
            this.windowLog = windowLog;
            return this;
        }

        public ZstdTransform build() {
            return new ZstdTransform(this);
        }
    }
}
