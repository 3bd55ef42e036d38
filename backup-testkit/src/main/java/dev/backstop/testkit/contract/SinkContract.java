package dev.backstop.testkit.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.ObjectExistsException;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Sink;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.NoSuchFileException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link Sink} must have. Extend it and implement {@link #newSink()}:
 *
 * <pre>{@code
 * class MySinkContractTest extends SinkContract {
 *     @Override
 *     protected Sink newSink() { return MySink.open(...); }
 * }
 * }</pre>
 *
 * <p>Each test gets a fresh, empty sink from {@link #newSink()} (a fresh prefix is enough).
 */
public abstract class SinkContract {
    protected Sink sink;

    /** A new empty sink for one test. */
    protected abstract Sink newSink() throws Exception;

    /** Size of the "large" object test; make it cross a part boundary of your sink. */
    protected int largeObjectSize() {
        return 3 * 1024 * 1024 + 1;
    }

    @BeforeEach
    void createSink() throws Exception {
        sink = newSink();
    }

    protected static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    protected void put(String key, ObjectKind kind, byte[] data) throws IOException {
        try (Sink.Upload up = sink.create(key, kind)) {
            try (OutputStream out = up.stream()) {
                out.write(data);
            }
            up.commit();
        }
    }

    protected byte[] read(String key) throws IOException {
        try (InputStream in = sink.open(key)) {
            return in.readAllBytes();
        }
    }

    @Test
    void commit_publishesExactlyTheBytesWritten() throws IOException {
        byte[] data = random(100_000, 1);
        put("backups/a/data", ObjectKind.DATA, data);
        assertThat(read("backups/a/data")).isEqualTo(data);
    }

    @Test
    void emptyObject_roundTrips() throws IOException {
        put("backups/a/empty", ObjectKind.DATA, new byte[0]);
        assertThat(read("backups/a/empty")).isEmpty();
        assertThat(sink.list("backups/a/")).extracting(ObjectInfo::size).containsExactly(0L);
    }

    @Test
    void largeObject_roundTrips() throws IOException {
        byte[] data = random(largeObjectSize(), 2);
        put("backups/a/large", ObjectKind.DATA, data);
        assertThat(read("backups/a/large")).isEqualTo(data);
        assertThat(sink.list("backups/a/large")).extracting(ObjectInfo::size).containsExactly((long) data.length);
    }

    @Test
    void uncommittedObject_isNeitherListedNorOpenable() throws IOException {
        try (Sink.Upload up = sink.create("backups/a/pending", ObjectKind.DATA)) {
            up.stream().write(random(1000, 3));
            up.stream().close();
            assertThat(sink.list("backups/")).isEmpty();
            assertThatThrownBy(() -> sink.open("backups/a/pending")).isInstanceOf(NoSuchFileException.class);
        }
    }

    @Test
    void closeWithoutCommit_publishesNothing() throws IOException {
        Sink.Upload up = sink.create("backups/a/aborted", ObjectKind.DATA);
        up.stream().write(random(10_000, 4));
        up.close();
        up.close();
        assertThat(sink.list("")).isEmpty();
        assertThatThrownBy(() -> sink.open("backups/a/aborted")).isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void commitTwice_isAnError() throws IOException {
        try (Sink.Upload up = sink.create("backups/a/twice", ObjectKind.DATA)) {
            up.stream().write(1);
            up.commit();
            assertThatThrownBy(up::commit).isInstanceOf(IllegalStateException.class);
        }
        assertThat(read("backups/a/twice")).containsExactly(1);
    }

    @Test
    void immutableKind_commitOnTakenKey_failsAndKeepsTheOriginal() throws IOException {
        byte[] first = random(500, 5);
        put("backups/a/manifest.json", ObjectKind.MANIFEST, first);
        assertThatThrownBy(() -> put("backups/a/manifest.json", ObjectKind.MANIFEST, random(700, 6)))
                .isInstanceOf(ObjectExistsException.class);
        assertThat(read("backups/a/manifest.json")).isEqualTo(first);
    }

    @Test
    void replaceableKind_commitReplacesTheObject() throws IOException {
        put("keys/a.dek", ObjectKind.KEY, random(100, 7));
        byte[] second = random(120, 8);
        put("keys/a.dek", ObjectKind.KEY, second);
        assertThat(read("keys/a.dek")).isEqualTo(second);
        assertThat(sink.list("keys/")).hasSize(1);
    }

    @Test
    void concurrentCommitsOfOneImmutableKey_exactlyOneWins() throws Exception {
        int writers = 4;
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < writers; i++) {
                byte[] data = random(1000, 100 + i);
                Callable<Boolean> c = () -> {
                    try {
                        put("locks/repo/1.lease", ObjectKind.LOCK, data);
                        return true;
                    } catch (ObjectExistsException e) {
                        return false;
                    }
                };
                results.add(pool.submit(c));
            }
            int winners = 0;
            for (Future<Boolean> f : results) {
                winners += f.get() ? 1 : 0;
            }
            assertThat(winners).isEqualTo(1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void open_missingKey_throwsNoSuchFile() {
        assertThatThrownBy(() -> sink.open("backups/none/data")).isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void list_returnsOnlyThePrefix_sortedByKey_withSizesAndTimes() throws IOException {
        Instant before = Instant.now().minus(Duration.ofMinutes(5));
        put("backups/b/2", ObjectKind.DATA, new byte[2]);
        put("backups/a/1", ObjectKind.DATA, new byte[1]);
        put("backups/b/10", ObjectKind.DATA, new byte[10]);
        put("keys/x.dek", ObjectKind.KEY, new byte[3]);

        List<ObjectInfo> all = sink.list("backups/");
        assertThat(all).extracting(ObjectInfo::key).containsExactly("backups/a/1", "backups/b/10", "backups/b/2");
        assertThat(all).extracting(ObjectInfo::size).containsExactly(1L, 10L, 2L);
        assertThat(all).allSatisfy(o -> assertThat(o.lastModified()).isAfter(before));
        assertThat(sink.list("backups/b/")).extracting(ObjectInfo::key).containsExactly("backups/b/10", "backups/b/2");
        assertThat(sink.list("nothing/")).isEmpty();
    }

    @Test
    void delete_removesTheObject_andDeletingAMissingKeyIsNoError() throws IOException {
        put("backups/a/data", ObjectKind.DATA, new byte[5]);
        sink.delete("backups/a/data");
        sink.delete("backups/a/data");
        assertThat(sink.list("backups/")).isEmpty();
        assertThatThrownBy(() -> sink.open("backups/a/data")).isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void deletedImmutableKey_canBeWrittenAgain() throws IOException {
        put("backups/a/manifest.json", ObjectKind.MANIFEST, new byte[] {1});
        sink.delete("backups/a/manifest.json");
        put("backups/a/manifest.json", ObjectKind.MANIFEST, new byte[] {2});
        assertThat(read("backups/a/manifest.json")).containsExactly(2);
    }
}
