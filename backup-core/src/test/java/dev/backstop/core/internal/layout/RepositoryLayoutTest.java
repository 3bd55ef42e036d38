package dev.backstop.core.internal.layout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.core.BackupId;
import dev.backstop.core.IntegrityException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import org.junit.jupiter.api.Test;

class RepositoryLayoutTest {
    private static final BackupId ID = BackupId.parse("20261121T031500Z-logical-abc123");
    private static final Instant AT = Instant.parse("2026-11-21T03:15:00.042Z");

    @Test
    void stamp_formatsUtcToTheMillisecond_andParsesBack() {
        assertThat(RepositoryLayout.stamp(AT)).isEqualTo("20261121T031500.042Z");
        assertThat(RepositoryLayout.parseStamp("20261121T031500.042Z")).isEqualTo(AT);
        assertThatThrownBy(() -> RepositoryLayout.parseStamp("2026-11-21")).isInstanceOf(DateTimeParseException.class);
    }

    @Test
    void backupKeys_areUnderTheBackupsDirectory_andNameTheirBackupBack() {
        assertThat(RepositoryLayout.manifestKey(ID)).isEqualTo("backups/20261121T031500Z-logical-abc123/manifest.json");
        assertThat(RepositoryLayout.dataKey(ID, "dump.zst")).isEqualTo("backups/20261121T031500Z-logical-abc123/dump.zst");
        assertThat(RepositoryLayout.dataKeyObject(ID)).isEqualTo("keys/20261121T031500Z-logical-abc123.dek");
        assertThat(RepositoryLayout.validationKey(ID, AT, "drill: pg 15"))
                .isEqualTo("backups/20261121T031500Z-logical-abc123/validations/20261121T031500.042Z-drill__pg_15.json");
        String replica = RepositoryLayout.replicaRecordKey(ID, AT, "eu-west", "copy");
        assertThat(replica).isEqualTo("backups/20261121T031500Z-logical-abc123/replicas/20261121T031500.042Z-eu-west-copy.json");

        assertThat(RepositoryLayout.backupOf(RepositoryLayout.manifestKey(ID))).contains(ID);
        assertThat(RepositoryLayout.backupOf(replica)).contains(ID);
        assertThat(RepositoryLayout.replicaOf(replica, ID)).contains("eu-west");
        assertThat(RepositoryLayout.wrappedKeyName(RepositoryLayout.dataKeyObject(ID))).contains(ID.value());
        assertThat(RepositoryLayout.wrappedKeyName(RepositoryLayout.METADATA_KEY)).isEmpty();
    }

    @Test
    void keysThatAreNotABackupsObjects_nameNoBackup() {
        assertThat(RepositoryLayout.backupOf(RepositoryLayout.writeProbeKey(ID))).isEmpty();
        assertThat(RepositoryLayout.backupOf("backups/not-an-id/manifest.json")).isEmpty();
        assertThat(RepositoryLayout.backupOf("keys/" + ID.value() + ".dek")).isEmpty();
        assertThat(RepositoryLayout.isBackupObject(RepositoryLayout.writeProbeKey(ID))).isFalse();
        assertThat(RepositoryLayout.isBackupObject(RepositoryLayout.backupPrefix(ID) + "validations/x/y.json")).isFalse();
        assertThat(RepositoryLayout.isBackupObject(RepositoryLayout.validationKey(ID, AT, "full-decode"))).isTrue();
        assertThat(RepositoryLayout.isBackupObject(RepositoryLayout.dataKey(ID, "base.tar"))).isTrue();
    }

    @Test
    void manifestKeys_areRecognisedOnlyOneDirectoryBelowBackups() {
        assertThat(RepositoryLayout.isManifestKey(RepositoryLayout.manifestKey(ID))).isTrue();
        assertThat(RepositoryLayout.isManifestKey("backups/manifest.json")).isTrue();
        assertThat(RepositoryLayout.isManifestKey("backups/anything/manifest.json")).isTrue();
        assertThat(RepositoryLayout.isManifestKey("backups/a/b/manifest.json")).isFalse();
        assertThat(RepositoryLayout.isManifestKey("keys/manifest.json")).isFalse();
    }

    @Test
    void dataKey_refusesReservedAndMalformedStreamNames_namingTheName() {
        for (String reserved : new String[] {"manifest.json", "validations", "replicas"}) {
            assertThat(RepositoryLayout.isStreamName(reserved)).as(reserved).isFalse();
            assertThatThrownBy(() -> RepositoryLayout.dataKey(ID, reserved)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'" + reserved + "'");
        }
        for (String bad : new String[] {"", ".hidden", "a/b", "x".repeat(129), "dump zst"}) {
            assertThat(RepositoryLayout.isStreamName(bad)).as(bad).isFalse();
        }
        assertThat(RepositoryLayout.isStreamName("x".repeat(128))).isTrue();
    }

    @Test
    void holdKeys_roundTripTheirBackup_onlyForTheirOwnKind() {
        String pin = RepositoryLayout.holdKey(ID, RepositoryLayout.PIN);
        assertThat(pin).isEqualTo("state/backups/20261121T031500Z-logical-abc123/pin");
        assertThat(RepositoryLayout.holdOwner(pin, RepositoryLayout.PIN)).contains(ID);
        assertThat(RepositoryLayout.holdOwner(pin, RepositoryLayout.LEGAL_HOLD)).isEmpty();
        assertThat(RepositoryLayout.holdOwner("state/backups/nope/pin", RepositoryLayout.PIN)).isEmpty();
    }

    @Test
    void leaseKeys_sortBySequence_andParseBack() {
        String lease = RepositoryLayout.leaseKey("repository", 42);
        assertThat(lease).isEqualTo("locks/repository/0000000000000000042");
        assertThat(RepositoryLayout.leaseSequence(lease)).contains(42L);
        assertThat(RepositoryLayout.leaseLock(lease)).isEqualTo("repository");
        assertThat(RepositoryLayout.leaseKey("repository", 9).compareTo(RepositoryLayout.leaseKey("repository", 10))).isNegative();
        assertThat(RepositoryLayout.leaseSequence("locks/repository/42")).isEmpty();
        assertThat(RepositoryLayout.leaseSequence("locks/0000000000000000042")).isEmpty();
    }

    @Test
    void auditAndJournalAndTickKeys_carryTheirTime() {
        String audit = RepositoryLayout.auditKey(AT, "0a0b0c");
        assertThat(audit).isEqualTo("audit/2026/11/20261121T031500.042Z-0a0b0c.json");
        assertThat(RepositoryLayout.auditInstant(audit)).contains(AT);
        assertThat(RepositoryLayout.auditInstant("audit/2026/11/notes.txt")).isEmpty();
        assertThat(RepositoryLayout.expiryJournalKey(AT, "r1")).isEqualTo("state/expiry/20261121T031500.042Z-r1");
        assertThat(RepositoryLayout.tickLeaseKey("nightly", AT)).isEqualTo("schedule/nightly/20261121T031500Z");
    }

    @Test
    void logStreams_liveBelowTheLogRoot_asOneSegment() {
        assertThat(RepositoryLayout.walStream(7291)).isEqualTo("wal/7291");
        assertThat(RepositoryLayout.walStream(-1)).isEqualTo("wal/18446744073709551615");
        assertThat(RepositoryLayout.binlogStream("3f2a-11")).isEqualTo("binlog/3f2a-11");
        assertThat(RepositoryLayout.logKeyRecord("wal/7291/k1")).isEqualTo("keys/wal/7291/k1.dek");
        assertThat(RepositoryLayout.isLogKeyRecord("keys/binlog/3f2a-11/k1.dek")).isTrue();
        assertThat(RepositoryLayout.isLogKeyRecord("keys/20261121T031500Z-full-abc.dek")).isFalse();
        assertThat(RepositoryLayout.isLogStream("wal/7291")).isTrue();
        assertThat(RepositoryLayout.isLogStream("sim/7291")).isFalse();
        assertThatThrownBy(() -> RepositoryLayout.binlogStream("a/b")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RepositoryLayout.binlogStream("")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void formatVersion_missingReadsAsOne_newerIsRefusedNamingObjectAndVersion() throws Exception {
        ObjectMapper json = new ObjectMapper();
        assertThat(FormatVersion.of(json.readTree("{\"a\":1}"), "k", "thing", 2, null)).isEqualTo(1);
        assertThat(FormatVersion.of(json.readTree("{\"formatVersion\":2}"), "k", "thing", 2, null)).isEqualTo(2);
        assertThatThrownBy(() -> FormatVersion.of(json.readTree("{\"formatVersion\":3}"), "state/x", "thing", 2, ID))
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining("state/x").hasMessageContaining("formatVersion 3").hasMessageContaining("newer");
        assertThatThrownBy(() -> FormatVersion.of(json.readTree("{\"formatVersion\":\"two\"}"), "k", "thing", 2, null))
                .isInstanceOf(IntegrityException.class).hasMessageContaining("\"two\"");
        assertThatThrownBy(() -> FormatVersion.check(0, "k", "thing", 2, null)).isInstanceOf(IntegrityException.class);
    }
}
