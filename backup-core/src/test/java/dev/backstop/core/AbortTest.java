package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.crypto.MetadataKey;
import dev.backstop.core.event.BackupListener;
import dev.backstop.core.fs.FileSystemSink;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.source.CommandSource;
import dev.backstop.core.transform.ZstdTransform;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A failed backup leaves nothing that looks like a backup, and says why. */
class AbortTest {
    @TempDir
    Path tmp;
    FileSystemSink sink;
    Repository repo;
    LocalKeysetKek kek;
    List<String> events = new ArrayList<>();

    @BeforeEach
    void setUp() {
        sink = FileSystemSink.open(tmp.resolve("repo"));
        repo = Repository.on(sink);
        kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
    }

    BackupPipeline pipeline(CaptureSource source) {
        return pipeline(source, repo);
    }

    BackupPipeline pipeline(CaptureSource source, Repository r) {
        return BackupPipeline.builder().source(source).repository(r)
                .compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek))
                .listener(new BackupListener() {
                    @Override
                    public void backupFailed(BackupId id, BackupException failure) {
                        events.add("failed " + failure.stage());
                    }

                    @Override
                    public void backupSucceeded(Manifest manifest) {
                        events.add("succeeded");
                    }
                })
                .build();
    }

    /**
     * Nothing listed, no temporary files left, nothing in the catalog; the repository's metadata
     * key, once created, belongs to the repository and stays.
     */
    void assertRepositoryEmpty() throws IOException {
        assertThat(sink.list("")).extracting(ObjectInfo::key).allMatch(MetadataKey.OBJECT::equals);
        assertThat(repo.catalog().list()).isEmpty();
        try (Stream<Path> files = Files.walk(sink.root())) {
            assertThat(files.filter(Files::isRegularFile).filter(f -> !f.equals(sink.pathOf(MetadataKey.OBJECT))).toList())
                    .as("files left in the repository").isEmpty();
        }
    }

    @ParameterizedTest(name = "after {0} bytes, closed first: {1}")
    @CsvSource({"0,false", "1,true", "1048575,false", "1048577,true", "5000000,false", "5000000,true"})
    void sourceFailingMidway_publishesNothing(long failAfter, boolean closeFirst) throws IOException {
        CaptureException e = catchThrowableOfType(CaptureException.class,
                () -> pipeline(TestSources.failingAfter(failAfter, closeFirst)).run());
        assertThat(e).isNotNull();
        assertThat(e.getMessage()).contains("source died after " + failAfter + " bytes");
        assertThat(e.backupId()).isPresent();
        assertRepositoryEmpty();
        assertThat(events).containsExactly("failed CAPTURE");
    }

    @Test
    void processExitingNonZero_publishesNothing_andCarriesExitCodeAndStderr() throws IOException {
        CaptureSource source = CommandSource.of("sh", "-c",
                "head -c 3000000 /dev/urandom; echo 'pg_dump: error: connection lost' >&2; exit 3");
        CaptureException e = catchThrowableOfType(CaptureException.class, () -> pipeline(source).run());
        assertThat(e.exitCode()).hasValue(3);
        assertThat(e.stderrTail()).contains("pg_dump: error: connection lost");
        assertThat(e.getMessage()).contains("exit code 3").contains("connection lost").contains("3000000 bytes");
        assertRepositoryEmpty();
    }

    @Test
    void processFailure_isRetryableOnlyWhenTheSourcesPredicateSaysSo() {
        String script = "echo 'error: connection to server failed: Connection refused' >&2; exit 1";
        CaptureException plain = catchThrowableOfType(CaptureException.class,
                () -> pipeline(CommandSource.of("sh", "-c", script)).run());
        assertThat(plain.retryable()).as("by default a command's failure is not retryable").isFalse();

        CaptureSource judging = CommandSource.builder(List.of("sh", "-c", script))
                .retryableWhen(stderr -> stderr.contains("Connection refused")).build();
        CaptureException judged = catchThrowableOfType(CaptureException.class, () -> pipeline(judging).run());
        assertThat(judged.retryable()).isTrue();
        assertThat(judged.stderrTail()).contains("Connection refused");
    }

    @Test
    void sourceThrowingARefusedConnection_isRetryable_otherUnclassifiedFailuresAreNot() {
        CaptureSource refusing = new CaptureSource() {
            @Override
            public BackupType type() {
                return BackupType.RAW;
            }

            @Override
            public CaptureResult capture(Streams streams) throws IOException {
                throw new IOException("could not reach the server", new java.net.ConnectException("Connection refused"));
            }
        };
        CaptureException refused = catchThrowableOfType(CaptureException.class, () -> pipeline(refusing).run());
        assertThat(refused.retryable()).isTrue();
        CaptureException died = catchThrowableOfType(CaptureException.class,
                () -> pipeline(TestSources.failingAfter(10, false)).run());
        assertThat(died.retryable()).isFalse();
    }

    @Test
    void processThatCannotStart_isACaptureFailure() throws IOException {
        CaptureException e = catchThrowableOfType(CaptureException.class,
                () -> pipeline(CommandSource.of("/nonexistent/pg_dump")).run());
        assertThat(e.getMessage()).contains("could not start /nonexistent/pg_dump");
        assertThat(e.exitCode()).isEmpty();
        assertRepositoryEmpty();
    }

    @Test
    void processSucceeding_isPublished() throws IOException {
        Manifest m = pipeline(CommandSource.of("sh", "-c", "printf hello")).run();
        assertThat(m.plaintextBytes()).isEqualTo(5);
        assertThat(m.source().attributes()).containsEntry("program", "sh");
        assertThat(repo.catalog().list()).extracting(Manifest::id).containsExactly(m.id());
    }

    @Test
    void sourceReturningWithoutClosingItsStream_publishesNothing() throws IOException {
        CaptureSource leaky = new CaptureSource() {
            @Override
            public BackupType type() {
                return BackupType.RAW;
            }

            @Override
            public CaptureResult capture(Streams streams) throws IOException {
                streams.open("data").write(new byte[1000]);
                return CaptureResult.builder(SourceInfo.of("test", "1")).build();
            }
        };
        assertThatThrownBy(() -> pipeline(leaky).run()).isInstanceOf(BackupException.class)
                .hasMessageContaining("without closing stream 'data'");
        assertRepositoryEmpty();
    }

    @Test
    void fullDisk_isAStorageFailureNamingTheObject_andPublishesNothing() throws IOException {
        // /dev/full answers every write with ENOSPC, the kernel's own "No space left on device"
        Sink fullDisk = new ForwardingSink(sink) {
            @Override
            public Upload create(String key, ObjectKind kind) throws IOException {
                Upload real = sink.create(key, kind);
                OutputStream full = new FileOutputStream("/dev/full");
                return new Upload() {
                    @Override
                    public OutputStream stream() {
                        return full;
                    }

                    @Override
                    public void commit() throws IOException {
                        real.commit();
                    }

                    @Override
                    public void close() {
                        real.close();
                        try {
                            full.close();
                        } catch (IOException ignored) {
                            // test device
                        }
                    }
                };
            }
        };
        StorageException e = catchThrowableOfType(StorageException.class,
                () -> pipeline(TestSources.bytes(TestSources.random(4_000_000, 3)), Repository.on(fullDisk)).run());
        assertThat(e.key()).startsWith("backups/").endsWith("/data");
        assertThat(e.getMessage()).contains("No space left on device");
        assertThat(e.stage()).isEqualTo(Stage.STORE);
        assertRepositoryEmpty();
        assertThat(events).containsExactly("failed STORE");
    }

    @ParameterizedTest(name = "{0} write refused")
    @CsvSource({"MANIFEST", "KEY"})
    void failingManifestOrKeyWrite_removesTheObjectsItCommitted(ObjectKind refused) throws IOException {
        List<String> deleted = new ArrayList<>();
        Sink refusing = new ForwardingSink(sink) {
            @Override
            public Upload create(String key, ObjectKind kind) throws IOException {
                if (kind == refused) {
                    throw new IOException("injected: " + kind + " write refused");
                }
                return sink.create(key, kind);
            }

            @Override
            public void delete(String key) throws IOException {
                deleted.add(key);
                sink.delete(key);
            }
        };
        StorageException e = catchThrowableOfType(StorageException.class,
                () -> pipeline(TestSources.bytes(new byte[1000]), Repository.on(refusing)).run());
        assertThat(e.getMessage()).contains(refused == ObjectKind.MANIFEST ? "manifest" : "data key");
        assertThat(e.getSuppressed()).as("every removal succeeded").isEmpty();
        assertThat(deleted).as("the data object, then the key record")
                .satisfiesExactly(k -> assertThat(k).startsWith("backups/").endsWith("/data"),
                        k -> assertThat(k).startsWith("keys/").endsWith(".dek"));
        assertRepositoryEmpty();
        assertThat(repo.orphans(Instant.now().plus(Duration.ofDays(1)), Duration.ofHours(1)).isEmpty()).isTrue();
    }

    @Test
    void failingManifestWrite_whoseCleanupFailsToo_leavesOrphans_whichAreFoundAndRemoved() throws IOException {
        Sink noManifestsNoDeletes = new ForwardingSink(sink) {
            @Override
            public Upload create(String key, ObjectKind kind) throws IOException {
                if (kind == ObjectKind.MANIFEST) {
                    throw new IOException("injected: manifest write refused");
                }
                return sink.create(key, kind);
            }

            @Override
            public void delete(String key) throws IOException {
                throw new IOException("injected: delete of " + key + " refused");
            }
        };
        StorageException e = catchThrowableOfType(StorageException.class,
                () -> pipeline(TestSources.bytes(new byte[1000]), Repository.on(noManifestsNoDeletes)).run());
        assertThat(e.getMessage()).contains("manifest");
        assertThat(e.getSuppressed()).as("each failed removal is reported").hasSize(2)
                .allSatisfy(s -> assertThat(s).hasMessageContaining("Repository.removeOrphans will"));
        assertThat(repo.catalog().list()).as("no manifest, so no backup").isEmpty();

        Instant later = Instant.now().plus(Duration.ofHours(2));
        assertThat(repo.orphans(Instant.now(), Duration.ofHours(1)).isEmpty()).as("inside the grace period").isTrue();
        Orphans orphans = repo.orphans(later, Duration.ofHours(1));
        assertThat(orphans.objects()).extracting(ObjectInfo::key).hasSize(2)
                .anySatisfy(k -> assertThat(k).startsWith("backups/").endsWith("/data"))
                .anySatisfy(k -> assertThat(k).startsWith("keys/").endsWith(".dek"));
        assertThat(orphans.incomplete()).isEmpty();
        assertThat(orphans.foreign()).isEmpty();
        assertThat(repo.removeOrphans(later, Duration.ofHours(1)).objects()).hasSize(2);
        assertRepositoryEmpty();
    }

    @Test
    void orphanScan_neverTouchesCompleteBackups() throws IOException {
        Manifest m = pipeline(TestSources.bytes(new byte[1000])).run();
        Orphans removed = repo.removeOrphans(Instant.now().plus(Duration.ofDays(30)), Duration.ofHours(1));
        assertThat(removed.isEmpty()).isTrue();
        assertThat(removed.foreign()).isEmpty();
        assertThat(Restore.builder().repository(repo).keys(kek).build().verify(m).passed()).isTrue();
    }

    @Test
    void listenerThatThrows_neverFailsTheBackup() {
        BackupPipeline p = BackupPipeline.builder().source(TestSources.bytes(new byte[10])).repository(repo)
                .noEncryption().listener(new BackupListener() {
                    @Override
                    public void backupStarted(BackupId id, CaptureSource source) {
                        throw new IllegalStateException("listener bug");
                    }

                    @Override
                    public void backupSucceeded(Manifest manifest) {
                        throw new IllegalStateException("listener bug");
                    }
                }).build();
        assertThat(p.run().plaintextBytes()).isEqualTo(10);
    }

    @Test
    void streamNamesThatCouldEscapeTheBackup_areRefused() {
        for (String bad : new String[] {"../x", "manifest.json", "a/b", "", ".hidden", "validations"}) {
            assertThatThrownBy(() -> pipeline(TestSources.bytes(bad, new byte[1])).run())
                    .as(bad).isInstanceOf(BackupException.class).hasMessageContaining("stream name");
        }
    }

    @Test
    void misconfiguredPipeline_namesTheSetting() {
        assertThatThrownBy(() -> BackupPipeline.builder().repository(repo).build())
                .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("source:");
        assertThatThrownBy(() -> BackupPipeline.builder().source(TestSources.bytes(new byte[1])).build())
                .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("repository:");
        assertThatThrownBy(() -> BackupPipeline.builder().repository(repo).repository(repo))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("already set");
        assertThatThrownBy(() -> ZstdTransform.level(25))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("zstd level: got 25, allowed 1..19");
        assertThatThrownBy(() -> BackupPipeline.builder().transform(ZstdTransform.level(1)).compress(ZstdTransform.level(2)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("must be the first transform");
    }

    @Test
    void pipelineWithoutAnEncryptionChoice_failsAtBuild_namingBothChoices() {
        assertThatThrownBy(() -> BackupPipeline.builder().source(TestSources.bytes(new byte[1])).repository(repo).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("encryption:")
                .hasMessageContaining(".encrypt(Encryption.with(kek))")
                .hasMessageContaining(".noEncryption()");
    }

    @Test
    void pipelineWithBothEncryptAndNoEncryption_isRefusedWhicheverComesFirst() {
        assertThatThrownBy(() -> BackupPipeline.builder().encrypt(Encryption.with(kek)).noEncryption())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(".encrypt(Encryption.with(kek))").hasMessageContaining(".noEncryption()");
        assertThatThrownBy(() -> BackupPipeline.builder().noEncryption().encrypt(Encryption.with(kek)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(".encrypt(Encryption.with(kek))").hasMessageContaining(".noEncryption()");
    }

    @Test
    void pipelineWithNoEncryption_storesThePlaintextAndRecordsNoKey() throws IOException {
        byte[] payload = "plain on purpose".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Manifest m = BackupPipeline.builder().source(TestSources.bytes(payload)).repository(repo).noEncryption()
                .build().run();
        assertThat(m.encryption()).isEmpty();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        Restore.builder().repository(repo).build().copyTo(m, "data", out);
        assertThat(out.toByteArray()).isEqualTo(payload);
    }

    @Test
    void dryRun_checksTheRepositoryAndKeys_andWritesNothing() throws IOException {
        List<String> report = pipeline(TestSources.bytes(new byte[1])).dryRun();
        assertThat(report).anySatisfy(l -> assertThat(l).startsWith("backup id would be "))
                .anySatisfy(l -> assertThat(l).contains("writable"))
                .anySatisfy(l -> assertThat(l).contains(kek.id()));
        assertRepositoryEmpty();
    }

    @Test
    void dryRun_onAnUnwritableRepository_fails() throws IOException {
        Path ro = tmp.resolve("ro");
        Files.createDirectories(ro);
        Sink refusing = new ForwardingSink(FileSystemSink.open(ro)) {
            @Override
            public Upload create(String key, ObjectKind kind) throws IOException {
                throw new java.nio.file.AccessDeniedException(key);
            }
        };
        assertThatThrownBy(() -> pipeline(TestSources.bytes(new byte[1]), Repository.on(refusing)).dryRun())
                .isInstanceOf(StorageException.class).hasMessageContaining("not writable");
    }
}
