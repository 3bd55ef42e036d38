package dev.backstop.postgres.physical;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.DataSize;
import dev.backstop.core.RateLimit;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.postgres.EphemeralPostgres;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A base backup held to a rate limit on both sides still restores and recovers. */
class RateLimitedBackupIT {
    @TempDir
    Path tmp;

    @Test
    void dataDirectoryBackup_heldToAReadAndAnUploadLimit_waitsOnTheLimit_andRecovers() throws Exception {
        try (EphemeralPostgres pg = EphemeralPostgres.start()) {
            PgTimelineSwitchIT.exec(pg, "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS note FROM generate_series(1, 50000) g");
            AtomicInteger waits = new AtomicInteger();
            RateLimit.Sleeper real = RateLimit.Sleeper.system();
            RateLimit limit = RateLimit.builder().readsPerSecond(DataSize.ofMiB(32)).uploadsPerSecond(DataSize.ofMiB(8))
                    .sleeper(d -> {
                        waits.incrementAndGet();
                        real.sleep(d);
                    }).build();
            Repository repo = Repository.filesystem(tmp.resolve("repo"));
            Manifest m = BackupPipeline.builder().source(DataDirectorySource.builder(pg.endpoint(), pg.directory().resolve("data")).build())
                    .compress(ZstdTransform.level(3)).noEncryption().repository(repo).rateLimit(limit).build().run();

            assertThat(waits.get()).as("the limit made the backup wait").isPositive();
            try (EphemeralPostgres restored = PointInTimeRecovery.builder(Restore.builder().repository(repo).build(), m)
                    .credentials("postgres", pg.endpoint().password()).timeout(Duration.ofMinutes(2)).build().recover()) {
                assertThat(PgTimelineSwitchIT.one(restored, "SELECT count(*) FROM t")).isEqualTo("50000");
            }
        }
    }
}
