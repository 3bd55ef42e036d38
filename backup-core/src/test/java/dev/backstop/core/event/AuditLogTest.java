package dev.backstop.core.event;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.DamagedObject;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.MutableClock;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.TestSources;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.retention.Expiry;
import dev.backstop.core.retention.RetentionPlanner;
import dev.backstop.core.retention.RetentionPolicy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditLogTest {
    @TempDir
    Path tmp;
    final MutableClock clock = new MutableClock(Instant.parse("2026-11-21T02:00:00Z"));
    LocalKeysetKek kek;
    Path root;
    Repository repo;
    AuditLog audit;

    @BeforeEach
    void setUp() {
        kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        root = tmp.resolve("repo");
        repo = Repository.filesystem(root).withKeys(kek);
        audit = AuditLog.builder(repo).clock(clock).host("db1").osUser("backup").principal("svc-backstop")
                .random(new Random(7)).build();
    }

    Manifest backup(int size) {
        return BackupPipeline.builder().source(TestSources.bytes(new byte[size])).repository(Repository.filesystem(root))
                .encrypt(Encryption.with(kek)).listener(audit.listener()).clock(clock).build().run();
    }

    Read all() {
        return new Read(audit.read(Instant.EPOCH, Instant.parse("2100-01-01T00:00:00Z")));
    }

    record Read(AuditLog.Read r) {
    }

    @Test
    void backupsAndExpiryDeletions_areRecordedWithWhoAndWhy_underAuditYearMonth() throws IOException {
        Restore restore = Restore.builder().repository(repo).keys(kek).listener(audit.listener()).clock(clock).build();
        for (int i = 0; i < 2; i++) {
            restore.verify(backup(10 + i));
            clock.advance(Duration.ofHours(1));
        }
        Expiry.builder().repository(repo).planner(RetentionPlanner.of(RetentionPolicy.keepLast(1))).clock(clock)
                .listener(audit.listener()).build().run();

        AuditLog.Read read = all().r();
        assertThat(read.tampered()).isEmpty();
        assertThat(read.entries()).extracting(AuditLog.Entry::action).containsExactly(AuditLog.Action.BACKUP,
                AuditLog.Action.DRILL, AuditLog.Action.BACKUP, AuditLog.Action.DRILL, AuditLog.Action.EXPIRY_DELETION);
        AuditLog.Entry deletion = read.entries().get(4);
        assertThat(deletion.subject()).isEqualTo(read.entries().get(0).subject());
        assertThat(deletion.detail()).isNotBlank();
        assertThat(deletion).extracting(AuditLog.Entry::host, AuditLog.Entry::osUser, AuditLog.Entry::principal)
                .containsExactly("db1", "backup", "svc-backstop");
        assertThat(repo.sink().list(AuditLog.PREFIX)).allSatisfy(o ->
                assertThat(o.key()).matches("audit/2026/11/20261121T0[0-9]{5}\\.[0-9]{3}Z-[0-9a-f]{12}\\.json"));
    }

    @Test
    void anEditedForgedOrMovedEntry_isLeftOutAndNamed() throws IOException {
        audit.append(AuditLog.Action.KEY_ROTATION, "kek-1", "rotated to kek-2");
        clock.advance(Duration.ofSeconds(1));
        audit.append(AuditLog.Action.HOLD_CHANGE, "20261121T000000Z-raw-abc123", "legal hold placed");
        clock.advance(Duration.ofSeconds(1));
        audit.append(AuditLog.Action.COPY, "replica-eu", "3 backups copied");
        List<String> keys = repo.sink().list(AuditLog.PREFIX).stream().map(ObjectInfo::key).sorted().toList();

        Path edited = root.resolve(keys.get(0));
        Files.writeString(edited, Files.readString(edited).replace("rotated to kek-2", "nothing happened"));
        Path moved = root.resolve(keys.get(1));
        Files.move(moved, root.resolve("audit/2026/11/20261121T020001.000Z-000000000000.json"));
        Files.writeString(root.resolve("audit/2026/11/20261121T020009.000Z-ffffffffffff.json"),
                "{\"formatVersion\":1,\"at\":\"2026-11-21T02:00:09Z\",\"action\":\"KEY_ERASE\",\"subject\":\"x\","
                        + "\"detail\":\"\",\"host\":\"h\",\"osUser\":\"u\",\"principal\":\"p\"}", StandardCharsets.UTF_8);

        AuditLog.Read read = all().r();
        assertThat(read.entries()).extracting(AuditLog.Entry::action).containsExactly(AuditLog.Action.COPY);
        assertThat(read.tampered()).extracting(DamagedObject::key).containsExactlyInAnyOrder(keys.get(0),
                "audit/2026/11/20261121T020001.000Z-000000000000.json", "audit/2026/11/20261121T020009.000Z-ffffffffffff.json");
    }

    @Test
    void entries_areNotOrphans_andGoOnlyByTheAuditLogsOwnRetention() {
        audit.append(AuditLog.Action.RESTORE, "20261121T000000Z-raw-abc123", "drill");
        clock.advance(Duration.ofDays(40));
        audit.append(AuditLog.Action.RESTORE, "20261121T000000Z-raw-abc123", "drill");

        assertThat(repo.orphans(clock.instant().plus(Duration.ofDays(400)), Duration.ZERO).isEmpty()).isTrue();
        assertThat(audit.expireBefore(clock.instant().minus(Duration.ofDays(30)))).isEqualTo(1);
        assertThat(all().r().entries()).extracting(AuditLog.Entry::at).containsExactly(clock.instant());
    }

    @Test
    void aKeylessRepository_isRefused() {
        assertThatThrownBy(() -> AuditLog.builder(Repository.filesystem(root)))
                .hasMessageContaining("must be a keyed view");
    }
}
