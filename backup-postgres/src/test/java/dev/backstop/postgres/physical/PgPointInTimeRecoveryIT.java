package dev.backstop.postgres.physical;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.wal.WalArchive;
import dev.backstop.postgres.wal.WalFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One history, built once: pgbench running during a base backup, more
 * writes, a marker row and time T, more writes, a second marker. Every test recovers a fresh
 * server from the same backup and archive.
 */
class PgPointInTimeRecoveryIT {
    static Archiving src;
    static Manifest backup;
    static Restore restore;
    static Instant t;
    static long lsnAtT;
    static long xidOfBefore;
    static Fingerprints atT;

    @BeforeAll
    static void history() throws Exception {
        src = new Archiving();
        src.pgbench("-i", "-s", "1", "-q");
        try (Connection c = src.pg.connect("postgres"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE marker(name text PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())");
        }
        CompletableFuture<Void> load = CompletableFuture.runAsync(() -> {
            try {
                src.pgbench("-n", "-c", "2", "-T", "4");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        src.awaitPgbenchConnected();
        backup = BackupPipeline.builder().source(BaseBackupSource.builder(src.pg.endpoint()).build())
                .compress(ZstdTransform.level(3)).encrypt(Encryption.with(src.kek)).repository(src.repo).build().run();
        load.join();
        src.pgbench("-n", "-c", "1", "-t", "300");
        try (Connection c = src.pg.connect("postgres"); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.execute("INSERT INTO marker(name) VALUES ('before')");
            try (ResultSet rs = st.executeQuery("SELECT txid_current()")) {
                rs.next();
                xidOfBefore = rs.getLong(1);
            }
            c.commit();
            c.setAutoCommit(true);
            try (ResultSet rs = st.executeQuery("SELECT clock_timestamp(), pg_current_wal_insert_lsn()::text")) {
                rs.next();
                t = rs.getObject(1, java.time.OffsetDateTime.class).toInstant();
                lsnAtT = WalFile.parseLsn(rs.getString(2));
            }
            st.execute("SELECT pg_create_restore_point('after-before-marker')");
        }
        atT = Prints.of(src.pg, "postgres");
        src.pgbench("-n", "-c", "1", "-t", "300");
        try (Connection c = src.pg.connect("postgres"); Statement st = c.createStatement()) {
            st.execute("INSERT INTO marker(name) VALUES ('after')");
        }
        src.archiveAll();
        restore = Restore.builder().repository(src.repo).keys(src.kek).build();
    }

    @AfterAll
    static void stop() throws Exception {
        if (src != null) {
            src.close();
        }
    }

    static EphemeralPostgres recover(RecoveryTarget target) {
        return PointInTimeRecovery.builder(restore, backup).archive(src.archive).target(target)
                .credentials("postgres", src.pg.endpoint().password()).timeout(java.time.Duration.ofMinutes(2)).build().recover();
    }

    static List<String> markers(EphemeralPostgres pg) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT name FROM marker ORDER BY name")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    @Test
    void recoverToTimeT_keepsTheMarkerBeforeT_dropsTheOneAfter_andEqualsTheSnapshotAtT() throws Exception {
        try (EphemeralPostgres pg = recover(RecoveryTarget.time(t, true))) {
            assertThat(markers(pg)).containsExactly("before");
            Fingerprints restored = Prints.of(pg, "postgres");
            assertThat(restored.tables().get("public.pgbench_history").rows())
                    .isEqualTo(atT.tables().get("public.pgbench_history").rows());
            assertThat(restored).isEqualTo(atT);
            try (Connection c = pg.connect("postgres"); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery(), current_setting('archive_mode')")) {
                rs.next();
                assertThat(rs.getBoolean(1)).as("promoted").isFalse();
                assertThat(rs.getString(2)).isEqualTo("off");
                st.execute("INSERT INTO marker(name) VALUES ('written after promotion')");
            }
        }
    }

    @Test
    void recoverToRestorePoint_equalsTheSnapshotAtT() throws Exception {
        try (EphemeralPostgres pg = recover(RecoveryTarget.restorePoint("after-before-marker"))) {
            assertThat(markers(pg)).containsExactly("before");
            assertThat(Prints.of(pg, "postgres")).isEqualTo(atT);
        }
    }

    @Test
    void recoverToXidOfTheMarker_equalsTheSnapshotAtT() throws Exception {
        try (EphemeralPostgres pg = recover(RecoveryTarget.xid(xidOfBefore, true))) {
            assertThat(Prints.of(pg, "postgres")).isEqualTo(atT);
        }
    }

    @Test
    void recoverToLsnAtT_equalsTheSnapshotAtT() throws Exception {
        try (EphemeralPostgres pg = recover(RecoveryTarget.lsn(lsnAtT, true))) {
            assertThat(Prints.of(pg, "postgres")).isEqualTo(atT);
        }
    }

    @Test
    void recoverToLatest_hasBothMarkers() throws Exception {
        try (EphemeralPostgres pg = recover(RecoveryTarget.latest())) {
            assertThat(markers(pg)).containsExactly("after", "before");
        }
    }

    @Test
    void afterKekRotation_rewrap_andDisablingTheRetiredKey_recoverToLatestStillWorks() throws Exception {
        // on a copy of the repository and the keyset, so the other recoveries keep theirs
        Path copy = src.dir.resolve("rotated");
        try (java.util.stream.Stream<Path> files = Files.walk(src.dir.resolve("repo"))) {
            for (Path f : files.toList()) {
                Path to = copy.resolve("repo").resolve(src.dir.resolve("repo").relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(f, to);
                }
            }
        }
        Path kekFile = copy.resolve("kek.json");
        Files.copy(src.dir.resolve("kek.json"), kekFile);
        Repository repo = Repository.filesystem(copy.resolve("repo"));
        LocalKeysetKek rotated = LocalKeysetKek.rotate(kekFile);
        Encryption.with(rotated).rewrap(repo);
        LocalKeysetKek onlyNew = LocalKeysetKek.disableRetired(kekFile);

        Restore r = Restore.builder().repository(repo).keys(onlyNew).build();
        WalArchive archive = WalArchive.builder(repo, src.archive.systemId()).keys(onlyNew).build();
        try (EphemeralPostgres pg = PointInTimeRecovery.builder(r, r.manifest(backup.id())).archive(archive)
                .target(RecoveryTarget.latest()).credentials("postgres", src.pg.endpoint().password())
                .timeout(java.time.Duration.ofMinutes(2)).build().recover()) {
            assertThat(markers(pg)).containsExactly("after", "before");
        }
    }

    @Test
    void recoverPastTheEndOfTheArchive_failsAndSaysTheTargetWasNotReached() {
        assertThatThrownBy(() -> recover(RecoveryTarget.time(Instant.now().plusSeconds(3600), true)))
                .isInstanceOf(BackupException.class)
                .hasMessageContaining("stopped before promotion")
                .hasMessageContaining("recovery ended before configured recovery target was reached");
    }

    @Test
    void prepare_intoAKeptDirectory_recoversToTheRestorePointOnItsOwn_withTheGivenRestoreCommand() throws Exception {
        // a restore_command that needs nothing of this JVM: the archive exported into a plain directory
        Path exported = Files.createDirectories(src.dir.resolve("exported-wal"));
        for (WalFile f : src.archive.files()) {
            assertThat(src.archive.get(f.name(), exported.resolve(f.name()))).isTrue();
            // the server's OS user reads them
            Files.setPosixFilePermissions(exported.resolve(f.name()), java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        }
        Path kept = Files.createDirectories(src.dir.resolve("kept"));
        Files.setPosixFilePermissions(kept, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        Path data = kept.resolve("data");
        PointInTimeRecovery pitr = PointInTimeRecovery.builder(restore, backup).archive(src.archive)
                .target(RecoveryTarget.restorePoint("after-before-marker")).build();

        java.util.Map<String, String> settings = pitr.prepare(data, "cp '" + exported + "/%f' '%p'");

        assertThat(settings).containsEntry("restore_command", "cp '" + exported + "/%f' '%p'")
                .containsEntry("recovery_target_name", "after-before-marker").containsEntry("archive_mode", "off")
                .containsEntry("recovery_target_action", "promote");
        assertThat(data.resolve("recovery.signal")).exists();
        assertThat(Files.readString(data.resolve("postgresql.auto.conf"))).contains("restore_command = 'cp ''" + exported);
        try (EphemeralPostgres pg = EphemeralPostgres.builder().startTimeout(java.time.Duration.ofMinutes(2))
                .startExisting(kept, "postgres", src.pg.endpoint().password())) {
            long deadline = System.nanoTime() + java.time.Duration.ofMinutes(2).toNanos();
            while (inRecovery(pg)) {
                assertThat(System.nanoTime()).as("promoted within 2 minutes").isLessThan(deadline);
                Thread.onSpinWait();
            }
            assertThat(markers(pg)).containsExactly("before");
            assertThat(Prints.of(pg, "postgres")).isEqualTo(atT);
        }
    }

    @Test
    void prepare_withPauseAtTheTarget_staysReadOnlyThere_andRecoverRefusesSuchATarget() throws Exception {
        Path exported = Files.createDirectories(src.dir.resolve("exported-wal-pause"));
        for (WalFile f : src.archive.files()) {
            assertThat(src.archive.get(f.name(), exported.resolve(f.name()))).isTrue();
            Files.setPosixFilePermissions(exported.resolve(f.name()), java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        }
        Path kept = Files.createDirectories(src.dir.resolve("kept-paused"));
        RecoveryTarget paused = RecoveryTarget.restorePoint("after-before-marker").then(RecoveryTarget.Action.PAUSE);
        PointInTimeRecovery pitr = PointInTimeRecovery.builder(restore, backup).archive(src.archive).target(paused).build();
        assertThatThrownBy(pitr::recover).isInstanceOf(IllegalStateException.class).hasMessageContaining("use prepare");

        pitr.prepare(kept.resolve("data"), "cp '" + exported + "/%f' '%p'");

        try (EphemeralPostgres pg = EphemeralPostgres.builder().startTimeout(java.time.Duration.ofMinutes(2))
                .startExisting(kept, "postgres", src.pg.endpoint().password())) {
            long deadline = System.nanoTime() + java.time.Duration.ofMinutes(2).toNanos();
            while (!"paused".equals(pauseState(pg))) {
                assertThat(System.nanoTime()).as("paused at the target within 2 minutes").isLessThan(deadline);
            }
            assertThat(inRecovery(pg)).as("still in recovery, read-only").isTrue();
            assertThat(markers(pg)).containsExactly("before");
        }
    }

    static String pauseState(EphemeralPostgres pg) throws Exception {
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_get_wal_replay_pause_state()")) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Test
    void prepare_intoADirectoryThatExists_isRefused_andLeavesItAsItWas() throws Exception {
        Path existing = Files.createDirectories(src.dir.resolve("occupied"));
        Files.writeString(existing.resolve("keep.txt"), "mine");
        PointInTimeRecovery pitr = PointInTimeRecovery.builder(restore, backup).archive(src.archive)
                .target(RecoveryTarget.latest()).build();

        assertThatThrownBy(() -> pitr.prepare(existing, "cp /nowhere/%f %p")).isInstanceOf(BackupException.class)
                .hasMessageContaining("must not exist yet");
        assertThat(Files.readString(existing.resolve("keep.txt"))).isEqualTo("mine");
        assertThatThrownBy(() -> pitr.prepare(src.dir.resolve("never"), "cp /nowhere/x %p"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("%f");
        assertThat(src.dir.resolve("never")).doesNotExist();
    }

    static boolean inRecovery(EphemeralPostgres pg) throws Exception {
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    @Test
    void archive_holdsEveryFileAsZstdAeadUnderTheSystemId() throws Exception {
        Path walDir = src.dir.resolve("repo/wal/" + Long.toUnsignedString(src.archive.systemId()) + "/00000001");
        assertThat(src.archive.files()).isNotEmpty().allSatisfy(f -> assertThat(f.timeline()).isEqualTo(1));
        String first = src.archive.files().get(0).name();
        assertThat(src.archive.logs().metadata(src.archive.files().get(0).logFile()).orElseThrow().transforms())
                .extracting(t -> t.id() + "/" + t.parameters().getOrDefault("level", t.parameters().get("algorithm")))
                .containsExactly("zstd/3", "aead/AES256_GCM_HKDF_1MB");
        assertThat(Files.readString(walDir.resolve(first + ".meta"))).contains("\"formatVersion\" : 3", "\"authentication\"");
        assertThat(src.archive.segments()).isNotEmpty();
    }
}
