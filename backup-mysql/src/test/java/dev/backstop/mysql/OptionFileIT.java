package dev.backstop.mysql;

import dev.backstop.mysql.internal.OptionFile;
import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OptionFileIT {
    @TempDir
    Path tmp;

    @Test
    void create_isPrivate_andCloseDeletesIt() throws Exception {
        MariaDbEndpoint ep = MariaDbEndpoint.of("127.0.0.1", 3306, "u", "secret");
        Path p;
        try (OptionFile f = OptionFile.create(ep, tmp)) {
            p = f.path();
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(p))).isEqualTo("rw-------");
            assertThat(f.argument()).isEqualTo("--defaults-file=" + p).doesNotContain("secret");
        }
        assertThat(p).doesNotExist();
    }

    @Test
    void aPasswordWithQuotesBackslashesAndCommentCharacters_reachesTheToolsIntact_neverThroughArgvOrEnvironment() throws Exception {
        String password = "p\"a\\ss#w;rd' x=1";
        Path work = Files.createDirectory(tmp.resolve("work"));
        try (EphemeralMariaDb db = EphemeralMariaDb.start()) {
            Shop.create(db, "shop", 20);
            try (Connection c = db.connect(null); PreparedStatement ps = c.prepareStatement(
                    "CREATE USER 'odd'@'127.0.0.1' IDENTIFIED BY ?")) {
                ps.setString(1, password);
                ps.execute();
                try (Statement st = c.createStatement()) {
                    st.execute("GRANT ALL PRIVILEGES ON *.* TO 'odd'@'127.0.0.1'");
                    // more dump than the source reads ahead (4 MiB) and a pipe holds: the tool is still
                    // running, blocked on its output, when the source opens its stream below
                    st.execute("CREATE TABLE shop.filler (id INT PRIMARY KEY, b LONGBLOB) ENGINE=InnoDB");
                    st.execute("INSERT INTO shop.filler SELECT seq, RANDOM_BYTES(1024) FROM shop.seq_1_to_8192");
                }
            }
            MariaDbEndpoint odd = MariaDbEndpoint.of("127.0.0.1", db.endpoint().port(), "odd", password);
            Repository repo = Repository.filesystem(tmp.resolve("repo"));
            KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
            MariaDbDumpSource dump = MariaDbDumpSource.builder(odd, "shop").workDir(work).build();
            List<String> seen = new ArrayList<>();
            // records the command line and environment of every process this JVM runs when the dump's stream opens
            CaptureSource watching = new CaptureSource() {
                @Override
                public BackupType type() {
                    return dump.type();
                }

                @Override
                public CaptureResult capture(Streams streams) throws IOException {
                    return dump.capture(name -> {
                        ProcessHandle.current().descendants().forEach(h -> {
                            seen.add(h.info().commandLine().orElse(""));
                            try {
                                seen.add(Files.readString(Path.of("/proc/" + h.pid() + "/environ")));
                            } catch (IOException ignored) {
                                // the process already ended
                            }
                        });
                        return streams.open(name);
                    });
                }
            };
            Manifest m = BackupPipeline.builder().source(watching).encrypt(Encryption.with(kek)).repository(repo).build().run();
            assertThat(seen).anyMatch(cmd -> cmd.contains("mariadb-dump") && cmd.contains("--defaults-file="))
                    .noneMatch(text -> text.contains(password) || text.contains("MYSQL_PWD"));
            MariaDbRestore.builder(Restore.builder().repository(repo).keys(kek).build(), odd, "shop_again").workDir(work)
                    .build().run(m);

            assertThat(m.fingerprints().get().tables().get("customer").rows()).isEqualTo(20);
            try (Stream<Path> left = Files.list(work)) {
                assertThat(left).as("option files left behind").isEmpty();
            }
        }
    }
}
