package dev.backstop.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.postgres.internal.ToolProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.util.Base64;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PgTlsTest {
    static final Path CA = Path.of("/etc/backstop/root.crt");

    @Test
    void endpoint_byDefault_prefersTls_asLibpqDoes_andSaysNothingAboutIt() {
        PgEndpoint e = PgEndpoint.of("db.internal", 5432, "backup", "s3cret!");

        assertThat(e.tls()).isEqualTo(PgTls.prefer());
        assertThat(e.tls().mode()).isEqualTo(SslMode.PREFER);
        assertThat(e.tls().jdbcProperties()).isEqualTo(Map.of("sslmode", "prefer"));
        assertThat(e.tls().libpqEnvironment()).isEqualTo(Map.of("PGSSLMODE", "prefer"));
        assertThat(e).hasToString("postgresql://backup@db.internal:5432 (password set)");
        assertThat(PgTls.builder(SslMode.PREFER).build()).isSameAs(PgTls.prefer());
    }

    @Test
    void verifyFull_givesJdbcAndLibpqTheSameFiles_andToStringNamesThemButNoPassword() {
        PgTls tls = PgTls.builder(SslMode.VERIFY_FULL).rootCertificate(CA)
                .clientCertificate(Path.of("/etc/backstop/backup.crt"), Path.of("/etc/backstop/backup.key")).build();
        PgEndpoint e = PgEndpoint.of("db.internal", 5432, "backup", "s3cret!").withTls(tls);

        assertThat(tls.jdbcProperties()).isEqualTo(Map.of("sslmode", "verify-full", "sslrootcert", "/etc/backstop/root.crt",
                "sslcert", "/etc/backstop/backup.crt", "sslkey", "/etc/backstop/backup.key"));
        assertThat(tls.libpqEnvironment()).isEqualTo(Map.of("PGSSLMODE", "verify-full", "PGSSLROOTCERT", "/etc/backstop/root.crt",
                "PGSSLCERT", "/etc/backstop/backup.crt", "PGSSLKEY", "/etc/backstop/backup.key"));
        assertThat(e).hasToString("postgresql://backup@db.internal:5432 (sslmode=verify-full sslrootcert=/etc/backstop/root.crt "
                + "sslcert=/etc/backstop/backup.crt sslkey=/etc/backstop/backup.key) (password set)");
        assertThat(e.toString()).doesNotContain("s3cret");
        assertThat(e.tls()).isEqualTo(tls.toBuilder().build()).hasSameHashCodeAs(tls.toBuilder().build());
        assertThat(e.withTls(PgTls.prefer())).isEqualTo(PgEndpoint.of("db.internal", 5432, "backup", "s3cret!"));
    }

    @Test
    void relativePaths_areMadeAbsolute_soToolsInAnotherDirectoryReadTheSameFile() {
        PgTls tls = PgTls.verifyCa(Path.of("certs/../certs/root.crt"));

        assertThat(tls.rootCertificate()).hasValue(Path.of("certs/root.crt").toAbsolutePath());
        assertThat(tls.libpqEnvironment().get("PGSSLROOTCERT")).startsWith("/").endsWith("/certs/root.crt");
    }

    @Test
    void verifyingModes_withoutARootCertificate_areRefused_namingTheMissingSetting() {
        assertThatThrownBy(() -> PgTls.builder(SslMode.VERIFY_FULL).build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("rootCertificate: sslmode=verify-full needs the file of CA certificates that signed the server's "
                        + "certificate; Backstop does not fall back to ~/.postgresql/root.crt");
        assertThatThrownBy(() -> PgTls.builder(SslMode.VERIFY_CA).build()).hasMessageStartingWith("rootCertificate: sslmode=verify-ca");
    }

    @Test
    void aRootCertificate_withAModeThatDoesNotVerify_isRefused_becauseLibpqAndPgJdbcWouldDisagree() {
        for (SslMode mode : List.of(SslMode.DISABLE, SslMode.ALLOW, SslMode.PREFER, SslMode.REQUIRE)) {
            assertThatThrownBy(() -> PgTls.builder(mode).rootCertificate(CA).build()).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("rootCertificate: got /etc/backstop/root.crt with sslmode=" + mode.keyword()
                            + ", which does not check the server's certificate; use verify-ca or verify-full to check it");
        }
    }

    @Test
    void aClientCertificate_withDisable_isRefused_andEachSettingIsGivenOnce() {
        assertThatThrownBy(() -> PgTls.builder(SslMode.DISABLE).clientCertificate(Path.of("/c.crt"), Path.of("/c.key")).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("clientCertificate: got /c.crt with sslmode=disable, which never uses TLS; use a mode from allow to verify-full");
        assertThatThrownBy(() -> PgTls.builder(SslMode.VERIFY_FULL).rootCertificate(CA).rootCertificate(Path.of("/other.crt")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("rootCertificate: already set to /etc/backstop/root.crt, given again /other.crt");
        assertThat(PgTls.builder(SslMode.REQUIRE).clientCertificate(Path.of("/c.crt"), Path.of("/c.key")).build().libpqEnvironment())
                .containsEntry("PGSSLMODE", "require").containsEntry("PGSSLKEY", "/c.key").doesNotContainKey("PGSSLROOTCERT");
    }

    @Test
    void aPemClientKey_thatIsNotRsa_tellsPgJdbcItsAlgorithm_whichItWouldOtherwiseTakeForRsa(@TempDir Path dir) throws Exception {
        Path ec = pem(dir.resolve("ec.key"), "EC");
        Path rsa = pem(dir.resolve("rsa.key"), "RSA");
        Path ed = pem(dir.resolve("ed.key"), "Ed25519");
        Path garbage = Files.writeString(dir.resolve("garbage.key"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");

        assertThat(withKey(ec).jdbcProperties()).containsEntry("pemKeyAlgorithm", "EC");
        assertThat(withKey(ed).jdbcProperties()).containsEntry("pemKeyAlgorithm", "Ed25519");
        assertThat(withKey(rsa).jdbcProperties()).doesNotContainKey("pemKeyAlgorithm").containsEntry("sslkey", rsa.toString());
        assertThat(withKey(garbage).jdbcProperties()).doesNotContainKey("pemKeyAlgorithm");
        assertThat(withKey(dir.resolve("missing.key")).jdbcProperties()).doesNotContainKey("pemKeyAlgorithm");
    }

    private static PgTls withKey(Path key) {
        return PgTls.builder(SslMode.REQUIRE).clientCertificate(key.resolveSibling("client.crt"), key).build();
    }

    private static Path pem(Path file, String algorithm) throws Exception {
        byte[] der = KeyPairGenerator.getInstance(algorithm).generateKeyPair().getPrivate().getEncoded();
        return Files.writeString(file, "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder().encodeToString(der)
                + "\n-----END PRIVATE KEY-----\n", StandardCharsets.US_ASCII);
    }

    @Test
    void sslModes_useLibpqsKeywords() {
        assertThat(Arrays.stream(SslMode.values()).map(SslMode::keyword))
                .containsExactly("disable", "allow", "prefer", "require", "verify-ca", "verify-full");
        assertThat(Arrays.stream(SslMode.values()).filter(SslMode::verifiesServer))
                .containsExactly(SslMode.VERIFY_CA, SslMode.VERIFY_FULL);
    }

    @Test
    void tools_getTheTlsSettingsThroughTheirEnvironment_neverOnTheCommandLine() throws IOException {
        PgEndpoint e = PgEndpoint.of("db.internal", 5432, "backup", "s3cret!").withTls(PgTls.builder(SslMode.VERIFY_FULL)
                .rootCertificate(CA).clientCertificate(Path.of("/etc/backstop/backup.crt"), Path.of("/etc/backstop/backup.key")).build());
        // a stand-in program that prints its libpq environment and then its arguments, one a line
        String script = "env | grep '^PG' | sort; echo --; for a in \"$@\"; do echo \"$a\"; done";
        String out;
        try (ToolProcess p = ToolProcess.start(Path.of("/bin/sh"), List.of("-c", script, "sh"), e, null,
                ProcessBuilder.Redirect.PIPE)) {
            out = new String(p.stdout().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor()).isZero();
        }
        String env = out.substring(0, out.indexOf("--\n"));
        String argv = out.substring(out.indexOf("--\n") + 3);

        assertThat(env).contains("PGSSLMODE=verify-full\n", "PGSSLROOTCERT=/etc/backstop/root.crt\n",
                "PGSSLCERT=/etc/backstop/backup.crt\n", "PGSSLKEY=/etc/backstop/backup.key\n");
        assertThat(argv).isEqualTo("--host=db.internal\n--port=5432\n--username=backup\n--no-password\n");
    }
}
