package dev.backstop.core.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.ObjectKind;
import dev.backstop.core.Sink;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What only a filesystem sink has: files on disk, crash leftovers, path safety. */
class FileSystemSinkTest {
    @TempDir
    Path dir;

    @Test
    void writerThatCrashedBeforeClosing_leavesOnlyAHiddenTempFile_removableOnceStale() throws IOException {
        FileSystemSink sink = FileSystemSink.open(dir);
        Sink.Upload crashed = sink.create("backups/x/data", ObjectKind.DATA);
        crashed.stream().write(new byte[4096]);
        // no commit, no close: what a killed JVM leaves behind

        assertThat(sink.list("")).isEmpty();
        try (Stream<Path> files = Files.walk(dir)) {
            assertThat(files.filter(Files::isRegularFile).map(p -> p.getFileName().toString()))
                    .singleElement().asString().startsWith(".data.").endsWith(".tmp");
        }
        assertThat(sink.staleTemporaryFiles(Instant.now().minus(Duration.ofHours(1)))).as("too young").isEmpty();
        assertThat(sink.removeStaleTemporaryFiles(Instant.now().plus(Duration.ofMinutes(1)))).hasSize(1);
        try (Stream<Path> files = Files.walk(dir)) {
            assertThat(files.filter(Files::isRegularFile)).isEmpty();
        }
        crashed.close();
    }

    @Test
    void keysThatCouldEscapeTheRoot_areRefused() {
        FileSystemSink sink = FileSystemSink.open(dir);
        for (String bad : new String[] {"../x", "a/../../x", "/etc/passwd", "a//b", "a/./b", "", "a/.hidden"}) {
            assertThatThrownBy(() -> sink.create(bad, ObjectKind.DATA)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("object key: got '" + bad + "'");
        }
    }

    @Test
    void committedObject_isARegularFileWithTheBytes() throws IOException {
        FileSystemSink sink = FileSystemSink.open(dir);
        try (Sink.Upload up = sink.create("backups/x/data", ObjectKind.DATA)) {
            up.stream().write(new byte[] {1, 2, 3});
            up.commit();
        }
        assertThat(Files.readAllBytes(dir.resolve("backups/x/data"))).containsExactly(1, 2, 3);
    }

    @Test
    void listing_whileOthersPublishAndDeleteUnderThePrefix_neverFails_andSeesOnlyWholeObjects() throws Exception {
        FileSystemSink sink = FileSystemSink.open(dir);
        try (Sink.Upload up = sink.create("wal/1/keep", ObjectKind.DATA)) {
            up.stream().write(new byte[] {7});
            up.commit();
        }
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread churn = new Thread(() -> {
            // what a WAL receiver does beside a listing: temp files renamed into place, objects and
            // whole delta directories deleted
            for (int i = 0; !stop.get(); i++) {
                try {
                    try (Sink.Upload up = sink.create("wal/1/seg.deltas/" + i, ObjectKind.DATA)) {
                        up.stream().write(new byte[] {1, 2});
                        up.commit();
                    }
                    sink.delete("wal/1/seg.deltas/" + i);
                    if (i % 7 == 0) {
                        Files.deleteIfExists(dir.resolve("wal/1/seg.deltas"));
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        });
        churn.start();
        try {
            for (int n = 0; n < 3000; n++) {
                for (var o : sink.list("wal/1/")) {
                    assertThat(o.key()).matches("wal/1/keep|wal/1/seg\\.deltas/\\d+");
                    assertThat(o.size()).isIn(1L, 2L);
                }
            }
        } finally {
            stop.set(true);
            churn.join();
        }
        assertThat(sink.list("wal/1/")).extracting(o -> o.key()).contains("wal/1/keep");
    }
}
