package dev.backstop.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureException;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.postgres.internal.ToolProcess;
import dev.backstop.postgres.logical.PgDumpSource;
import dev.backstop.postgres.logical.PostgresRestore;
import dev.backstop.postgres.physical.BaseBackupSource;
import dev.backstop.postgres.wal.WalArchive;
import dev.backstop.postgres.wal.WalReceiver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS against real servers and a real CA: a TLS-only server whose certificate, signed by a CA
 * made with openssl for this run, names {@code localhost} and nothing else (not 127.0.0.1), and
 * a second CA that signed nothing the server holds.
 */
class PgTlsIT {
    @TempDir
    static Path certs;
    @TempDir
    Path tmp;

    static TestCa ca;
    static TestCa otherCa;
    static Path[] client;
    static EphemeralPostgres pg;

    @BeforeAll
    static void start() throws Exception {
        ca = TestCa.create(certs, "backstop-test-ca");
        otherCa = TestCa.create(certs, "other-ca");
        Path[] server = ca.server("server", "localhost", "DNS:localhost");
        client = ca.client("client", "backup", "rsa");
        pg = EphemeralPostgres.builder().tls(server[0], server[1]).clientCertificates(ca.certificate())
                .setting("track_commit_timestamp", "on").start();
        pg.createDatabase("shop");
        try (Connection c = pg.connect("shop")) {
            Shop.create(c, 200);
        }
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement()) {
            st.execute("CREATE ROLE backup LOGIN SUPERUSER PASSWORD 'backup-pw'");
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (pg != null) {
            pg.close();
        }
    }

    /** The server by the name its certificate holds. */
    static PgEndpoint byName(PgTls tls) {
        return pg.endpoint().withHost("localhost").withTls(tls);
    }

    static String one(PgEndpoint ep, String sql) throws SQLException {
        try (Connection c = ep.connect("postgres"); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    KeyEncryptionKey kek;

    @BeforeEach
    void keys() {
        kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
    }

    Manifest dump(PgEndpoint ep) {
        return BackupPipeline.builder().source(PgDumpSource.builder(ep, "shop").build())
                .encrypt(Encryption.with(kek)).repository(Repository.filesystem(tmp.resolve("repo")))
                .build().run();
    }

    /** Runs a libpq program against {@code ep}: exit code, then stderr. */
    static Object[] libpq(String program, PgEndpoint ep, String... args) throws Exception {
        try (ToolProcess p = ToolProcess.start(PgTools.locate().tool(program), List.of(args), ep, null,
                ProcessBuilder.Redirect.DISCARD)) {
            int exit = p.waitFor();
            return new Object[] {exit, p.stderrTail()};
        }
    }

    @Test
    void verifyFull_withTheRightCaAndHostName_connectsOverTls() throws Exception {
        PgEndpoint ep = byName(PgTls.verifyFull(ca.certificate()));

        assertThat(one(ep, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).isEqualTo("t");
        assertThat(one(ep.withTls(PgTls.verifyCa(ca.certificate())).withHost("127.0.0.1"),
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).as("verify-ca does not check the host name")
                .isEqualTo("t");
    }

    @Test
    void pgDumpBackup_overVerifyFull_capturesAndRestores() throws Exception {
        PgEndpoint ep = byName(PgTls.verifyFull(ca.certificate()));

        Manifest m = dump(ep);

        assertThat(m.fingerprints()).isPresent();
        assertThat(m.fingerprints().get().tables().get("shop.customer").rows()).isEqualTo(200);
        pg.createDatabase("shop_restored");
        Restore restore = Restore.builder().repository(Repository.filesystem(tmp.resolve("repo")))
                .keys(kek).build();
        PostgresRestore.builder(restore, ep, "shop_restored").allowNonEmpty(true).build().run(m);
        try (Connection c = ep.connect("shop_restored"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM shop.customer")) {
            rs.next();
            assertThat(rs.getLong(1)).isEqualTo(200);
        }
    }

    @Test
    void baseBackup_overVerifyFull_capturesTheCluster() {
        PgEndpoint ep = byName(PgTls.verifyFull(ca.certificate()));

        Manifest m = BackupPipeline.builder().source(BaseBackupSource.builder(ep).build())
                .repository(Repository.filesystem(tmp.resolve("physical-repo"))).noEncryption().build().run();

        assertThat(m.type()).isEqualTo(BackupType.PHYSICAL);
        assertThat(m.plaintextBytes()).isPositive();
    }

    @Test
    void libpqTools_verifyFull_connectWithTheRightCa_andRefuseAnotherCaOrAnotherHostName() throws Exception {
        String[] schemaOnly = {"--schema-only", "--dbname=shop", "--file=/dev/null"};

        Object[] right = libpq("pg_dump", byName(PgTls.verifyFull(ca.certificate())), schemaOnly);
        Object[] otherCaRun = libpq("pg_dump", byName(PgTls.verifyFull(otherCa.certificate())), schemaOnly);
        Object[] byAddress = libpq("pg_dump", byName(PgTls.verifyFull(ca.certificate())).withHost("127.0.0.1"), schemaOnly);

        assertThat(right).as("pg_dump with the right CA and host name: %s", right[1]).startsWith(0);
        assertThat((int) otherCaRun[0]).isNotZero();
        assertThat((String) otherCaRun[1]).contains("certificate verify failed");
        assertThat((int) byAddress[0]).isNotZero();
        assertThat((String) byAddress[1]).contains("server certificate for \"localhost\"", "does not match host name \"127.0.0.1\"");
    }

    @Test
    void backup_withAnotherCa_failsNamingTheRootCertificate() {
        PgEndpoint ep = byName(PgTls.verifyFull(otherCa.certificate()));

        assertThatThrownBy(() -> dump(ep)).isInstanceOf(CaptureException.class)
                .hasMessageContaining("could not connect to database 'shop'")
                .hasMessageContaining("TLS connection to localhost:" + pg.endpoint().port() + " failed with sslmode=verify-full "
                        + "sslrootcert=" + otherCa.certificate())
                .hasMessageContaining("the server's certificate does not chain to the root certificate " + otherCa.certificate());
        assertThat(tmp.resolve("repo/backups")).satisfiesAnyOf(p -> assertThat(p).doesNotExist(), p -> assertThat(p).isEmptyDirectory());
    }

    @Test
    void backup_byAnAddressTheCertificateDoesNotName_failsNamingTheHost() {
        PgEndpoint ep = byName(PgTls.verifyFull(ca.certificate())).withHost("127.0.0.1");

        assertThatThrownBy(() -> dump(ep)).isInstanceOf(CaptureException.class)
                .hasMessageContaining("failed with sslmode=verify-full")
                .hasMessageContaining("the server's certificate does not name host '127.0.0.1'");
    }

    @Test
    void missingRootCertificate_failsNamingTheFile() {
        Path missing = certs.resolve("no-such-root.crt");

        assertThatThrownBy(() -> byName(PgTls.verifyFull(missing)).connect("postgres")).isInstanceOf(SQLException.class)
                .hasMessageContaining("cannot read the root certificate " + missing);
    }

    @Test
    void require_againstAServerWithoutTls_failsSayingSo_forJdbcAndLibpq() throws Exception {
        try (EphemeralPostgres plain = EphemeralPostgres.start()) {
            plain.createDatabase("shop");
            PgEndpoint ep = plain.endpoint().withTls(PgTls.require());

            assertThatThrownBy(() -> BackupPipeline.builder().source(PgDumpSource.builder(ep, "shop").build())
                    .repository(Repository.filesystem(tmp.resolve("plain-repo"))).noEncryption().build().run())
                    .isInstanceOf(CaptureException.class)
                    .hasMessageContaining("failed with sslmode=require: the server does not offer TLS");
            Object[] psql = libpq("psql", ep, "--dbname=shop", "--command=SELECT 1");
            assertThat((int) psql[0]).isNotZero();
            assertThat((String) psql[1]).contains("server does not support SSL, but SSL was required");
        }
    }

    @Test
    void disable_againstATlsOnlyServer_failsSayingTheServerWantsTls() {
        assertThatThrownBy(() -> byName(PgTls.disable()).connect("postgres")).isInstanceOf(SQLException.class)
                .hasMessageContaining("failed with sslmode=disable: the server accepts this connection only over TLS");
    }

    @Test
    void clientCertificate_isPresentedByJdbcAndLibpq_toAServerThatDemandsOne() throws Exception {
        PgEndpoint backup = PgEndpoint.of("localhost", pg.endpoint().port(), "backup", "backup-pw");
        PgEndpoint withoutCert = backup.withTls(PgTls.verifyFull(ca.certificate()));
        PgEndpoint withCert = backup.withTls(PgTls.builder(SslMode.VERIFY_FULL).rootCertificate(ca.certificate())
                .clientCertificate(client[0], client[1]).build());

        assertThatThrownBy(() -> withoutCert.connect("postgres")).isInstanceOf(SQLException.class)
                .hasMessageContaining("the server asks for a client certificate that chains to its CA");
        assertThat(one(withCert, "SELECT client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).isEqualTo("/CN=backup");
        Object[] dump = libpq("pg_dump", withCert, "--schema-only", "--dbname=shop", "--file=/dev/null");
        assertThat(dump).as("pg_dump with the client certificate: %s", dump[1]).startsWith(0);
    }

    @Test
    void anEcClientKey_isUsableByJdbcAndLibpq() throws Exception {
        Path[] ec = ca.client("ec-client", "backup", "ec");
        PgEndpoint withCert = PgEndpoint.of("localhost", pg.endpoint().port(), "backup", "backup-pw").withTls(
                PgTls.builder(SslMode.VERIFY_FULL).rootCertificate(ca.certificate()).clientCertificate(ec[0], ec[1]).build());

        assertThat(withCert.tls().jdbcProperties()).containsEntry("pemKeyAlgorithm", "EC");
        assertThat(one(withCert, "SELECT client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).isEqualTo("/CN=backup");
        Object[] dump = libpq("pg_dump", withCert, "--schema-only", "--dbname=shop", "--file=/dev/null");
        assertThat(dump).as("pg_dump with the EC client certificate: %s", dump[1]).startsWith(0);
    }

    @Test
    void aPkcs1ClientKey_whichPgJdbcCannotRead_failsNamingTheKeyAndTheFormatItNeeds() throws Exception {
        Path pkcs1 = TestCa.traditional(client[1], certs.resolve("client-pkcs1.key"));
        PgEndpoint ep = PgEndpoint.of("localhost", pg.endpoint().port(), "backup", "backup-pw").withTls(
                PgTls.builder(SslMode.VERIFY_FULL).rootCertificate(ca.certificate()).clientCertificate(client[0], pkcs1).build());

        assertThat(Files.readString(pkcs1)).startsWith("-----BEGIN RSA PRIVATE KEY-----");
        assertThatThrownBy(() -> ep.connect("postgres")).isInstanceOf(SQLException.class)
                .hasMessageContaining("cannot use the client key " + pkcs1 + "; it must be an unencrypted PKCS#8 PEM key");
    }

    @Test
    void walReceiver_streamsOverVerifyFull() throws Exception {
        long sysid = Long.parseLong(one(pg.endpoint(), "SELECT system_identifier FROM pg_control_system()"));
        WalArchive archive = WalArchive.builder(Repository.filesystem(tmp.resolve("wal-repo")), sysid)
                .keys(LocalKeysetKek.create(tmp.resolve("wal-kek.json"))).build();
        PgEndpoint ep = byName(PgTls.verifyFull(ca.certificate()));
        try (WalReceiver r = WalReceiver.builder(ep, archive).slot("tls_slot").workDir(tmp.resolve("receiving"))
                .backoff(Duration.ofMillis(50), Duration.ofMillis(500)).build()) {
            r.start();
            await("streaming", () -> r.status().timeline() > 0, r);
            String segment = one(pg.endpoint(), "SELECT pg_walfile_name(pg_switch_wal())");
            await(segment + " archived", () -> archive.contains(segment), r);

            assertThat(one(pg.endpoint(), "SELECT string_agg(s.ssl::text, ',') FROM pg_stat_replication r "
                    + "JOIN pg_stat_ssl s USING (pid) WHERE r.application_name = 'backstop-wal-receiver'")).isEqualTo("true");
            assertThat(r.status().lastError()).isNull();
        } finally {
            try (Connection c = pg.connect("postgres"); Statement st = c.createStatement()) {
                st.execute("SELECT pg_drop_replication_slot('tls_slot')");
            }
        }
    }

    @Test
    void walReceiver_withAnotherCa_reportsTheTlsFailureInItsStatus() throws Exception {
        long sysid = Long.parseLong(one(pg.endpoint(), "SELECT system_identifier FROM pg_control_system()"));
        WalArchive archive = WalArchive.builder(Repository.filesystem(tmp.resolve("wal-repo")), sysid)
                .keys(LocalKeysetKek.create(tmp.resolve("wal-kek.json"))).build();
        try (WalReceiver r = WalReceiver.builder(byName(PgTls.verifyFull(otherCa.certificate())), archive).slot("never")
                .workDir(tmp.resolve("receiving")).backoff(Duration.ofMillis(50), Duration.ofMillis(500)).build()) {
            r.start();
            await("a failed connection", () -> r.status().lastError() != null, r);

            assertThat(r.status().lastError()).contains("sslmode=verify-full sslrootcert=" + otherCa.certificate())
                    .contains("does not chain to the root certificate");
            assertThat(r.status().timeline()).isZero();
        }
    }

    static void await(String what, java.util.function.BooleanSupplier done, WalReceiver r) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what + ": " + r.status());
            }
            Thread.sleep(20);
        }
    }
}
