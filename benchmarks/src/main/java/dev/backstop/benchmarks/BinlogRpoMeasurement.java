package dev.backstop.benchmarks;

import dev.backstop.core.Repository;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.mysql.EphemeralMariaDb;
import dev.backstop.mysql.binlog.BinlogArchive;
import dev.backstop.mysql.binlog.BinlogReceiver;
import dev.backstop.mysql.binlog.BinlogRpo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

/**
 * The binlog archive's recovery point under a steady write load, on a throwaway MariaDB: a marker
 * row is committed at a steady rate beside a bulk insert load, and each marker's lag is the time
 * from its commit returning to {@link BinlogReceiver#rpo()} showing the archive past the server's
 * binlog position read right after that commit (an upper bound of the marker's own end, so the lag
 * is never understated; the archive is looked at every 10 ms). Prints {@code key=value} lines ({@code binlog_rpo_p50_ms}, {@code
 * binlog_rpo_p99_ms}, ...); the figures go into RESULTS.md, never into assertions. Not a public API.
 *
 * <pre>
 *   java -cp "$CP" dev.backstop.benchmarks.BinlogRpoMeasurement [--seconds=20] [--markers-per-s=20]
 *        [--load-rows-per-s=5000] [--deltas=true] [--max-binlog-size=BYTES]
 * </pre>
 */
public final class BinlogRpoMeasurement {
    private static final long SAMPLE_MILLIS = 10;
    private static final int LOAD_BATCHES_PER_S = 10;

    /** A committed marker: when its commit returned, and a binlog position at or past its end. */
    private record Marker(long committedNanos, String file, long position) {
    }

    private final EphemeralMariaDb db;
    private final Queue<Marker> pending = new ConcurrentLinkedQueue<>();
    private final List<Long> lagMillis = Collections.synchronizedList(new ArrayList<>());
    private final List<Long> reportedLagMillis = Collections.synchronizedList(new ArrayList<>());
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final AtomicInteger markers = new AtomicInteger();

    private BinlogRpoMeasurement(EphemeralMariaDb db) {
        this.db = db;
    }

    public static void main(String[] args) throws Exception {
        BenchOptions o = BenchOptions.parse(args, 0);
        int seconds = Integer.parseInt(o.getOrDefault("seconds", "20"));
        int markersPerS = Integer.parseInt(o.getOrDefault("markers-per-s", "20"));
        int loadRowsPerS = Integer.parseInt(o.getOrDefault("load-rows-per-s", "5000"));
        boolean deltas = Boolean.parseBoolean(o.getOrDefault("deltas", "true"));
        if (seconds < 1 || markersPerS < 1 || markersPerS > 1000 || loadRowsPerS < 0) {
            throw new IllegalArgumentException("--seconds >= 1, --markers-per-s 1..1000, --load-rows-per-s >= 0; got " + seconds
                    + ", " + markersPerS + ", " + loadRowsPerS);
        }
        Path dir = Files.createTempDirectory("backstop-binlog-rpo-");
        EphemeralMariaDb.Builder server = EphemeralMariaDb.builder().baseDir(dir);
        String maxBinlogSize = o.getOrDefault("max-binlog-size", null);
        if (maxBinlogSize != null) {
            server.setting("max-binlog-size", maxBinlogSize);
        }
        try (EphemeralMariaDb db = server.start()) {
            new BinlogRpoMeasurement(db).run(dir, seconds, markersPerS, loadRowsPerS, deltas);
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private void run(Path dir, int seconds, int markersPerS, int loadRowsPerS, boolean deltas) throws Exception {
        try (Connection c = db.connect(null); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE bench");
            st.execute("CREATE TABLE bench.marker (id BIGINT PRIMARY KEY AUTO_INCREMENT, at TIMESTAMP(6) NOT NULL) ENGINE=InnoDB");
            st.execute("CREATE TABLE bench.bulk (id BIGINT PRIMARY KEY AUTO_INCREMENT, payload VARCHAR(200) NOT NULL) ENGINE=InnoDB");
        }
        BinlogArchive archive = BinlogArchive.builder(Repository.filesystem(dir.resolve("repo")), "bench-" + db.serverId(),
                db.serverId()).keys(LocalKeysetKek.create(dir.resolve("kek.json"))).build();
        BinlogReceiver.Builder b = BinlogReceiver.builder(db.endpoint(), archive, dir.resolve("spool"))
                .restartDelays(Duration.ofMillis(50), Duration.ofMillis(500));
        if (!deltas) {
            b.noDeltas();
        }
        ThreadFactory threads = r -> {
            Thread t = new Thread(r, "binlog-rpo-measurement");
            t.setDaemon(true);
            return t;
        };
        ScheduledExecutorService exec = Executors.newScheduledThreadPool(3, threads);
        try (BinlogReceiver r = b.build(); Connection markerSession = db.connect("bench"); Connection loadSession = db.connect("bench")) {
            r.start();
            Marker start = commitMarker(markerSession);
            if (deltas) {
                // caught up with the set-up; whole files only cannot get there before a rotation
                awaitArchived(r, start, exec);
            }
            long bytesBefore = written(markerSession);
            ScheduledFuture<?> sampler = exec.scheduleAtFixedRate(() -> sample(r), 0, SAMPLE_MILLIS, TimeUnit.MILLISECONDS);
            long loadStart = System.nanoTime();
            ScheduledFuture<?> markerTask = exec.scheduleAtFixedRate(() -> guard(() -> {
                pending.add(commitMarker(markerSession));
                markers.incrementAndGet();
            }), 0, 1_000_000 / markersPerS, TimeUnit.MICROSECONDS);
            int batch = loadRowsPerS / LOAD_BATCHES_PER_S;
            ScheduledFuture<?> loadTask = batch == 0 ? null : exec.scheduleAtFixedRate(() -> guard(() -> load(loadSession, batch)),
                    0, 1000 / LOAD_BATCHES_PER_S, TimeUnit.MILLISECONDS);
            exec.schedule(() -> { }, seconds, TimeUnit.SECONDS).get();
            markerTask.cancel(false);
            if (loadTask != null) {
                loadTask.cancel(false);
            }
            double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
            long serverBytes = written(markerSession) - bytesBefore;
            // the markers of the last moments: give the archive 5 s to reach them
            CountDownLatch drained = new CountDownLatch(1);
            ScheduledFuture<?> drain = exec.scheduleAtFixedRate(() -> {
                if (pending.isEmpty()) {
                    drained.countDown();
                }
            }, 0, SAMPLE_MILLIS, TimeUnit.MILLISECONDS);
            drained.await(5, TimeUnit.SECONDS);
            drain.cancel(false);
            sampler.cancel(false);
            if (failure.get() != null) {
                throw new IllegalStateException("the write load failed", failure.get());
            }
            BinlogRpo last = r.rpo();
            print(deltas, seconds, markersPerS, loadRowsPerS, loadSeconds, serverBytes, last, r.lastFailure());
        } finally {
            exec.shutdownNow();
        }
    }

    /** Resolves the markers the archive has reached, oldest first (their positions only grow). */
    private void sample(BinlogReceiver r) {
        BinlogRpo rpo = r.rpo();
        long now = System.nanoTime();
        reportedLagMillis.add(rpo.lag().toMillis());
        for (Marker m = pending.peek(); m != null && archived(rpo, m); m = pending.peek()) {
            pending.poll();
            lagMillis.add((now - m.committedNanos()) / 1_000_000);
        }
    }

    private static boolean archived(BinlogRpo rpo, Marker m) {
        if (rpo.archivedFile() == null) {
            return false;
        }
        int cmp = Long.compare(number(rpo.archivedFile()), number(m.file()));
        return cmp > 0 || cmp == 0 && rpo.archivedPosition() >= m.position();
    }

    private static long number(String binlogFile) {
        return Long.parseLong(binlogFile.substring(binlogFile.lastIndexOf('.') + 1));
    }

    private void awaitArchived(BinlogReceiver r, Marker m, ScheduledExecutorService exec) throws Exception {
        CountDownLatch done = new CountDownLatch(1);
        ScheduledFuture<?> poll = exec.scheduleAtFixedRate(() -> {
            if (archived(r.rpo(), m)) {
                done.countDown();
            }
        }, 0, SAMPLE_MILLIS, TimeUnit.MILLISECONDS);
        try {
            if (!done.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the receiver did not archive the set-up within 60 s: " + r.rpo()
                        + ", last failure: " + r.lastFailure());
            }
        } finally {
            poll.cancel(false);
        }
    }

    private Marker commitMarker(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO marker (at) VALUES (NOW(6))");
            long committed = System.nanoTime();
            try (ResultSet rs = st.executeQuery("SHOW MASTER STATUS")) {
                rs.next();
                return new Marker(committed, rs.getString(1), rs.getLong(2));
            }
        }
    }

    private static void load(Connection c, int rows) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO bulk (payload) SELECT CONCAT(seq, ' ', REPEAT(MD5(RAND()), 5)) FROM seq_1_to_" + rows);
        }
    }

    /** The binlog bytes the server has written so far (all files). */
    private static long written(Connection c) throws SQLException {
        long sum = 0;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SHOW BINARY LOGS")) {
            while (rs.next()) {
                sum += rs.getLong(2);
            }
        }
        return sum;
    }

    /** A scheduled task that records its first failure instead of dying silently (a failed periodic task stops repeating). */
    private void guard(SqlTask task) {
        try {
            task.run();
        } catch (SQLException | RuntimeException e) {
            failure.compareAndSet(null, e);
            throw new IllegalStateException(e);
        }
    }

    @FunctionalInterface
    private interface SqlTask {
        void run() throws SQLException;
    }

    private void print(boolean deltas, int seconds, int markersPerS, int loadRowsPerS, double loadSeconds, long serverBytes,
                       BinlogRpo last, String lastFailure) {
        List<Long> lags;
        List<Long> reported;
        synchronized (lagMillis) {
            lags = new ArrayList<>(lagMillis);
        }
        synchronized (reportedLagMillis) {
            reported = new ArrayList<>(reportedLagMillis);
        }
        lags.sort(null);
        reported.sort(null);
        System.out.println("variant=" + (deltas ? "deltas_200ms" : "whole_files_only"));
        System.out.println("binlog_rpo_markers=" + markers.get());
        System.out.println("binlog_rpo_archived_markers=" + lags.size());
        System.out.println("binlog_rpo_not_archived_5s_after_load=" + pending.size());
        System.out.println("binlog_rpo_max_ms=" + pct(lags, 1));
        System.out.println("binlog_receiver_reported_lag_p50_ms=" + pct(reported, 0.5));
        System.out.println("binlog_receiver_reported_lag_p99_ms=" + pct(reported, 0.99));
        System.out.println("binlog_receiver_restarts=" + last.restarts());
        System.out.println("binlog_receiver_last_failure=" + (lastFailure == null ? "none" : lastFailure.replace('\n', ' ')));
        System.out.printf(Locale.ROOT, "binlog_bytes_per_s=%.0f%n", serverBytes / loadSeconds);
        System.out.println("load_s=" + seconds + " markers_per_s=" + markersPerS + " load_rows_per_s=" + loadRowsPerS);
        System.out.println("binlog_rpo_p50_ms=" + pct(lags, 0.5));
        System.out.println("binlog_rpo_p99_ms=" + pct(lags, 0.99));
    }

    private static long pct(List<Long> sorted, double p) {
        return sorted.isEmpty() ? -1 : sorted.get(Math.min(sorted.size() - 1, (int) (sorted.size() * p)));
    }
}
