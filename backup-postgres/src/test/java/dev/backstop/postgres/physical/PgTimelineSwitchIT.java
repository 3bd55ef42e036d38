package dev.backstop.postgres.physical;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.PgTools;
import dev.backstop.postgres.wal.WalArchive;
import dev.backstop.postgres.wal.WalFile;
import dev.backstop.postgres.wal.WalReceiver;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A standby streamed by the WalReceiver is promoted: archiving continues on timeline 2 and recovery crosses the switch. */
class PgTimelineSwitchIT {
    @TempDir
    Path tmp;

    static String one(EphemeralPostgres pg, String sql) throws Exception {
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    static void exec(EphemeralPostgres pg, String sql) throws Exception {
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    static void await(String what, BooleanSupplier done, java.util.function.Supplier<Object> detail) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what + ": " + detail.get());
            }
            Thread.sleep(50);
        }
    }

    static EphemeralPostgres standbyOf(EphemeralPostgres primary) throws Exception {
        Path dir = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "backstop-standby-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        ProcessBuilder pb = new ProcessBuilder(PgTools.locate().tool("pg_basebackup").toString(), "-D", dir.resolve("data").toString(),
                "-R", "-X", "stream", "-c", "fast", "-h", "127.0.0.1", "-p", Integer.toString(primary.endpoint().port()), "-U", "postgres")
                .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().put("PGPASSWORD", primary.endpoint().password());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as("pg_basebackup -R: %s", out).isZero();
        return EphemeralPostgres.builder().startExisting(dir, "postgres", primary.endpoint().password());
    }

    static boolean safely(BooleanSupplier s) {
        try {
            return s.getAsBoolean();
        } catch (RuntimeException e) {
            return false;
        }
    }

    @Test
    void promotedStandby_archivingContinuesOnTimeline2_andRecoveryCrossesTheSwitch() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        LocalKeysetKek kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        EphemeralPostgres primary = EphemeralPostgres.start();
        try (EphemeralPostgres standby = standbyOf(primary)) {
            long sysid = Long.parseLong(one(primary, "SELECT system_identifier FROM pg_control_system()"));
            WalArchive archive = WalArchive.builder(repo, sysid).keys(kek).build();
            exec(primary, "CREATE TABLE event(name text PRIMARY KEY)");
            Manifest base = BackupPipeline.builder().source(BaseBackupSource.builder(primary.endpoint()).build())
                    .compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek)).repository(repo).build().run();

            try (WalReceiver receiver = WalReceiver.builder(standby.endpoint(), archive).workDir(tmp.resolve("receiving"))
                    .backoff(Duration.ofMillis(50), Duration.ofMillis(500)).build()) {
                receiver.start();
                exec(primary, "INSERT INTO event SELECT 'tl1-' || g FROM generate_series(1, 20000) g");
                String tl1Last = one(primary, "SELECT pg_walfile_name(pg_switch_wal())");
                String primaryLsn = one(primary, "SELECT pg_current_wal_lsn()::text");
                await("standby replay", () -> safely(() -> {
                    try {
                        return WalFile.parseLsn(one(standby, "SELECT pg_last_wal_replay_lsn()::text")) >= WalFile.parseLsn(primaryLsn);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }), receiver::status);
                await(tl1Last + " archived", () -> archive.contains(tl1Last), receiver::status);
                primary.close();

                exec(standby, "SELECT pg_promote()");
                exec(standby, "INSERT INTO event SELECT 'tl2-' || g FROM generate_series(1, 20000) g");
                String tl2Last = one(standby, "SELECT pg_walfile_name(pg_switch_wal())");
                assertThat(tl2Last).startsWith("00000002");
                await(tl2Last + " archived", () -> archive.contains(tl2Last), receiver::status);
                assertThat(archive.contains("00000002.history")).isTrue();
            }

            // one segment per position, the newest timeline's where both exist: no gap from the first to the last
            TreeMap<Long, WalFile> bySegment = new TreeMap<>();
            for (WalFile f : archive.files()) {
                if (f.kind() == WalFile.Kind.SEGMENT) {
                    bySegment.merge(f.segmentNumber(), f, (a, b) -> a.timeline() > b.timeline() ? a : b);
                }
            }
            List<Long> numbers = new ArrayList<>(bySegment.keySet());
            for (int i = 1; i < numbers.size(); i++) {
                assertThat(numbers.get(i)).as("segment after %s", bySegment.get(numbers.get(i - 1))).isEqualTo(numbers.get(i - 1) + 1);
            }
            assertThat(bySegment.values()).anySatisfy(f -> assertThat(f.timeline()).isEqualTo(1))
                    .anySatisfy(f -> assertThat(f.timeline()).isEqualTo(2));

            Restore restore = Restore.builder().repository(repo).keys(kek).build();
            try (EphemeralPostgres recovered = PointInTimeRecovery.builder(restore, base).archive(archive)
                    .target(RecoveryTarget.latest()).credentials("postgres", standby.endpoint().password())
                    .timeout(Duration.ofMinutes(2)).build().recover()) {
                assertThat(one(recovered, "SELECT count(*) FROM event WHERE name LIKE 'tl1-%'")).isEqualTo("20000");
                assertThat(one(recovered, "SELECT count(*) FROM event WHERE name LIKE 'tl2-%'")).isEqualTo("20000");
                assertThat(one(recovered, "SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)")).as("promoted onto a new timeline")
                        .isEqualTo("00000003");
            }
        } finally {
            primary.close();
        }
    }
}
