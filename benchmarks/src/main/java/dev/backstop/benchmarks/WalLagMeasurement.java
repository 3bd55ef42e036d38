package dev.backstop.benchmarks;

import dev.backstop.core.Repository;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.PgTools;
import dev.backstop.postgres.wal.RpoStatus;
import dev.backstop.postgres.wal.WalArchive;
import dev.backstop.postgres.wal.WalFile;
import dev.backstop.postgres.wal.WalReceiver;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

/**
 * How far the WAL receiver and its archive trail the server under {@code pgbench -c 2 -T 5}, on a
 * throwaway PostgreSQL: the receive lag, and the archive's RPO with deltas every 200 ms and with
 * whole segments only. Prints {@code key=value} lines (percentiles in ms, delta rates); the
 * figures go into RESULTS.md, never into assertions.
 *
 * <pre>
 *   java -cp "$CP" dev.backstop.benchmarks.WalLagMeasurement
 * </pre>
 */
public final class WalLagMeasurement {
    private static final Duration SAMPLE = Duration.ofMillis(20);
    private static final Duration CATCH_UP = Duration.ofSeconds(60);
    /** Far beyond pgbench's 5 s: sampling ends with the load. */
    private static final Duration LOAD = Duration.ofMinutes(5);
    private final EphemeralPostgres pg;
    private final Path dir;

    private WalLagMeasurement(EphemeralPostgres pg, Path dir) {
        this.pg = pg;
        this.dir = dir;
    }

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("backstop-wal-lag-");
        // autovacuum off keeps stray commits out of the commit-time lag
        try (EphemeralPostgres pg = EphemeralPostgres.builder().setting("track_commit_timestamp", "on")
                .setting("autovacuum", "off").start()) {
            WalLagMeasurement m = new WalLagMeasurement(pg, dir);
            m.pgbench("-i", "-s", "1", "-q");
            m.receiveLag();
            m.archiveLag("deltas_200ms", false);
            m.archiveLag("whole_segments_only", true);
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private WalArchive archive(String name) throws SQLException {
        long sysid = Long.parseLong(one("SELECT system_identifier FROM pg_control_system()"));
        return WalArchive.builder(Repository.filesystem(dir.resolve(name).resolve("repo")), sysid)
                .keys(LocalKeysetKek.create(dir.resolve(name).resolve("kek.json"))).build();
    }

    /** From the server's flush position at a moment to the receiver having received it. */
    private void receiveLag() throws Exception {
        try (WalReceiver r = WalReceiver.builder(pg.endpoint(), archive("receive")).workDir(dir.resolve("receive/work"))
                .backoff(Duration.ofMillis(50), Duration.ofMillis(500)).build(); Sampling sampling = new Sampling()) {
            r.start();
            sampling.await("the receiver's first record", CATCH_UP, () -> r.status().receivedLsn() > 0);
            CompletableFuture<Void> load = load();
            List<long[]> samples = new ArrayList<>();
            List<Long> lagsNanos = new ArrayList<>();
            sampling.every(SAMPLE, LOAD, load::isDone, () -> {
                samples.add(new long[] {System.nanoTime(), WalFile.parseLsn(one("SELECT pg_current_wal_flush_lsn()::text"))});
                long now = System.nanoTime();
                long received = r.status().receivedLsn();
                samples.removeIf(s -> s[1] <= received && lagsNanos.add(now - s[0]));
            });
            load.join();
            lagsNanos.sort(null);
            System.out.println("rpo_receive_lag_p50_ms=" + pct(lagsNanos, 0.5) / 1_000_000 + " rpo_receive_lag_p99_ms="
                    + pct(lagsNanos, 0.99) / 1_000_000 + " samples=" + lagsNanos.size() + " reconnects=" + r.status().reconnects());
        }
    }

    /** Samples the receiver's RPO every 20 ms while pgbench runs, once it caught up with what came before. */
    private void archiveLag(String variant, boolean wholeSegmentsOnly) throws Exception {
        WalReceiver.Builder b = WalReceiver.builder(pg.endpoint(), archive(variant)).workDir(dir.resolve(variant).resolve("work"))
                .backoff(Duration.ofMillis(50), Duration.ofMillis(500));
        if (wholeSegmentsOnly) {
            b.noDeltas();
        }
        try (WalReceiver r = b.build(); Sampling sampling = new Sampling()) {
            r.start();
            long initialized = insertLsn();
            // caught up = received, and archived up to the segment holding it (whole segments only cannot get closer)
            sampling.await("the receiver catching up with pgbench -i", CATCH_UP, () -> r.status().receivedLsn() >= initialized
                    && r.rpo().archivedLsn() >= initialized - initialized % WalFile.SEGMENT_BYTES);
            CompletableFuture<Void> load = load();
            List<Long> lagMillis = new ArrayList<>();
            List<Long> lagBytes = new ArrayList<>();
            // end to end: from the server's insert position at a moment to the archive holding it
            List<long[]> positions = new ArrayList<>();
            List<Long> endToEndMillis = new ArrayList<>();
            WalReceiver.Status before = r.status();
            long loadStart = System.nanoTime();
            sampling.every(SAMPLE, LOAD, load::isDone, () -> {
                RpoStatus rpo = r.rpo();
                lagMillis.add(rpo.lag().toMillis());
                lagBytes.add(rpo.lagBytes());
                positions.add(new long[] {System.nanoTime(), insertLsn()});
                long archived = r.rpo().archivedLsn();
                long now = System.nanoTime();
                positions.removeIf(p -> p[1] <= archived && endToEndMillis.add((now - p[0]) / 1_000_000));
            });
            load.join();
            double seconds = (System.nanoTime() - loadStart) / 1e9;
            WalReceiver.Status after = r.status();
            // the positions of the last seconds: whole segments only may not reach them until a switch
            sampling.every(SAMPLE, Duration.ofSeconds(2), positions::isEmpty, () -> {
                long archived = r.rpo().archivedLsn();
                long now = System.nanoTime();
                positions.removeIf(p -> p[1] <= archived && endToEndMillis.add((now - p[0]) / 1_000_000));
            });
            endToEndMillis.sort(null);
            lagMillis.sort(null);
            lagBytes.sort(null);
            System.out.println("variant=" + variant + " rpo_archive_lag_p50_ms=" + pct(lagMillis, 0.5)
                    + " rpo_archive_lag_p99_ms=" + pct(lagMillis, 0.99) + " rpo_archive_lag_max_ms=" + pct(lagMillis, 1)
                    + " rpo_archive_lag_bytes_p50=" + pct(lagBytes, 0.5) + " rpo_archive_lag_bytes_p99=" + pct(lagBytes, 0.99)
                    + " samples=" + lagMillis.size() + " segments=" + (after.segments() - before.segments())
                    + String.format(Locale.ROOT, " deltas_per_s=%.1f delta_wal_bytes_per_s=%.0f delta_stored_bytes_per_s=%.0f",
                            (after.deltas() - before.deltas()) / seconds, (after.deltaBytes() - before.deltaBytes()) / seconds,
                            (after.deltaStoredBytes() - before.deltaStoredBytes()) / seconds)
                    + String.format(Locale.ROOT, " load_s=%.1f", seconds)
                    + " end_to_end_p50_ms=" + (endToEndMillis.isEmpty() ? "n/a" : pct(endToEndMillis, 0.5))
                    + " end_to_end_p99_ms=" + (endToEndMillis.isEmpty() ? "n/a" : pct(endToEndMillis, 0.99))
                    + " end_to_end_samples=" + endToEndMillis.size() + " not_archived_2s_after_load=" + positions.size());
        }
    }

    private static long pct(List<Long> sorted, double p) {
        return sorted.isEmpty() ? -1 : sorted.get(Math.min(sorted.size() - 1, (int) (sorted.size() * p)));
    }

    private CompletableFuture<Void> load() {
        return CompletableFuture.runAsync(() -> {
            try {
                pgbench("-n", "-c", "2", "-T", "5");
            } catch (IOException e) {
                throw new IllegalStateException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        });
    }

    private long insertLsn() throws SQLException {
        return WalFile.parseLsn(one("SELECT pg_current_wal_insert_lsn()::text"));
    }

    private String one(String q) throws SQLException {
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(q)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private void pgbench(String... args) throws IOException, InterruptedException {
        List<String> a = new ArrayList<>(List.of(PgTools.locate().tool("pgbench").toString(), "-h", "127.0.0.1",
                "-p", Integer.toString(pg.endpoint().port()), "-U", pg.endpoint().user()));
        a.addAll(Arrays.asList(args));
        a.add("postgres");
        ProcessBuilder pb = new ProcessBuilder(a).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        if (pg.endpoint().password() != null) {
            pb.environment().put("PGPASSWORD", pg.endpoint().password());
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("pgbench " + a + " exited " + p.exitValue() + ": " + out);
        }
    }
}
