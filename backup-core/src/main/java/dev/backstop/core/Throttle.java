package dev.backstop.core;

import dev.backstop.core.internal.concurrent.TokenBucket;
import dev.backstop.core.internal.stream.ThrottledOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * The buckets of one pipeline's {@link RateLimit}, shared by all its runs: the source's streams
 * and the sink's uploads are wrapped here, or passed through unchanged where no rate is set.
 */
final class Throttle {
    static final Throttle NONE = new Throttle(null, null);

    private final TokenBucket reads;
    private final TokenBucket uploads;

    private Throttle(TokenBucket reads, TokenBucket uploads) {
        this.reads = reads;
        this.uploads = uploads;
    }

    static Throttle of(RateLimit limit) {
        if (limit == null) {
            return NONE;
        }
        return new Throttle(bucket(limit, limit.readsPerSecond().orElse(null)), bucket(limit, limit.uploadsPerSecond().orElse(null)));
    }

    private static TokenBucket bucket(RateLimit limit, DataSize rate) {
        return rate == null ? null : new TokenBucket(rate.bytes(), limit.burst(), limit.clock(), limit.sleeper()::sleep);
    }

    /** The stream a source writes, held to the read rate. */
    OutputStream reads(OutputStream plaintext) {
        return reads == null ? plaintext : new ThrottledOutputStream(plaintext, reads);
    }

    /** An upload whose stream is held to the upload rate; commit and close go to {@code upload}. */
    Sink.Upload uploads(Sink.Upload upload) {
        if (uploads == null) {
            return upload;
        }
        OutputStream stream = new ThrottledOutputStream(upload.stream(), uploads);
        return new Sink.Upload() {
            @Override
            public OutputStream stream() {
                return stream;
            }

            @Override
            public void commit() throws IOException {
                upload.commit();
            }

            @Override
            public void close() {
                upload.close();
            }
        };
    }
}
