package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.source.CommandSource;
import dev.backstop.core.transform.ZstdTransform;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's API example, run as written (paths moved into a temp dir). */
class ReadmeExampleTest {
    @TempDir
    Path tmp;

    @Test
    void readmeExample_backsUpAndRestoresATarStream() throws Exception {
        Path srv = Files.createDirectories(tmp.resolve("srv/data"));
        Files.writeString(srv.resolve("orders.csv"), "1,shipped\n2,pending\n");
        List<Alerts.Alert> pages = new ArrayList<>();

        // --- as in README.md ---
        LocalKeysetKek.create(tmp.resolve("kek.json"));          // once, when setting up
        KeyEncryptionKey kek = LocalKeysetKek.load(tmp.resolve("kek.json"));
        Repository repo = Repository.filesystem(tmp.resolve("backups/shop"));
        Alerts alerts = Alerts.to(pages::add, Duration.ofHours(26), Clock.systemUTC());

        BackupPipeline pipeline = BackupPipeline.builder()
                .source(CommandSource.of("tar", "-C", srv.toString(), "-c", "."))
                .compress(ZstdTransform.builder().level(3).workers(2).build())
                .encrypt(Encryption.with(kek))
                .repository(repo)
                .listener(alerts.plus(LoggingListener.create()))
                .build();

        Manifest backup = pipeline.run();

        Restore restore = Restore.builder().repository(repo).keys(kek).build();
        restore.toFile(restore.manifest(backup.id()), "data", tmp.resolve("data.tar"));
        ValidationResult check = restore.verify(backup).orThrow();
        // --- end ---

        assertThat(check.passed()).isTrue();
        assertThat(repo.validations(backup.id())).singleElement().satisfies(v -> assertThat(v.passed()).isTrue());
        assertThat(pages).isEmpty();
        assertThat(Files.size(tmp.resolve("data.tar"))).isEqualTo(backup.plaintextBytes());
        Process p = new ProcessBuilder("tar", "-xOf", tmp.resolve("data.tar").toString(), "./orders.csv").start();
        assertThat(new String(p.getInputStream().readAllBytes())).isEqualTo("1,shipped\n2,pending\n");
    }
}
