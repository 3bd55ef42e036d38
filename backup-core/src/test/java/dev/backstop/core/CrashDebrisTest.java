package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.manifest.Manifest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a backup process killed mid-capture leaves, and how orphans finds and removes exactly that. */
class CrashDebrisTest {
    private static final Duration GRACE = Duration.ofHours(1);

    @TempDir
    Path tmp;

    @Test
    void backupKilledMidCapture_leavesATemporaryFile_thatOrphansRemovesAfterTheGracePeriod_andNothingElse()
            throws Exception {
        Path root = tmp.resolve("repo");
        Repository repo = Repository.filesystem(root);
        LocalKeysetKek kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest good = BackupPipeline.builder().source(TestSources.bytes(TestSources.random(300_000, 1)))
                .encrypt(Encryption.with(kek)).repository(repo).build().run();
        Files.writeString(root.resolve("backups/notes.txt"), "someone's notes, not Backstop's");

        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx96m",
                "-cp", System.getProperty("java.class.path"), EndlessBackupMain.class.getName(),
                root.toString(), tmp.resolve("child-kek.json").toString(), "30")
                .redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile()).start();
        Path temporary;
        try {
            temporary = awaitGrowingTemporaryFile(root, child, 2 * 1024 * 1024);
        } finally {
            child.destroyForcibly();
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).as("child killed").isTrue();
        }
        Instant killed = Instant.now();
        assertThat(temporary.getFileName().toString()).startsWith(".data.").endsWith(".tmp");
        Set<Path> before = files(root);

        Orphans leased = repo.orphans(killed, Duration.ZERO);
        assertThat(leased.incomplete()).as("the child's lease is still live").isEmpty();
        assertThat(leased.heldBy()).singleElement().asString().startsWith("locks/repository/");

        Orphans young = repo.orphans(killed.plus(Duration.ofMinutes(30)), GRACE);
        assertThat(young.heldBy()).as("the lease has expired").isEmpty();
        assertThat(young.isEmpty()).as("inside the grace period").isTrue();

        Instant later = killed.plus(Duration.ofHours(2));
        Orphans found = repo.orphans(later, GRACE);
        String killedBackup = root.relativize(temporary.getParent()).toString().replace('\\', '/');
        assertThat(found.objects()).as("nothing was committed").isEmpty();
        assertThat(found.incomplete()).singleElement().satisfies(w -> {
            assertThat(w.key()).isEqualTo(killedBackup + "/data");
            assertThat(w.handle()).isEqualTo(root.relativize(temporary).toString());
            assertThat(w.size()).isGreaterThanOrEqualTo(2 * 1024 * 1024);
        });
        assertThat(found.foreign()).extracting(ObjectInfo::key).containsExactly("backups/notes.txt");

        Orphans removed = repo.removeOrphans(later, GRACE);
        assertThat(removed.incomplete()).isEqualTo(found.incomplete());
        assertThat(removed.foreign()).extracting(ObjectInfo::key).containsExactly("backups/notes.txt");
        Set<Path> after = files(root);
        before.remove(temporary);
        assertThat(after).as("only the temporary file went").isEqualTo(before);
        assertThat(Restore.builder().repository(repo).keys(kek).build().verify(good).passed()).isTrue();
        assertThat(repo.orphans(later, GRACE).isEmpty()).as("run again: nothing left").isTrue();
    }

    @Test
    void namesBackstopNeverWrites_areReportedAsForeign_andSurviveRemoval() throws Exception {
        Path root = tmp.resolve("repo");
        Repository repo = Repository.filesystem(root);
        String crashed = BackupId.generate(Instant.parse("2026-01-01T00:00:00Z"), BackupType.RAW, new java.util.Random(3)).value();
        for (String key : List.of("backups/manifest.json", "backups/x/data", "backups/" + crashed + "/sub/dir/file",
                "backups/" + crashed + "/data", "backups/" + crashed + "/validations/20260101T000000.000Z-decode.json",
                "keys/notes.txt", "keys/" + crashed + ".dek")) {
            Files.createDirectories(root.resolve(key).getParent());
            Files.writeString(root.resolve(key), key);
        }
        Instant later = Instant.now().plus(Duration.ofDays(1));

        Orphans removed = repo.removeOrphans(later, GRACE);

        assertThat(removed.objects()).extracting(ObjectInfo::key).containsExactlyInAnyOrder("backups/" + crashed + "/data",
                "backups/" + crashed + "/validations/20260101T000000.000Z-decode.json", "keys/" + crashed + ".dek");
        assertThat(removed.foreign()).extracting(ObjectInfo::key).containsExactly("backups/" + crashed + "/sub/dir/file",
                "backups/manifest.json", "backups/x/data", "keys/notes.txt");
        assertThat(repo.sink().list("")).extracting(ObjectInfo::key).containsExactly("backups/" + crashed + "/sub/dir/file",
                "backups/manifest.json", "backups/x/data", "keys/notes.txt");
    }

    /** Polls until a temporary file under {@code backups/} has at least {@code size} bytes. */
    private static Path awaitGrowingTemporaryFile(Path root, Process child, long size) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!child.isAlive()) {
                throw new AssertionError("backup process exited with " + child.exitValue() + " before writing "
                        + size + " bytes");
            }
            Optional<Path> grown;
            try (Stream<Path> walk = Files.walk(root.resolve("backups"))) {
                grown = walk.filter(p -> p.getFileName().toString().endsWith(".tmp")).filter(p -> sizeOf(p) >= size).findFirst();
            }
            if (grown.isPresent()) {
                return grown.get();
            }
            TimeUnit.MILLISECONDS.sleep(20);
        }
        throw new AssertionError("no temporary file of " + size + " bytes within 60 s");
    }

    private static long sizeOf(Path p) {
        try {
            return Files.size(p);
        } catch (IOException gone) {
            return -1;
        }
    }

    private static Set<Path> files(Path root) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.filter(Files::isRegularFile).collect(Collectors.toCollection(TreeSet::new));
        }
    }
}
