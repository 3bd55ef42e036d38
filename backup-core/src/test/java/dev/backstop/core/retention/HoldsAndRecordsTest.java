package dev.backstop.core.retention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupId;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.StorageTier;
import dev.backstop.core.ValidationResult;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HoldsAndRecordsTest {
    private static final Instant T = Instant.parse("2026-11-20T03:00:00Z");

    @TempDir
    Path tmp;

    private static Manifest manifest(BackupId id) {
        return Manifest.builder(id).startedAt(id.timestamp()).finishedAt(id.timestamp().plusSeconds(90))
                .source(SourceInfo.of("test", "1")).build();
    }

    @Test
    void holds_pinAndLegalHold_areListedUntilReleased() throws IOException {
        Repository repo = Repository.filesystem(tmp);
        BackupId a = Backups.id(T);
        BackupId b = Backups.id(T.plusSeconds(60));
        repo.catalog().put(manifest(a));
        repo.catalog().put(manifest(b));
        Holds holds = Holds.of(repo);

        holds.pin(a, "before the migration");
        holds.placeLegalHold(b, "case 4711");
        holds.placeLegalHold(b, "case 4711, renewed");

        assertThat(holds.pinned()).containsExactly(a);
        assertThat(holds.legalHolds()).containsExactly(b);
        holds.unpin(a);
        holds.releaseLegalHold(b);
        assertThat(holds.pinned()).isEmpty();
        assertThat(holds.legalHolds()).isEmpty();
    }

    @Test
    void holds_onAMissingBackup_failNamingIt() {
        Holds holds = Holds.of(Repository.filesystem(tmp));
        BackupId ghost = Backups.id(T);

        assertThatThrownBy(() -> holds.placeLegalHold(ghost, "x"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(ghost.value());
    }

    @Test
    void backupRecord_fromManifest_isVerifiedOnlyWhenTheNewestValidationPassed() {
        BackupId id = Backups.id(T);
        Manifest m = manifest(id);
        ValidationResult ok = new ValidationResult(id, "drill", T.plusSeconds(600), Duration.ofSeconds(9), List.of(), Map.of());
        ValidationResult bad = new ValidationResult(id, "drill", T.plusSeconds(900), Duration.ofSeconds(9),
                List.of("row count of t differs"), Map.of());

        assertThat(BackupRecord.from(m, Optional.empty()).build().status()).isEqualTo(BackupStatus.UNVERIFIED);
        assertThat(BackupRecord.from(m, Optional.of(ok)).build().status()).isEqualTo(BackupStatus.VERIFIED);
        assertThat(BackupRecord.from(m, Optional.of(bad)).build().status()).isEqualTo(BackupStatus.FAILED);
        ValidationResult sampled = new ValidationResult(id, "drill", T.plusSeconds(900), Duration.ofSeconds(9), List.of(),
                Map.of("coverage", "sampled"));
        assertThat(BackupRecord.from(m, Optional.of(sampled)).build().status()).isEqualTo(BackupStatus.UNVERIFIED);
        assertThat(BackupRecord.from(m, Optional.of(ok)).build().finishedAt()).isEqualTo(T.plusSeconds(90));
    }

    @Test
    void lifecycleRules_followTheSchedule_inWholeDaysRoundedUp_andNeverExpire() {
        TierSchedule seed = TierSchedule.startingIn(StorageTier.HOT).then(StorageTier.WARM, Duration.ofDays(30))
                .then(StorageTier.COLD, Duration.ofDays(90).plusHours(1)).deleteAfter(Duration.ofDays(365));

        assertThat(LifecycleRules.forBackups(seed)).containsExactly(
                new LifecycleRules.Transition("backups/", 30, StorageTier.WARM),
                new LifecycleRules.Transition("backups/", 91, StorageTier.COLD));
    }
}
