package dev.backstop.core.transform;

import com.github.luben.zstd.RecyclingBufferPool;
import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import dev.backstop.core.ObjectBinding;
import dev.backstop.core.Transform;
import dev.backstop.core.TransformSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * zstd compression (zstd-jni). Immutable; build with {@link #builder()} or {@link #level(int)}.
 *
 * <p><b>Parameters.</b> {@code level} 1..19 (3 by default); {@code workers} 0 compresses on the
 * writing thread, n &gt; 0 on n native threads; {@code windowLog} 0 (default, the level's window)
 * or 10..30 for long-distance matching, which the decoder is told about from the manifest. Frames
 * carry zstd's content checksum, so a truncated or damaged frame fails to decode.
 */
public final class ZstdTransform implements Transform {
    /** Id recorded in manifests. */
    public static final String ID = "zstd";

    private final int level;
    private final int workers;
    private final int windowLog;

    private ZstdTransform(Builder b) {
        this.level = b.level;
        this.workers = b.workers;
        this.windowLog = b.windowLog;
    }

    /** zstd at {@code level} on the writing thread. */
    public static ZstdTransform level(int level) {
        return builder().level(level).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Rebuilds the decoder side from a manifest entry. */
    public static ZstdTransform fromSpec(TransformSpec spec) {
        if (!ID.equals(spec.id())) {
            throw new IllegalArgumentException("not a zstd spec: " + spec.id());
        }
        return builder()
                .level(Integer.parseInt(spec.require("level")))
                .windowLog(Integer.parseInt(spec.parameters().getOrDefault("windowLog", "0")))
                .build();
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

    @Override
    public TransformSpec spec() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("level", Integer.toString(level));
        p.put("windowLog", Integer.toString(windowLog));
        // workers change speed, not the format; recorded for the record only
        p.put("workers", Integer.toString(workers));
        return new TransformSpec(ID, p);
    }

    @Override
    public OutputStream encode(OutputStream out, ObjectBinding binding) throws IOException {
        ZstdOutputStreamNoFinalizer z = new ZstdOutputStreamNoFinalizer(out, RecyclingBufferPool.INSTANCE);
        try {
            z.setLevel(level);
            z.setChecksum(true);
            if (workers > 0) {
                z.setWorkers(workers);
            }
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
        ZstdInputStreamNoFinalizer z = new ZstdInputStreamNoFinalizer(in, RecyclingBufferPool.INSTANCE);
        if (windowLog > 0) {
            z.setLongMax(windowLog);
        }
        return z;
    }

    @Override
    public String toString() {
        return "zstd(level=" + level + ", workers=" + workers + (windowLog > 0 ? ", windowLog=" + windowLog : "") + ")";
    }

    /** Builder for {@link ZstdTransform}; each setter may be called once. */
    public static final class Builder {
        private int level = 3;
        private int workers;
        private int windowLog;

        private Builder() {
        }

        /** Compression level, 1..19. */
        public Builder level(int level) {
            if (level < 1 || level > 19) {
                throw new IllegalArgumentException("zstd level: got " + level + ", allowed 1..19");
            }
            this.level = level;
            return this;
        }

        /** Native compression threads, 0..64; 0 compresses on the writing thread. */
        public Builder workers(int workers) {
            if (workers < 0 || workers > 64) {
                throw new IllegalArgumentException("zstd workers: got " + workers + ", allowed 0..64");
            }
            this.workers = workers;
            return this;
        }

        /** Long-distance window as a power of two, 10..30, or 0 for the level's default window. */
        public Builder windowLog(int windowLog) {
            if (windowLog != 0 && (windowLog < 10 || windowLog > 30)) {
                throw new IllegalArgumentException("zstd windowLog: got " + windowLog + ", allowed 0 (off) or 10..30");
            }
            this.windowLog = windowLog;
            return this;
        }

        public ZstdTransform build() {
            return new ZstdTransform(this);
        }
    }
}
