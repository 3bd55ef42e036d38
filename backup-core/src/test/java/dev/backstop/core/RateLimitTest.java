package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.transform.ZstdTransform;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A pipeline's rate limit, run against a fake clock that only the limit's sleeper moves. */
class RateLimitTest {
    @TempDir
    Path tmp;

    /** Fake time: the sum of every sleep the limit asked for. */
    final AtomicLong slept = new AtomicLong();
    final InstantSource clock = () -> Instant.EPOCH.plusNanos(slept.get());
    final RateLimit.Sleeper sleeper = d -> slept.addAndGet(d.toNanos());

    @Test
    void backup_withAReadLimit_takesTheSourceAtTheRateWithinOnePercent_andRestoresTheSameBytes() throws IOException {
        byte[] data = TestSources.random(4 << 20, 7);
        RateLimit limit = RateLimit.builder().readsPerSecond(DataSize.ofMiB(1)).burst(Duration.ofMillis(100))
                .clock(clock).sleeper(sleeper).build();
        LocalKeysetKek kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        Manifest m = BackupPipeline.builder().source(TestSources.bytes(data)).compress(ZstdTransform.level(3))
                .encrypt(Encryption.with(kek)).repository(repo).rateLimit(limit).build().run();

        // 4 MiB at 1 MiB/s, the first 100 ms of it granted at once
        assertThat(slept.get() / 1e9).isCloseTo(3.9, org.assertj.core.data.Percentage.withPercentage(1));
        try (InputStream in = Restore.builder().repository(repo).keys(kek).build().open(m, "data")) {
            assertThat(in.readAllBytes()).isEqualTo(data);
        }
    }

    @Test
    void backup_withAnUploadLimit_writesTheStoredBytesAtTheRate() throws IOException {
        byte[] data = TestSources.textLike(6 << 20, 11);
        RateLimit limit = RateLimit.builder().uploadsPerSecond(DataSize.ofKiB(256)).burst(Duration.ZERO)
                .clock(clock).sleeper(sleeper).build();
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        Manifest m = BackupPipeline.builder().source(TestSources.bytes(data)).compress(ZstdTransform.level(3))
                .noEncryption().repository(repo).rateLimit(limit).build().run();

        long stored = m.object("data").orElseThrow().storedSize();
        assertThat(stored).isLessThan(data.length);
        // the stored (compressed) bytes set the pace, not the plaintext
        assertThat((double) slept.get()).isCloseTo(stored * 1e9 / (256 * 1024), org.assertj.core.data.Percentage.withPercentage(1));
        try (InputStream in = Restore.builder().repository(repo).build().open(m, "data")) {
            assertThat(in.readAllBytes()).isEqualTo(data);
        }
    }

    @Test
    void builder_refusesAMissingRate_aTinyRate_andASettingGivenTwice() {
        assertThatThrownBy(() -> RateLimit.builder().build())
                .hasMessageContaining("neither readsPerSecond nor uploadsPerSecond");
        assertThatThrownBy(() -> RateLimit.builder().readsPerSecond(DataSize.ofBytes(100)))
                .hasMessageContaining("readsPerSecond: got 100 B per second, must be at least 1 KiB");
        assertThatThrownBy(() -> RateLimit.builder().uploadsPerSecond(DataSize.ofMiB(1)).uploadsPerSecond(DataSize.ofMiB(2)))
                .hasMessageContaining("uploadsPerSecond: already set to 1.0 MiB");
        assertThatThrownBy(() -> RateLimit.builder().burst(Duration.ofSeconds(11)))
                .hasMessageContaining("burst: got PT11S, must be 0..10 s");
        RateLimit limit = RateLimit.builder().readsPerSecond(DataSize.ofMiB(5)).build();
        assertThatThrownBy(() -> BackupPipeline.builder().rateLimit(limit).rateLimit(limit))
                .hasMessageContaining("rateLimit: already set");
        assertThat(limit.toString()).isEqualTo("RateLimit[reads 5.0 MiB/s, uploads unlimited, burst PT0.1S]");
    }
}
