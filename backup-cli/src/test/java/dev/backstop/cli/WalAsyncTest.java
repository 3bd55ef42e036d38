package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.backstop.postgres.wal.WalArchive;
import dev.backstop.postgres.wal.WalFile;
import dev.backstop.postgres.wal.WalSpool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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

/** backstop wal archive-push with a background drainer and archive-get with a prefetch queue: real child JVMs. */
class WalAsyncTest {
    static final long SYSID = WalFiles.SYSID;

    @TempDir
    Path tmp;
    WalFiles files;
    WalArchive archive;

    @BeforeEach
    void setUp() {
        files = new WalFiles(tmp);
        archive = files.archive;
    }

    Path config(String extra) throws Exception {
        return files.config(extra);
    }

    String spoolConfig() {
        return "\"spool\": \"" + tmp.resolve("spool") + "\", \"drainIdleExit\": \"1s\", \"drainBackoffMin\": \"100ms\", "
                + "\"drainBackoffMax\": \"1s\"";
    }

    static String seg(int n) {
        return WalFile.segmentOf(1, n * WalFile.SEGMENT_BYTES).name();
    }

    List<Path> segments(int first, int count) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("src"));
        List<Path> out = new ArrayList<>();
        for (int i = first; i < first + count; i++) {
            out.add(WalFiles.segment(dir, seg(i), SYSID, i));
        }
        return out;
    }

    /** Runs {@code backstop wal ARGS}, the configuration first: {@code run("archive-push", cfg, path, name)}. */
    int run(String command, String cfg, String... args) {
        String[] line = new String[args.length + 1];
        line[0] = command;
        System.arraycopy(args, 0, line, 1, args.length);
        return files.wal(Path.of(cfg), line);
    }

    String said() {
        return files.said();
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

    /** Whether a background drainer or prefetcher holds the lock file {@code lock} in {@code dir}. */
    static boolean held(Path dir, String lock) {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(dir.resolve(lock),
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
             java.nio.channels.FileLock l = ch.tryLock()) {
            return l == null;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static final String DRAINER_LOCK = "drainer.lock";
    static final String PREFETCH_LOCK = "prefetch.lock";

    Process drainer(Path cfg, Path log) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Backstop.class.getName(), "wal", "drain",
                "--follow", "--config", cfg.toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
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
        int started = started(said(), "drainer");

        await("both pushed segments in the repository", () -> archive.contains(seg(3)) && archive.contains(seg(4)));
        assertThat(started).as("drainers started").isBetween(1, 2);
        awaitEnded(started, "drainers", tmp.resolve("spool"), "drainer.log", DRAINER_LOCK,
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
        Path cfg = config("\"spool\": \"" + tmp.resolve("spool") + "\", \"drainer\": \"sometimes\"");

        assertThat(run("archive-push", cfg.toString(), segments(3, 1).get(0).toString(), seg(3))).isEqualTo(2);
        assertThat(said()).contains("backup.wal.drainer: got \"sometimes\"").contains("spawn").contains("external");
        assertThat(WalSpool.at(tmp.resolve("spool")).queued()).isEmpty();
    }

    @Test
    void badIdleExit_exitsTwo_namingTheSetting() throws Exception {
        Path cfg = config("\"spool\": \"" + tmp.resolve("spool") + "\", \"drainIdleExit\": \"soon\"");

        assertThat(run("drain", cfg.toString(), "--follow")).isEqualTo(2);
        assertThat(said()).contains("backup.wal.drainIdleExit: got \"soon\"");
    }

    String getQueueConfig() {
        return "\"getQueue\": \"" + tmp.resolve("queue") + "\", \"getQueueMax\": \"48MiB\"";
    }

    Path queue() {
        return tmp.resolve("queue").resolve(Long.toUnsignedString(SYSID));
    }

    int prefetchersStarted;

    /** Runs archive-get and counts the background prefetchers it started. */
    int archiveGet(Path cfg, String segment, Path target) {
        int before = said().length();
        int rc = run("archive-get", cfg.toString(), segment, target.toString());
        prefetchersStarted += started(said().substring(before), "prefetch");
        return rc;
    }

    /** How many background processes ("drainer", "prefetch") a command's output says it started. */
    static int started(String said, String what) {
        return said.split("started a background " + what, -1).length - 1;
    }

    void awaitPrefetchersEnded() throws Exception {
        awaitEnded(prefetchersStarted, "background prefetchers", queue(), "prefetch.log", PREFETCH_LOCK,
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
                && !held(queue(), PREFETCH_LOCK));
        assertThat(Files.readString(queue().resolve("prefetch.log")))
                .contains("prefetched " + seg(41), "prefetched " + seg(42), "prefetched " + seg(43)).doesNotContain(seg(44));

        for (int i = 41; i <= 43; i++) {
            Path target = tmp.resolve("RECOVERYXLOG");
            assertThat(archiveGet(cfg, seg(i), target)).isZero();
            assertThat(said()).as(seg(i)).contains(seg(i) + " served from the prefetch queue");
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

        assertThat(said()).contains("discarded queued " + seg(52))
                .contains(seg(52) + " served from the repository");
        assertThat(Files.mismatch(target, files.get(2))).isEqualTo(-1);
        awaitPrefetchersEnded();
    }

    @Test
    void getQueueMaxBelowOneSegment_exitsTwo_namingTheSetting() throws Exception {
        Path cfg = config("\"getQueue\": \"" + tmp.resolve("queue") + "\", \"getQueueMax\": \"1MiB\"");
        archive.put(segments(70, 1).get(0), seg(70));

        assertThat(run("archive-get", cfg.toString(), seg(70), tmp.resolve("x").toString())).isEqualTo(2);
        assertThat(said()).contains("backup.wal.getQueueMax: got \"1MiB\"").contains("16 MiB");
    }

    @Test
    void rpo_afterPushAndDrain_saysCaughtUp_andTheServerPositionUnknown() throws Exception {
        Path cfg = config("\"spool\": \"" + tmp.resolve("spool") + "\", \"drainer\": \"external\"");
        assertThat(run("archive-push", cfg.toString(), segments(80, 1).get(0).toString(), seg(80))).as(said()).isZero();
        assertThat(run("drain", cfg.toString())).as(said()).isZero();

        assertThat(run("rpo", cfg.toString())).as(said()).isZero();

        assertThat(said()).contains("archived_lsn=0/51000000", "lag_bytes=0", "server_lsn=unknown");
    }
}
