package dev.backstop.testkit.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.ObjectKind;
import dev.backstop.core.Sink;
import dev.backstop.s3.S3Sink;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.async.AsyncRequestBody;

/** The local S3 server: its own process, buckets as asked, nothing left behind. */
class LocalS3Test {

    @Test
    void sinkOnAnExistingBucket_usesItAsIs_keepingItsObjects() throws IOException {
        LocalS3 s3 = LocalS3.shared();
        String bucket = s3.newBucket("users-own");
        s3.client().putObject(b -> b.bucket(bucket).key("kept.txt"), AsyncRequestBody.fromString("already here")).join();

        S3Sink sink = s3.sink(bucket);

        assertThat(sink.toString()).contains(bucket);
        try (InputStream in = sink.open("kept.txt")) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("already here");
        }
    }

    @Test
    void sinkOnAMissingBucket_createsItWithExactlyThatName() throws IOException {
        LocalS3 s3 = LocalS3.shared();
        String name = "orders-backups-" + Long.toHexString(System.nanoTime());

        S3Sink sink = s3.sinkBuilder(name).prefix("prod").build();
        try (Sink.Upload up = sink.create("hello.txt", ObjectKind.DATA)) {
            up.stream().write("hi".getBytes(StandardCharsets.UTF_8));
            up.stream().close();
            up.commit();
        }

        assertThat(s3.client().listBuckets().join().buckets()).anySatisfy(b -> assertThat(b.name()).isEqualTo(name));
        assertThat(s3.bucket(name)).isEqualTo(name);
        assertThat(s3.client().listObjectsV2(b -> b.bucket(name)).join().contents())
                .singleElement().satisfies(o -> assertThat(o.key()).isEqualTo("prod/hello.txt"));
    }

    @Test
    void aBucketNameS3WouldRefuse_isRefusedNamingItAndTheRule() {
        for (String bad : new String[] {"b0", "Orders", "orders_2026", "-orders", "a".repeat(64), "orders..x"}) {
            assertThatThrownBy(() -> LocalS3.shared().sink(bad)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'" + bad + "'").hasMessageContaining("3 to 63 characters");
        }
    }

    @Test
    void aServerThatCannotStart_failsQuotingItsLog_andLeavesNoDirectory() throws IOException {
        Path notAJar = Files.createTempFile("not-s3mock", ".jar");
        java.util.Set<Path> before = ours();
        System.setProperty(LocalS3.JAR_PROPERTY, notAJar.toString());
        try {
            assertThatThrownBy(LocalS3::start).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("S3Mock (" + notAJar + ") did not answer")
                    .hasMessageContaining("exited")
                    .hasMessageContaining("org.springframework.boot.loader.launch.JarLauncher");
        } finally {
            System.clearProperty(LocalS3.JAR_PROPERTY);
            Files.delete(notAJar);
        }
        assertThat(ours()).isEqualTo(before);
    }

    /** Server directories owned by this JVM (other JVMs on the machine may have their own). */
    private static java.util.Set<Path> ours() throws IOException {
        String pid = Long.toString(ProcessHandle.current().pid());
        try (var s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return s.filter(p -> p.getFileName().toString().startsWith("backstop-local-s3-")).filter(p -> {
                try {
                    return Files.readString(p.resolve("owner.pid")).trim().equals(pid);
                } catch (IOException e) {
                    return false;
                }
            }).collect(java.util.stream.Collectors.toSet());
        }
    }

    @Test
    void start_deletesDirectoriesWhoseJvmIsGone_andClose_stopsTheServerAndDeletesItsOwn() throws IOException {
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        Path orphan = Files.createTempDirectory(tmp, "backstop-local-s3-");
        Files.writeString(orphan.resolve("owner.pid"), Long.toString(deadPid()));
        Files.createDirectories(orphan.resolve("store/old-bucket"));
        Path alive = Files.createTempDirectory(tmp, "backstop-local-s3-");
        Files.writeString(alive.resolve("owner.pid"), Long.toString(ProcessHandle.current().pid()));
        Path dir;
        Process child;
        try {
            try (LocalS3 s3 = LocalS3.start()) {
                assertThat(orphan).doesNotExist();
                assertThat(alive).isDirectory();
                dir = s3.directory();
                child = s3.process();
                s3.sink("round-trip");
                assertThat(dir.resolve("store/round-trip")).isDirectory();
            }
            assertThat(dir).doesNotExist();
            assertThat(child.isAlive()).isFalse();
        } finally {
            Files.deleteIfExists(alive.resolve("owner.pid"));
            Files.deleteIfExists(alive);
        }
    }

    @Test
    void theChildProcess_exitsWhenItsStandardInputEnds_asWhenTheTestJvmIsKilled() throws IOException {
        try (LocalS3 s3 = LocalS3.start()) {
            Process child = s3.process();
            assertThat(child.isAlive()).isTrue();

            // what the operating system does to the pipe when this JVM dies without running hooks
            child.getOutputStream().close();

            assertThat(child.onExit()).succeedsWithin(java.time.Duration.ofSeconds(60));
        }
    }

    /** The pid of a process that has exited. */
    private static long deadPid() throws IOException {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-version")
                .redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertThat(p.onExit()).succeedsWithin(java.time.Duration.ofSeconds(30));
        return p.pid();
    }

    @Test
    void s3Mock_runsOutsideThisJvm_leavingItsClassesAndLoggingAlone() {
        assertThat(S3MockProcess.executableJar().getFileName().toString()).endsWith("-exec.jar");
        LocalS3.shared();
        assertThat(ClassLoader.getSystemClassLoader().getResource("org/springframework/boot/SpringApplication.class")).isNull();
        assertThat(ClassLoader.getSystemClassLoader().getResource("ch/qos/logback/classic/Logger.class")).isNull();
        assertThat(ClassLoader.getSystemClassLoader().getResource("com/adobe/testing/s3mock/S3MockApplication.class")).isNull();
        assertThat(org.slf4j.LoggerFactory.getLogger("dev.backstop").isInfoEnabled()).isTrue();
    }
}
