package dev.backstop.postgres.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.backstop.core.Repository;
import dev.backstop.core.crypto.LocalKeysetKek;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** archive-push with a background drainer, archive-get with a prefetch queue, and the RPO of that path: real child JVMs. */
class WalAsyncTest {
    static final long SYSID = WalArchiveTest.SYSID;

    @TempDir
    Path tmp;
    WalArchive archive;
    final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);

    @BeforeEach
    void setUp() {
        LocalKeysetKek kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        archive = WalArchive.builder(Repository.filesystem(tmp.resolve("repo")), SYSID).keys(kek).build();
    }

    Path config(String extra) throws Exception {
        Path cfg = tmp.resolve("wal.properties");
        Files.writeString(cfg, "repository=" + tmp.resolve("repo") + "\nsystem-id=" + Long.toUnsignedString(SYSID)
                + "\nkek=" + tmp.resolve("kek.json") + "\n" + extra);
        return cfg;
    }

    String spoolConfig() {
        return "spool=" + tmp.resolve("spool") + "\ndrain-idle-exit=1s\ndrain-backoff-min=100ms\ndrain-backoff-max=1s\n";
    }

    static String seg(int n) {
        return WalFile.segmentName(1, n);
    }

    List<Path> segments(int first, int count) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("src"));
        List<Path> out = new ArrayList<>();
        for (int i = first; i < first + count; i++) {
            out.add(WalArchiveTest.segment(dir, seg(i), SYSID, i));
        }
        return out;
    }

    int run(String... args) {
        return WalCommand.run(args, err);
    }

    static void await(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(10);
        }
    }

    static boolean held(Path dir, String lock) {
        try {
            return Files.isDirectory(dir) && WalDrainer.Lock.held(dir, lock);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    Process drainer(Path cfg, Path log) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), WalCommand.class.getName(), "drain",
                cfg.toString(), "--follow").redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** name -> how often a drainer log says it uploaded it ("archived") or found it there ("already_archived"). */
    static Map<String, List<String>> drained(Path... logs) throws Exception {
        Map<String, List<String>> out = new HashMap<>();
        Pattern p = Pattern.compile("drained ([0-9A-F]{24}) (archived|already_archived)");
        for (Path log : logs) {
            Matcher m = p.matcher(Files.readString(log));
            while (m.find()) {
                out.computeIfAbsent(m.group(1), k -> new ArrayList<>()).add(m.group(2));
            }
        }
        return out;
    }

    @Test
    void archivePush_startsADrainer_soPushesLandInTheRepositoryWithoutAManualDrain() throws Exception {
        Path cfg = config(spoolConfig());
        List<Path> files = segments(3, 2);

        assertThat(run("archive-push", cfg.toString(), files.get(0).toString(), seg(3))).isZero();
        assertThat(run("archive-push", cfg.toString(), files.get(1).toString(), seg(4))).isZero();
        int started = started(errBytes.toString(StandardCharsets.UTF_8), "drainer");

        await("both pushed segments in the repository", () -> archive.contains(seg(3)) && archive.contains(seg(4)));
        assertThat(started).as("drainers started").isBetween(1, 2);
        awaitEnded(started, "drainers", tmp.resolve("spool"), "drainer.log", WalDrainer.LOCK_FILE,
                l -> l.startsWith("backstop: drainer exits after archiving"));
        assertThat(WalSpool.at(tmp.resolve("spool")).queued()).isEmpty();
        Path back = tmp.resolve("back");
        archive.get(seg(4), back);
        assertThat(Files.mismatch(back, files.get(1))).isEqualTo(-1);
        assertThat(Files.readString(tmp.resolve("spool/drainer.log"))).contains("drained " + seg(3) + " archived");
    }

    @Test
    void drainerKilledMidway_resumesWithoutLossOrDoubleUploads() throws Exception {
        Path cfg = config(spoolConfig());
        WalSpool spool = WalSpool.at(tmp.resolve("spool"));
        List<Path> files = segments(10, 10);
        for (int i = 0; i < files.size(); i++) {
            spool.enqueue(files.get(i), seg(10 + i));
        }
        Path log1 = tmp.resolve("drainer1.log");
        Process first = drainer(cfg, log1);
        await("a first upload", () -> !archive.files().isEmpty());
        first.destroyForcibly().waitFor();
        assumeThat(spool.queued()).as("killed while files were still queued").isNotEmpty();

        Path log2 = tmp.resolve("drainer2.log");
        Process second = drainer(cfg, log2);
        assertThat(second.waitFor()).isZero();

        assertThat(spool.queued()).isEmpty();
        Map<String, List<String>> drained = drained(log1, log2);
        for (int i = 0; i < files.size(); i++) {
            String name = seg(10 + i);
            assertThat(archive.contains(name)).as(name).isTrue();
            Path back = tmp.resolve("back-" + name);
            archive.get(name, back);
            assertThat(Files.mismatch(back, files.get(i))).as(name).isEqualTo(-1);
            assertThat(drained.getOrDefault(name, List.of()).stream().filter("archived"::equals).count())
                    .as("uploads of %s", name).isLessThanOrEqualTo(1);
        }
    }

    @Test
    void twoConcurrentDrainers_neverDoubleUpload() throws Exception {
        Path cfg = config(spoolConfig());
        WalSpool spool = WalSpool.at(tmp.resolve("spool"));
        List<Path> files = segments(20, 6);
        for (int i = 0; i < files.size(); i++) {
            spool.enqueue(files.get(i), seg(20 + i));
        }
        Path log1 = tmp.resolve("a.log");
        Path log2 = tmp.resolve("b.log");
        Process a = drainer(cfg, log1);
        Process b = drainer(cfg, log2);
        assertThat(a.waitFor()).isZero();
        assertThat(b.waitFor()).isZero();

        Map<String, List<String>> drained = drained(log1, log2);
        assertThat(drained).hasSize(6);
        drained.forEach((name, what) -> assertThat(what).as(name).containsExactly("archived"));
        assertThat(Files.readString(log1) + Files.readString(log2)).contains("another drainer holds");
        assertThat(spool.queued()).isEmpty();
    }

    @Test
    void badDrainerSetting_exitsTwo_namingTheSettingAndQueuesNothing() throws Exception {
        Path cfg = config("spool=" + tmp.resolve("spool") + "\ndrainer=sometimes\n");

        assertThat(run("archive-push", cfg.toString(), segments(3, 1).get(0).toString(), seg(3))).isEqualTo(2);
        assertThat(errBytes.toString(StandardCharsets.UTF_8)).contains("drainer: got 'sometimes'").contains("spawn").contains("external");
        assertThat(WalSpool.at(tmp.resolve("spool")).queued()).isEmpty();
    }

    @Test
    void badIdleExit_exitsTwo_namingTheSetting() throws Exception {
        Path cfg = config("spool=" + tmp.resolve("spool") + "\ndrain-idle-exit=soon\n");

        assertThat(run("drain", cfg.toString(), "--follow")).isEqualTo(2);
        assertThat(errBytes.toString(StandardCharsets.UTF_8)).contains("drain-idle-exit: got 'soon'");
    }

    String getQueueConfig() {
        return "get-queue=" + tmp.resolve("queue") + "\nget-queue-max=48MiB\n";
    }

    Path queue() {
        return tmp.resolve("queue").resolve(Long.toUnsignedString(SYSID));
    }

    int prefetchersStarted;

    /** Runs archive-get and counts the background prefetchers it started. */
    int archiveGet(Path cfg, String segment, Path target) {
        int before = errBytes.toString(StandardCharsets.UTF_8).length();
        int rc = run("archive-get", cfg.toString(), segment, target.toString());
        prefetchersStarted += started(errBytes.toString(StandardCharsets.UTF_8).substring(before), "prefetch");
        return rc;
    }

    /** How many background processes ("drainer", "prefetch") a command's output says it started. */
    static int started(String said, String what) {
        return said.split("started a background " + what, -1).length - 1;
    }

    void awaitPrefetchersEnded() throws Exception {
        awaitEnded(prefetchersStarted, "background prefetchers", queue(), "prefetch.log", WalPrefetcher.LOCK_FILE,
                l -> l.matches("backstop: prefetched \\d+ WAL files") || l.contains("another prefetcher holds the queue"));
    }

    /**
     * Waits until all {@code started} background processes have ended (each ends with one line
     * {@code last} accepts in {@code log}) and none holds the lock: one that has not taken the lock
     * yet must not write into the directory the test is deleting.
     */
    static void awaitEnded(int started, String what, Path dir, String log, String lock, Predicate<String> last) throws Exception {
        await(started + " " + what + " to end", () -> {
            try {
                Path file = dir.resolve(log);
                long ended = Files.exists(file) ? Files.readAllLines(file).stream().filter(last).count() : 0;
                return ended >= started && !held(dir, lock);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    @Test
    void archiveGet_prefetchesTheNextSegments_andServesThemFromTheQueue() throws Exception {
        Path cfg = config(getQueueConfig());
        List<Path> files = segments(40, 5);
        for (int i = 0; i < files.size(); i++) {
            archive.put(files.get(i), seg(40 + i));
        }

        assertThat(archiveGet(cfg, seg(40), tmp.resolve("RECOVERYXLOG"))).isZero();
        await("the prefetch of 3 segments (48MiB)", () -> Files.exists(queue().resolve(seg(43)))
                && !held(queue(), WalPrefetcher.LOCK_FILE));
        assertThat(Files.readString(queue().resolve("prefetch.log")))
                .contains("prefetched " + seg(41), "prefetched " + seg(42), "prefetched " + seg(43)).doesNotContain(seg(44));

        for (int i = 41; i <= 43; i++) {
            errBytes.reset();
            Path target = tmp.resolve("RECOVERYXLOG");
            assertThat(archiveGet(cfg, seg(i), target)).isZero();
            assertThat(errBytes.toString(StandardCharsets.UTF_8)).as(seg(i)).contains(seg(i) + " served from the prefetch queue");
            assertThat(Files.mismatch(target, files.get(i - 40))).as(seg(i)).isEqualTo(-1);
        }
        assertThat(prefetchersStarted).as("prefetchers started").isPositive();
        awaitPrefetchersEnded();
    }

    @Test
    void corruptedQueuedFile_isDiscardedAndFetchedAgain_notServed() throws Exception {
        Path cfg = config(getQueueConfig());
        List<Path> files = segments(50, 3);
        for (int i = 0; i < files.size(); i++) {
            archive.put(files.get(i), seg(50 + i));
        }
        assertThat(run("prefetch", cfg.toString(), seg(50))).isZero();
        Path queued = queue().resolve(seg(52));
        byte[] bytes = Files.readAllBytes(queued);
        bytes[100_000] ^= 1;
        Files.write(queued, bytes);

        Path target = tmp.resolve("RECOVERYXLOG");
        assertThat(archiveGet(cfg, seg(52), target)).isZero();

        assertThat(errBytes.toString(StandardCharsets.UTF_8)).contains("discarded queued " + seg(52))
                .contains(seg(52) + " served from the repository");
        assertThat(Files.mismatch(target, files.get(2))).isEqualTo(-1);
        awaitPrefetchersEnded();
    }

    @Test
    void prefetch_deletesFilesOutsideItsWindow_soStaleOrForeignFilesNeverLinger() throws Exception {
        Path cfg = config(getQueueConfig());
        List<Path> files = segments(60, 2);
        archive.put(files.get(0), seg(60));
        archive.put(files.get(1), seg(61));
        Files.createDirectories(queue());
        Files.writeString(queue().resolve(seg(59)), "an old one");
        Files.writeString(queue().resolve(WalFile.segmentName(2, 61)), "another timeline");

        assertThat(run("prefetch", cfg.toString(), seg(60))).isZero();

        try (var s = Files.list(queue())) {
            assertThat(s.map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(".lock") && !n.endsWith(".log")))
                    .containsExactly(seg(61));
        }
    }

    @Test
    void getQueueMaxBelowOneSegment_exitsTwo_namingTheSetting() throws Exception {
        Path cfg = config("get-queue=" + tmp.resolve("queue") + "\nget-queue-max=1MiB\n");
        archive.put(segments(70, 1).get(0), seg(70));

        assertThat(run("archive-get", cfg.toString(), seg(70), tmp.resolve("x").toString())).isEqualTo(2);
        assertThat(errBytes.toString(StandardCharsets.UTF_8)).contains("get-queue-max: got").contains("16 MiB");
    }

    @Test
    void spoolRpo_separatesWhatIsArchivedFromWhatIsOnlySpooled() throws Exception {
        SyntheticWal archivedWal = new SyntheticWal(80 * WalFile.SEGMENT_BYTES).begin();
        archivedWal.commit(SyntheticWal.at(1));
        archivedWal.commit(SyntheticWal.at(2));
        SyntheticWal spooledWal = new SyntheticWal(81 * WalFile.SEGMENT_BYTES).begin();
        spooledWal.heap(500);
        spooledWal.commit(SyntheticWal.at(3));
        archive.put(asSegment(archivedWal, seg(80)), seg(80));
        WalSpool spool = WalSpool.at(tmp.resolve("spool"));
        spool.enqueue(asSegment(spooledWal, seg(81)), seg(81));
        Instant now = SyntheticWal.at(10);

        RpoStatus rpo = spool.rpo(archive, Clock.fixed(now, ZoneOffset.UTC));

        assertThat(rpo.archivedLsn()).isEqualTo(81 * WalFile.SEGMENT_BYTES);
        assertThat(rpo.archivedCommitTime()).isEqualTo(SyntheticWal.at(2));
        assertThat(rpo.localLsn()).isEqualTo(82 * WalFile.SEGMENT_BYTES);
        assertThat(rpo.lagBytes()).isEqualTo(WalFile.SEGMENT_BYTES);
        assertThat(rpo.serverLsn()).isEqualTo(-1);
        assertThat(rpo.oldestUnarchivedCommitTime()).isEqualTo(SyntheticWal.at(3));
        assertThat(rpo.lag()).isEqualTo(Duration.ofSeconds(7));

        spool.drain(archive);
        RpoStatus drained = spool.rpo(archive, Clock.fixed(now, ZoneOffset.UTC));
        assertThat(drained.caughtUp()).isTrue();
        assertThat(drained.archivedCommitTime()).isEqualTo(SyntheticWal.at(3));
        assertThat(run("rpo", config("").toString())).isZero();
        assertThat(errBytes.toString(StandardCharsets.UTF_8)).contains("archived_lsn=0/52000000", "lag_bytes=0", "server_lsn=unknown");
    }

    /** Synthetic WAL padded to a whole segment with the long header's system identifier set, as the archive checks. */
    Path asSegment(SyntheticWal w, String name) throws Exception {
        byte[] b = java.util.Arrays.copyOf(w.bytes(), (int) WalFile.SEGMENT_BYTES);
        java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(24, SYSID);
        Path p = tmp.resolve("synthetic-" + name);
        Files.write(p, b);
        return p;
    }
}
