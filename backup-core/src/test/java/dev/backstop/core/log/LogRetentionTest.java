package dev.backstop.core.log;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.LogRange;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.MutableClock;
import dev.backstop.core.Repository;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.retention.Expiry;
import dev.backstop.core.retention.ExpiryReport;
import dev.backstop.core.retention.RetentionPlanner;
import dev.backstop.core.retention.RetentionPolicy;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Expiry deletes archived log files by the ranges kept backups need, through the log archive. */
class LogRetentionTest {
    private static final Instant T0 = Instant.parse("2026-11-01T02:00:00Z");

    @TempDir
    Path tmp;

    private final MutableClock clock = new MutableClock(T0);

    /** A backup at {@code at} that needs positions [start, start + 100) of the fake stream. */
    private Manifest backup(Repository repo, Instant at, long start) {
        clock.set(at);
        CaptureSource source = new CaptureSource() {
            @Override
            public BackupType type() {
                return BackupType.PHYSICAL;
            }

            @Override
            public CaptureResult capture(Streams streams) throws IOException {
                try (OutputStream out = streams.open("base")) {
                    out.write(FakeEngine.bytes((int) start, 512));
                }
                return CaptureResult.builder(SourceInfo.of("fake", "1"))
                        .requiredLogs(new LogRange(FakeEngine.STREAM, start, start + 100)).build();
            }
        };
        Manifest m = BackupPipeline.builder().source(source).repository(repo).noEncryption().clock(clock).build().run();
        repo.recordValidation(new ValidationResult(m.id(), "test", at.plusSeconds(60), Duration.ofSeconds(1), List.of(), Map.of()));
        return m;
    }

    @Test
    void expiry_deletesTheFilesNoKeptBackupNeeds_andKeepsTheRangeOfTheKeptOnes() {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        LogStore logs = LogStore.builder(repo, FakeEngine.STREAM, FakeEngine.NAMING).build();
        for (int d = 0; d < 10; d++) {
            backup(repo, T0.plus(Duration.ofDays(d)), d * 1000L);
        }
        for (int n = 0; n < 20; n++) {
            FakeEngine.put(logs, FakeEngine.file(n), FakeEngine.bytes(n, 100));
        }
        FakeEngine.put(logs, FakeEngine.NAMING.parse("timeline.note"), FakeEngine.bytes(0, 10));
        clock.set(T0.plus(Duration.ofDays(10)));

        ExpiryReport report = Expiry.builder().repository(repo).planner(RetentionPlanner.of(RetentionPolicy.keepLast(3)))
                .logs(logs).clock(clock).holder("test-expiry").build().run();

        // the oldest kept backup needs [7000, 7100): every file from there on stays, the oldest go
        assertThat(report.deletedLogs()).isNotEmpty();
        assertThat(logs.files()).extracting(LogFile::name).contains("timeline.note")
                .containsAll(List.of("file-000014", "file-000015", "file-000019"))
                .doesNotContain("file-000000", "file-000009");
        assertThat(logs.gaps()).as("what stays is contiguous").isEmpty();
    }
}
