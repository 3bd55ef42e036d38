package dev.backstop.core;

import java.time.Duration;
import java.time.InstantSource;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A bandwidth limit for a {@link BackupPipeline}: bytes per second read from the source and bytes
 * per second uploaded to the repository, each optional, so a backup on a busy host or a shared
 * link stays gentle.
 *
 * <pre>{@code
 * BackupPipeline pipeline = BackupPipeline.builder()
 *     .source(source).compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek)).repository(repo)
 *     .rateLimit(RateLimit.builder().readsPerSecond(DataSize.ofMiB(50)).uploadsPerSecond(DataSize.ofMiB(20)).build())
 *     .build();
 * }</pre>
 *
 * <p><b>Guarantees.</b> <em>Reads</em> are the plaintext bytes the source writes into the
 * pipeline: a source that reads files or a pipe (a data directory, pg_basebackup's output) is held
 * back at that rate, since the pipeline takes its bytes no faster. <em>Uploads</em> are the stored
 * bytes (after compression and encryption) written to the repository's sink. Each is a token
 * bucket shared by every stream and every concurrent run of the pipeline: over any interval
 * {@code t}, at most {@code rate × (t + burst)} bytes pass, and a pipeline that could go faster
 * moves {@code rate} bytes per second (in 64 KiB steps). Waiting goes through the injected
 * {@link Sleeper} and time through the injected {@link InstantSource}, so tests can run a
 * limited backup against a fake clock without waiting.
 *
 * <p><b>Restrictions.</b> Memory and the pipeline's hand-off buffers are unchanged; a sink that
 * buffers a multipart part sends each part as fast as the network allows once it is full, so
 * the upload rate holds on average over a part, not within it. WAL and binlog archiving are not
 * limited by a pipeline's limit.
 *
 * <p><b>Threading.</b> Immutable and thread-safe; it holds settings only, and each pipeline built
 * with it keeps its own buckets.
 */
public final class RateLimit {
    /** The least rate accepted: a smaller figure is almost always a unit slip. */
    public static final long MIN_BYTES_PER_SECOND = 1024;

    /** Waits; the seam through which tests advance a fake clock instead of sleeping. */
    @FunctionalInterface
    public interface Sleeper {
        /** Blocks the calling thread for {@code duration}; throws when interrupted. */
        void sleep(Duration duration) throws InterruptedException;

        /** Sleeps for real. */
        static Sleeper system() {
            return d -> {
                if (!d.isNegative() && !d.isZero()) {
                    TimeUnit.NANOSECONDS.sleep(d.toNanos());
                }
            };
        }
    }

    private final DataSize readsPerSecond;
    private final DataSize uploadsPerSecond;
    private final Duration burst;
    private final InstantSource clock;
    private final Sleeper sleeper;

    private RateLimit(Builder b) {
        this.readsPerSecond = b.readsPerSecond;
        this.uploadsPerSecond = b.uploadsPerSecond;
        this.burst = b.burst == null ? Duration.ofMillis(100) : b.burst;
        this.clock = b.clock == null ? InstantSource.system() : b.clock;
        this.sleeper = b.sleeper == null ? Sleeper.system() : b.sleeper;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The limit on bytes the source writes into the pipeline per second, if any. */
    public Optional<DataSize> readsPerSecond() {
        return Optional.ofNullable(readsPerSecond);
    }

    /** The limit on stored bytes written to the repository per second, if any. */
    public Optional<DataSize> uploadsPerSecond() {
        return Optional.ofNullable(uploadsPerSecond);
    }

    /** How much unused allowance, in time at the rate, may be spent at once (default 100 ms). */
    public Duration burst() {
        return burst;
    }

    /** The time source of the buckets. */
    public InstantSource clock() {
        return clock;
    }

    /** How the buckets wait. */
    public Sleeper sleeper() {
        return sleeper;
    }

    @Override
    public String toString() {
        return "RateLimit[reads " + (readsPerSecond == null ? "unlimited" : readsPerSecond + "/s") + ", uploads "
                + (uploadsPerSecond == null ? "unlimited" : uploadsPerSecond + "/s") + ", burst " + burst + "]";
    }

    /** Builder for {@link RateLimit}: at least one of the two rates; each setting at most once. */
    public static final class Builder {
        private DataSize readsPerSecond;
        private DataSize uploadsPerSecond;
        private Duration burst;
        private InstantSource clock;
        private Sleeper sleeper;

        private Builder() {
        }

        /** Bytes per second the source may write into the pipeline (at least 1 KiB). */
        public Builder readsPerSecond(DataSize perSecond) {
            this.readsPerSecond = Settings.once("readsPerSecond", this.readsPerSecond, checked("readsPerSecond", perSecond));
            return this;
        }

        /** Stored bytes per second the pipeline may write to the repository (at least 1 KiB). */
        public Builder uploadsPerSecond(DataSize perSecond) {
            this.uploadsPerSecond = Settings.once("uploadsPerSecond", this.uploadsPerSecond,
                    checked("uploadsPerSecond", perSecond));
            return this;
        }

        /** Unused allowance that may be spent at once, as time at the rate (0..10 s, default 100 ms). */
        public Builder burst(Duration burst) {
            Objects.requireNonNull(burst, "burst");
            if (burst.isNegative() || burst.compareTo(Duration.ofSeconds(10)) > 0) {
                throw new IllegalArgumentException("burst: got " + burst + ", must be 0..10 s");
            }
            this.burst = Settings.once("burst", this.burst, burst);
            return this;
        }

        /** The time source (default the system's). */
        public Builder clock(InstantSource clock) {
            this.clock = Settings.once("clock", this.clock, clock);
            return this;
        }

        /** How to wait (default {@link Sleeper#system()}). */
        public Builder sleeper(Sleeper sleeper) {
            this.sleeper = Settings.once("sleeper", this.sleeper, sleeper);
            return this;
        }

        public RateLimit build() {
            if (readsPerSecond == null && uploadsPerSecond == null) {
                throw new IllegalStateException("rate limit: neither readsPerSecond nor uploadsPerSecond was given; "
                        + "set at least one, or leave rateLimit(...) off the pipeline");
            }
            return new RateLimit(this);
        }

        private static DataSize checked(String setting, DataSize perSecond) {
            Objects.requireNonNull(perSecond, setting);
            if (perSecond.bytes() < MIN_BYTES_PER_SECOND) {
                throw new IllegalArgumentException(setting + ": got " + perSecond + " per second, must be at least 1 KiB");
            }
            return perSecond;
        }
    }
}
