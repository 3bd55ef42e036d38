package dev.backstop.mysql.recovery;

import static dev.backstop.mysql.recovery.Fixtures.count;
import static dev.backstop.mysql.recovery.Fixtures.masterStatus;
import static dev.backstop.mysql.recovery.Fixtures.sql;
import static dev.backstop.mysql.recovery.Fixtures.strings;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupException;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.TableFingerprint;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.mysql.EphemeralMariaDb;
import dev.backstop.mysql.MariaDbDumpSource;
import dev.backstop.mysql.binlog.BinlogArchive;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A logical backup, then: a temporary table made in one file and used in a later one, marker m1,
 * the target T (as position, GTID and time), markers m2 and m3 in the same binlog file as T. The
 * last file is archived as deltas only.
 */
class BinlogRecoveryIT {
    static EphemeralMariaDb source;
    static EphemeralMariaDb target;
    static KeyEncryptionKey kek;
    static Path repoRoot;
    static Manifest backup;
    static BinlogArchive archive;
    static List<String> files;
    static String[] atT;
    static String gtidAtT;
    static Instant timeT;
    static String[] atEnd;
    static String gtidAtEnd;
    static RecoveryCheckpoint checkpoint;
    static final String CHECKPOINT = "after-m1";

    @TempDir
    static Path shared;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        source = EphemeralMariaDb.start();
        source.createDatabase("shop");
        sql(source, "CREATE TABLE shop.marker (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(20) NOT NULL) ENGINE=InnoDB",
                "CREATE TABLE shop.carried (v INT PRIMARY KEY) ENGINE=InnoDB",
                "CREATE TABLE shop.item (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL) ENGINE=InnoDB",
                "INSERT INTO shop.item SELECT seq, CONCAT('item ', seq) FROM shop.seq_1_to_500");
        kek = LocalKeysetKek.create(shared.resolve("kek.json"));
        repoRoot = shared.resolve("repo");
        archive = Fixtures.archive(repoRoot, "server-" + source.serverId(), source.serverId(), kek);
        backup = Fixtures.backup(MariaDbDumpSource.builder(source.endpoint(), "shop").binlogStream(archive.stream()).build(),
                repoRoot, kek);
        long base = Instant.now().getEpochSecond() + 1000;
        try (Connection s = source.connect("shop"); Statement st = s.createStatement()) {
            // statement format logs the temporary table, so the replay needs it to live across transactions
            st.execute("SET SESSION binlog_format = 'STATEMENT'");
            st.execute("CREATE TEMPORARY TABLE tmp (v INT) ENGINE=InnoDB");
            st.execute("INSERT INTO tmp VALUES (1), (2), (3)");
            sql(source, "FLUSH BINARY LOGS", "INSERT INTO shop.item VALUES (501, 'filler')", "FLUSH BINARY LOGS");
            st.execute("INSERT INTO carried SELECT v FROM tmp");
            st.execute("DROP TEMPORARY TABLE tmp");
            st.execute("SET SESSION binlog_format = 'ROW'");
            st.execute("SET timestamp = " + (base + 100));
            st.execute("INSERT INTO marker (name) VALUES ('m1')");
        }
        checkpoint = RecoveryCheckpoints.builder(source.endpoint(), Repository.filesystem(repoRoot).withKeys(kek), archive)
                .databases("shop").build().record(CHECKPOINT);
        atT = masterStatus(source);
        gtidAtT = Fixtures.gtidBinlogPos(source);
        timeT = Instant.ofEpochSecond(base + 105);
        try (Connection s = source.connect("shop"); Statement st = s.createStatement()) {
            st.execute("SET timestamp = " + (base + 110));
            st.execute("INSERT INTO marker (name) VALUES ('m2')");
            st.execute("SET timestamp = " + (base + 120));
            st.execute("INSERT INTO marker (name) VALUES ('m3')");
        }
        atEnd = masterStatus(source);
        gtidAtEnd = Fixtures.gtidBinlogPos(source);
        files = Fixtures.serverFiles(source);
        Fixtures.archiveAll(source, archive);
        target = EphemeralMariaDb.builder().serverId(source.serverId()).start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (target != null) {
            target.close();
        }
        if (source != null) {
            source.close();
        }
    }

    BinlogRecovery recovery(BinlogArchive a) {
        return BinlogRecovery.builder(Fixtures.restore(repoRoot, kek), a).workDir(tmp).build();
    }

    static RecoveryTarget targetT(String kind) {
        return switch (kind) {
            case "position" -> RecoveryTarget.position(atT[0], Long.parseLong(atT[1]));
            case "gtid" -> RecoveryTarget.gtid(gtidAtT);
            case "time" -> RecoveryTarget.before(timeT);
            default -> throw new IllegalArgumentException(kind);
        };
    }

    @ParameterizedTest(name = "target T as {0}")
    @ValueSource(strings = {"position", "gtid", "time"})
    void recover_toTargetT_hasMarkerM1Only_andTheTemporaryTableCarriedAcrossFilesInOneSession(String kind) throws Exception {
        assertThat(files).hasSize(3);
        assertThat(atT[0]).isEqualTo(files.get(2));

        try (BinlogRecovery.Recovered r = recovery(archive).recover(backup, targetT(kind))) {
            assertThat(strings(r.server(), "SELECT name FROM shop.marker ORDER BY id")).containsExactly("m1");
            assertThat(strings(r.server(), "SELECT v FROM shop.carried ORDER BY v")).containsExactly("1", "2", "3");
            assertThat(count(r.server(), "shop.item")).isEqualTo(501);
            RecoveryReport report = r.report();
            assertThat(report.backup()).isEqualTo(backup.id());
            assertThat(report.from().file()).isEqualTo(files.get(0));
            assertThat(report.files()).containsExactlyElementsOf(files);
            assertThat(report.reached().file()).isEqualTo(atT[0]);
            // the end of m1's transaction; the server may write a binlog checkpoint event (no transaction) after it
            assertThat(report.reached().position()).isLessThanOrEqualTo(checkpoint.position());
            assertThat(report.reached().gtid()).isEqualTo(gtidAtT);
            assertThat(report.lastTransaction()).isEqualTo(timeT.minusSeconds(5));
        }
        assertThat(Fixtures.replayLeftovers(tmp)).isEmpty();
    }

    @Test
    void recover_toLatest_replaysTheDeltasOfTheActiveFile_upToM3() throws Exception {
        assertThat(archive.contains(files.get(2))).isFalse();
        // at least up to m3; the server may have added a binlog checkpoint event (no transaction) since
        long archivedEnd = archive.deltaEnd(files.get(2));
        assertThat(archivedEnd).isGreaterThanOrEqualTo(Long.parseLong(atEnd[1]));

        try (BinlogRecovery.Recovered r = recovery(archive).recover(backup, RecoveryTarget.latest())) {
            assertThat(strings(r.server(), "SELECT name FROM shop.marker ORDER BY id")).containsExactly("m1", "m2", "m3");
            assertThat(strings(r.server(), "SELECT v FROM shop.carried ORDER BY v")).containsExactly("1", "2", "3");
            assertThat(r.report().reached().file()).isEqualTo(atEnd[0]);
            assertThat(r.report().reached().position()).isGreaterThan(checkpoint.position()).isLessThanOrEqualTo(Long.parseLong(atEnd[1]));
            assertThat(r.report().reached().gtid()).isEqualTo(gtidAtEnd);
        }
    }

    @Test
    void recover_withAMissingFileInTheArchive_isRefusedNamingIt_andTheTargetIsUntouched() throws Exception {
        BinlogArchive gapped = Fixtures.archive(tmp.resolve("gapped"), "server-" + source.serverId(), source.serverId(), kek);
        gapped.put(Fixtures.serverFile(source, files.get(0)), files.get(0));
        gapped.putDelta(files.get(2), 0, archive.deltaEnd(files.get(2)), Fixtures.serverFile(source, files.get(2)));

        assertThatThrownBy(() -> recovery(gapped).recoverInto(backup, RecoveryTarget.latest(), target.endpoint()))
                .isInstanceOf(TargetNotReachedException.class)
                .hasMessageContaining("binlog " + files.get(1) + " is missing from archive");
        assertThatThrownBy(() -> recovery(gapped).prepare(backup, targetT("gtid")))
                .hasMessageContaining("binlog " + files.get(1) + " is missing from archive");
        assertThat(strings(target, "SHOW DATABASES")).doesNotContain("shop");
        assertThat(Fixtures.replayLeftovers(tmp)).isEmpty();
    }

    @Test
    void recover_withATamperedArchivedBinlog_isRefusedByItsVerification_andTheTargetIsUntouched() throws Exception {
        Path copy = tmp.resolve("copy");
        Fixtures.copyTree(repoRoot, copy);
        BinlogArchive tampered = Fixtures.archive(copy, "server-" + source.serverId(), source.serverId(), kek);
        Path stored = copy.resolve(tampered.logs().keyOf(BinlogArchive.file(files.get(1))));
        byte[] bytes = Files.readAllBytes(stored);
        bytes[bytes.length / 2] ^= 0x01;
        Files.write(stored, bytes);

        assertThatThrownBy(() -> recovery(tampered).recoverInto(backup, RecoveryTarget.latest(), target.endpoint()))
                .isInstanceOf(IntegrityException.class);
        assertThat(strings(target, "SHOW DATABASES")).doesNotContain("shop");
        assertThat(Fixtures.replayLeftovers(tmp)).isEmpty();
    }

    @Test
    void recover_withAnArchiveLackingTheBackupsFile_isRefusedNamingIt() throws Exception {
        BinlogArchive late = Fixtures.archive(tmp.resolve("late"), "server-" + source.serverId(), source.serverId(), kek);
        late.put(Fixtures.serverFile(source, files.get(1)), files.get(1));

        assertThatThrownBy(() -> recovery(late).recoverInto(backup, RecoveryTarget.latest(), target.endpoint()))
                .isInstanceOf(TargetNotReachedException.class).hasMessageContaining("binlog " + files.get(0) + " (backup " + backup.id() + "'s point")
                .hasMessageContaining("is not in archive");
        assertThat(strings(target, "SHOW DATABASES")).doesNotContain("shop");
    }

    @Test
    void recover_withAnotherServersArchive_isRefused_byServerIdAndByHistory() throws Exception {
        BinlogArchive otherId = Fixtures.archive(tmp.resolve("other-id"), "other", source.serverId() + 1, kek);
        assertThatThrownBy(() -> recovery(otherId).recoverInto(backup, RecoveryTarget.latest(), target.endpoint()))
                .hasMessageContaining("belongs to another server");

        // a server configured with the same server id writes binlogs this archive accepts: its history differs
        sql(target, "CREATE DATABASE other", "CREATE TABLE other.t (id INT PRIMARY KEY) ENGINE=InnoDB",
                "INSERT INTO other.t SELECT seq FROM other.seq_1_to_2000", "INSERT INTO other.t VALUES (5000)", "FLUSH BINARY LOGS");
        String first = Fixtures.serverFiles(target).get(0);
        BinlogArchive impostor = Fixtures.archive(tmp.resolve("impostor"), "impostor", source.serverId(), kek);
        impostor.put(Fixtures.serverFile(target, first), first);
        assertThat(first).isEqualTo(files.get(0));

        assertThatThrownBy(() -> recovery(impostor).recoverInto(backup, RecoveryTarget.latest(), target.endpoint()))
                .hasMessageContaining("not of the backup's server history");
        assertThat(strings(target, "SHOW DATABASES")).doesNotContain("shop");
    }

    @Test
    void prepare_ofATargetBeforeTheBackupOrPastTheArchive_isRefusedNamingIt() {
        BinlogRecovery recovery = recovery(archive);
        String domainAndServer = gtidAtT.substring(0, gtidAtT.lastIndexOf('-'));
        assertThatThrownBy(() -> recovery.prepare(backup, RecoveryTarget.gtid(domainAndServer + "-1")))
                .isNotInstanceOf(TargetNotReachedException.class)
                .hasMessageContaining("is before backup " + backup.id());
        assertThatThrownBy(() -> recovery.prepare(backup, RecoveryTarget.position(atEnd[0], Long.parseLong(atEnd[1]) + 1000)))
                .isInstanceOf(TargetNotReachedException.class).hasMessageContaining("the archive holds " + atEnd[0] + " up to byte " + archive.deltaEnd(atEnd[0]));
        assertThatThrownBy(() -> recovery.prepare(backup, RecoveryTarget.gtid(domainAndServer + "-999999")))
                .isInstanceOf(TargetNotReachedException.class).hasMessageContaining("the archive ends in " + atEnd[0]);
        assertThatThrownBy(() -> recovery.prepare(backup, RecoveryTarget.before(timeT.plusSeconds(3600))))
                .hasMessageContaining("before the target before " + timeT.plusSeconds(3600));
    }

    @Test
    void prepare_fetchesOnlyWhatTheTargetNeeds_andReportsTheRange() throws Exception {
        try (BinlogReplay replay = recovery(archive).prepare(backup, targetT("position"))) {
            assertThat(replay.files()).containsExactlyElementsOf(files);
            assertThat(replay.from().file()).isEqualTo(backup.consistency().properties().get("binlog_file"));
            assertThat(replay.reached().gtid()).isEqualTo(gtidAtT);
            assertThat(replay.transactions()).isGreaterThanOrEqualTo(4);
        }
        assertThat(Fixtures.replayLeftovers(tmp)).isEmpty();
    }

    @Test
    void drill_toACheckpointRecordedByName_passes_comparingFingerprintsAndCheckingTables_andIsRecorded() throws Exception {
        Restore restore = Fixtures.restore(repoRoot, kek);
        assertThat(RecoveryCheckpoints.read(restore.repository(), archive, CHECKPOINT)).hasValue(checkpoint);
        assertThat(repoRoot.resolve("points/binlog/server-" + source.serverId() + "/" + CHECKPOINT + ".json")).exists();

        ValidationResult r = MariaDbPitrDrill.builder(archive, CHECKPOINT).workDir(tmp).build().validate(backup, restore);

        assertThat(r.findings()).isEmpty();
        assertThat(r.validator()).isEqualTo(MariaDbPitrDrill.NAME);
        assertThat(r.measurements()).containsEntry("fingerprints", "compared").containsEntry("check_table", "passed")
                .containsEntry("tables", "3").containsEntry("rows", "505")
                .containsEntry("gtid", checkpoint.gtid()).containsEntry("checkpoint", checkpoint.file() + ":" + checkpoint.position())
                .containsKeys("rto_ms", "fetch_ms", "restore_ms", "replay_ms");
        assertThat(Repository.filesystem(repoRoot).latestValidation(backup.id())).hasValueSatisfying(v ->
                assertThat(v.validator()).isEqualTo(MariaDbPitrDrill.NAME));
    }

    @Test
    void drill_withACheckpointTheRecoveryDoesNotReproduce_namesTheTable() throws Exception {
        Fingerprints shop = checkpoint.databases().get("shop");
        Map<String, TableFingerprint> tables = new HashMap<>(shop.tables());
        tables.put("marker", new TableFingerprint(2, tables.get("marker").contentHash()));
        RecoveryCheckpoint wrong = new RecoveryCheckpoint(checkpoint.file(), checkpoint.position(), checkpoint.gtid(),
                checkpoint.serverId(), checkpoint.takenAt(), Map.of("shop", new Fingerprints(shop.schemaHash(), tables, shop.objects())));

        ValidationResult r = MariaDbPitrDrill.builder(archive, wrong).workDir(tmp).record(false).build()
                .validate(backup, Fixtures.restore(repoRoot, kek));

        assertThat(r.passed()).isFalse();
        assertThat(r.findings()).containsExactly("table shop.marker: expected 2 rows, found 1");
    }

    @Test
    void drill_toAnEditedCheckpointRecord_failsNamingTheRecord_withoutRecovering() throws Exception {
        Path copy = tmp.resolve("copy");
        Fixtures.copyTree(repoRoot, copy);
        Path stored = copy.resolve(RecoveryCheckpoints.keyOf(archive, CHECKPOINT));
        String json = Files.readString(stored);
        String edited = json.replaceFirst("\"rows\" : 1,", "\"rows\" : 2,");
        assertThat(edited).isNotEqualTo(json);
        Files.writeString(stored, edited);

        ValidationResult r = MariaDbPitrDrill.builder(archive, CHECKPOINT).workDir(tmp).record(false).build()
                .validate(backup, Fixtures.restore(copy, kek));

        assertThat(r.passed()).isFalse();
        assertThat(r.findings()).singleElement().asString().contains(RecoveryCheckpoints.keyOf(archive, CHECKPOINT));
        assertThat(r.measurements()).doesNotContainKeys("rto_ms", "checkpoint");
    }

    @Test
    void drill_toACheckpointRecordMovedFromAnotherName_failsNamingTheRecord_withoutRecovering() throws Exception {
        Path copy = tmp.resolve("copy");
        Fixtures.copyTree(repoRoot, copy);
        Files.copy(copy.resolve(RecoveryCheckpoints.keyOf(archive, CHECKPOINT)), copy.resolve(RecoveryCheckpoints.keyOf(archive, "moved")));

        ValidationResult r = MariaDbPitrDrill.builder(archive, "moved").workDir(tmp).record(false).build()
                .validate(backup, Fixtures.restore(copy, kek));

        assertThat(r.passed()).isFalse();
        assertThat(r.findings()).singleElement().asString().contains(RecoveryCheckpoints.keyOf(archive, "moved"));
        assertThat(r.measurements()).doesNotContainKey("rto_ms");
        assertThatThrownBy(() -> RecoveryCheckpoints.read(Repository.filesystem(copy), archive, "moved"))
                .as("keyless, by the name the record says").isInstanceOf(IntegrityException.class)
                .hasMessageContaining("recovery checkpoint record owner");
    }

    @Test
    void drill_toACheckpointNeverRecorded_failsSayingSo_andRecordingANameTwiceIsRefused() throws Exception {
        ValidationResult r = MariaDbPitrDrill.builder(archive, "never-taken").workDir(tmp).record(false).build()
                .validate(backup, Fixtures.restore(repoRoot, kek));

        assertThat(r.passed()).isFalse();
        assertThat(r.findings()).containsExactly("no recovery checkpoint 'never-taken' is recorded for " + archive.stream() + " ("
                + RecoveryCheckpoints.keyOf(archive, "never-taken") + " does not exist)");
        RecoveryCheckpoints checkpoints = RecoveryCheckpoints.builder(source.endpoint(),
                Repository.filesystem(repoRoot).withKeys(kek), archive).build();
        assertThatThrownBy(() -> checkpoints.record(CHECKPOINT)).isInstanceOf(BackupException.class)
                .hasMessageContaining("'" + CHECKPOINT + "' is already recorded at " + RecoveryCheckpoints.keyOf(archive, CHECKPOINT));
        BinlogArchive otherServer = Fixtures.archive(repoRoot, "other", source.serverId() + 1, kek);
        assertThatThrownBy(() -> RecoveryCheckpoints.builder(source.endpoint(), Repository.filesystem(repoRoot).withKeys(kek),
                otherServer).databases("shop").build().record("elsewhere")).isInstanceOf(BackupException.class)
                .hasMessageContaining("another server");
        assertThat(RecoveryCheckpoints.read(Repository.filesystem(repoRoot).withKeys(kek), otherServer, "elsewhere")).isEmpty();
    }
}
