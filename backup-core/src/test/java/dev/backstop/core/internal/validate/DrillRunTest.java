package dev.backstop.core.internal.validate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.MutableClock;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.TestSources;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.manifest.Manifest;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** A drill's run: its result is timed on the drill's clock and recorded only when the drill records. */
class DrillRunTest {
    private static final Instant T0 = Instant.parse("2026-11-21T03:15:00Z");

    @TempDir
    Path dir;
    private Repository repo;
    private Restore restore;
    private Manifest m;
    private final MutableClock clock = new MutableClock(T0);

    @BeforeEach
    void setUp() {
        repo = Repository.filesystem(dir.resolve("repo"));
        m = BackupPipeline.builder().source(TestSources.bytes(TestSources.textLike(1_000, 1))).repository(repo)
                .noEncryption().build().run();
        restore = Restore.builder().repository(repo).build();
    }

    @Test
    void finish_recordsTheResult_withItsFindingsMeasurementsAndTimeOnTheDrillsClock() {
        DrillRun run = DrillRun.start("test-drill", m, restore, clock, true, LoggerFactory.getLogger(DrillRunTest.class));
        run.measured().put("rto_ms", "1200");
        run.measured().put("tables", "3");
        clock.advance(Duration.ofSeconds(7));
        run.findings().add("table public.t: expected 3 rows, found 2");

        ValidationResult r = run.finish();

        assertThat(r.backupId()).isEqualTo(m.id());
        assertThat(r.validator()).isEqualTo("test-drill");
        assertThat(r.finishedAt()).isEqualTo(T0.plusSeconds(7));
        assertThat(r.elapsed()).isEqualTo(Duration.ofSeconds(7));
        assertThat(r.findings()).containsExactly("table public.t: expected 3 rows, found 2");
        assertThat(r.measurements()).isEqualTo(Map.of("rto_ms", "1200", "tables", "3"));
        assertThat(repo.validations(m.id())).containsExactly(r);
    }

    @Test
    void finish_ofADrillThatDoesNotRecord_leavesTheRepositoryWithoutARecord() {
        DrillRun run = DrillRun.start("test-drill", m, restore, clock, false, null);

        ValidationResult r = run.finish();

        assertThat(r.passed()).isTrue();
        assertThat(r.measurements()).isEmpty();
        assertThat(repo.validations(m.id())).isEqualTo(List.of());
    }

    @Test
    void elapsed_isTheTimeSinceTheRunStarted() {
        DrillRun run = DrillRun.start("test-drill", m, restore, clock, false, null);
        clock.advance(Duration.ofMillis(1500));

        assertThat(run.elapsed()).isEqualTo(Duration.ofMillis(1500));
    }
}
