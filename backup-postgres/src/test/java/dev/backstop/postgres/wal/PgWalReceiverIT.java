package dev.backstop.postgres.wal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Repository;
import dev.backstop.core.Sink;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.log.DeltaRun;
import dev.backstop.core.log.LogDelta;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.PgTools;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PgWalReceiverIT {
    @TempDir
    Path tmp;
    EphemeralPostgres pg;
    WalArchive archive;
    long sysid;

    @BeforeEach
    void start() throws Exception {
        // commit timestamps give the RPO test an oracle; autovacuum off keeps stray commits out of it
        pg = EphemeralPostgres.builder().setting("track_commit_timestamp", "on").setting("autovacuum", "off").start();
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT system_identifier FROM pg_control_system()")) {
            rs.next();
            sysid = rs.getLong(1);
        }
        archive = WalArchive.builder(Repository.filesystem(tmp.resolve("repo")), sysid)
                .keys(LocalKeysetKek.create(tmp.resolve("kek.json"))).build();
    }

    @AfterEach
    void stop() throws Exception {
        pg.close();
    }

    WalReceiver receiver(WalArchive a) {
        return WalReceiver.builder(pg.endpoint(), a).workDir(tmp.resolve("receiving"))
                .backoff(Duration.ofMillis(50), Duration.ofMillis(500)).build();
    }

    void sql(String s) throws Exception {
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement()) {
            st.execute(s);
        }
    }

    String switchWal() throws Exception {
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_walfile_name(pg_switch_wal())")) {
            rs.next();
            return rs.getString(1);
        }
    }

    long currentLsn() throws Exception {
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_current_wal_flush_lsn()::text")) {
            rs.next();
            return WalFile.parseLsn(rs.getString(1));
        }
    }

    /** Where the next WAL record goes: past every commit made so far (commits are not flushed at once, synchronous_commit=off). */
    long insertLsn() throws Exception {
        return WalFile.parseLsn(one("SELECT pg_current_wal_insert_lsn()::text"));
    }

    static void await(String what, BooleanSupplier done) throws InterruptedException {
        await(what, done, () -> "");
    }

    static void await(String what, BooleanSupplier done, java.util.function.Supplier<Object> detail) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what + " " + detail.get());
            }
            Thread.sleep(20);
        }
    }

    void pgbench(String... args) throws Exception {
        List<String> a = new ArrayList<>(List.of(PgTools.locate().tool("pgbench").toString(), "-h", "127.0.0.1",
                "-p", Integer.toString(pg.endpoint().port()), "-U", "postgres"));
        a.addAll(Arrays.asList(args));
        a.add("postgres");
        ProcessBuilder pb = new ProcessBuilder(a).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().put("PGPASSWORD", pg.endpoint().password());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as("pgbench %s: %s", a, out).isZero();
    }

    @Test
    void killedReceiver_restartsWithoutAGap_andSegmentsAreByteIdenticalToPgReceivewal() throws Exception {
        sql("SELECT pg_create_physical_replication_slot('pgrw', true)");
        Path pgrwDir = Files.createDirectories(tmp.resolve("pg_receivewal"));
        ProcessBuilder pb = new ProcessBuilder(PgTools.locate().tool("pg_receivewal").toString(), "-D", pgrwDir.toString(),
                "--slot=pgrw", "-n", "-h", "127.0.0.1", "-p", Integer.toString(pg.endpoint().port()), "-U", "postgres")
                .redirectErrorStream(true).redirectOutput(tmp.resolve("pg_receivewal.log").toFile());
        pb.environment().put("PGPASSWORD", pg.endpoint().password());
        Process pgrw = pb.start();
        try {
            WalReceiver first = receiver(archive);
            first.start();
            pgbench("-i", "-s", "2", "-q");
            await("a first archived segment", () -> first.status().segments() > 0, first::status);
            first.close();
            WalReceiver.Status killed = first.status();

            pgbench("-n", "-c", "1", "-t", "2000");
            String last;
            try (WalReceiver second = receiver(archive)) {
                second.start();
                pgbench("-n", "-c", "1", "-t", "1000");
                last = switchWal();
                await(last + " archived", () -> archive.contains(last));
                await(last + " from pg_receivewal", () -> Files.exists(pgrwDir.resolve(last)));
                // the archive shows a segment a moment before the receiver's status counts it
                await("the second receiver to count what it archived", () -> second.status().archivedLsn() > killed.archivedLsn(),
                        second::status);
            }

            List<WalFile> segs = archive.files().stream().filter(f -> f.kind() == WalFile.Kind.SEGMENT).toList();
            for (int i = 1; i < segs.size(); i++) {
                assertThat(segs.get(i).segmentNumber()).as("no gap after %s", segs.get(i - 1)).isEqualTo(segs.get(i - 1).segmentNumber() + 1);
            }
            assertThat(segs.get(segs.size() - 1).name()).isEqualTo(last);
            int compared = 0;
            try (Stream<Path> s = Files.list(pgrwDir)) {
                for (Path p : s.filter(p -> p.getFileName().toString().matches("[0-9A-F]{24}")).toList()) {
                    String name = p.getFileName().toString();
                    if (archive.contains(name)) {
                        Path out = tmp.resolve("got-" + name);
                        archive.get(name, out);
                        assertThat(Files.mismatch(p, out)).as("%s differs from pg_receivewal's", name).isEqualTo(-1L);
                        compared++;
                    }
                }
            }
            assertThat(compared).isGreaterThanOrEqualTo(2);
        } finally {
            pgrw.destroy();
            pgrw.waitFor();
        }
    }

    Process pgReceivewal(Path dir) throws Exception {
        sql("SELECT pg_create_physical_replication_slot('pgrw', true)");
        ProcessBuilder pb = new ProcessBuilder(PgTools.locate().tool("pg_receivewal").toString(), "-D", dir.toString(),
                "--slot=pgrw", "-n", "-h", "127.0.0.1", "-p", Integer.toString(pg.endpoint().port()), "-U", "postgres")
                .redirectErrorStream(true).redirectOutput(tmp.resolve("pg_receivewal.log").toFile());
        pb.environment().put("PGPASSWORD", pg.endpoint().password());
        return pb.start();
    }

    /**
     * Writes a little WAL a few times, each round archived by {@code r} before the next is
     * written, so the unfinished segment goes out as several deltas.
     */
    void trickle(WalReceiver r, int rounds) throws Exception {
        sql("CREATE TABLE IF NOT EXISTS trickle(id int, pad text)");
        for (int i = 0; i < rounds; i++) {
            sql("INSERT INTO trickle SELECT g, repeat('x', 100) FROM generate_series(1, 500) g");
            long written = insertLsn();
            await("round " + (i + 1) + " archived up to " + WalFile.formatLsn(written),
                    () -> r.status().archivedLsn() >= written, r::status);
        }
    }

    @Test
    void deltas_runGapFreeFromZero_matchPgReceivewalsBytes_andAreGoneOnceTheSegmentIsArchivedWhole() throws Exception {
        Path pgrwDir = Files.createDirectories(tmp.resolve("pg_receivewal"));
        Process pgrw = pgReceivewal(pgrwDir);
        try (WalReceiver r = WalReceiver.builder(pg.endpoint(), archive).workDir(tmp.resolve("receiving"))
                .deltaInterval(Duration.ofMillis(100)).build()) {
            r.start();
            await("streaming", () -> r.status().timeline() > 0, r::status);
            switchWal(); // a fresh segment: its deltas start at offset 0
            trickle(r, 6);
            long end = insertLsn();
            WalFile seg = WalFile.segmentOf(1, end);
            await("deltas up to " + WalFile.formatLsn(end), () -> r.status().archivedLsn() >= end, r::status);
            assertThat(archive.contains(seg.name())).isFalse();

            List<LogDelta> deltas = archive.deltas(seg);
            DeltaRun run = DeltaRun.of(deltas);
            assertThat(run.chain()).as("every delta is on the run from offset 0").hasSize(deltas.size()).hasSizeGreaterThan(2);
            assertThat(run.chain().get(0).from()).isZero();
            assertThat(seg.startLsn() + run.end()).isGreaterThanOrEqualTo(end);
            Path assembled = tmp.resolve("assembled");
            assertThat(archive.get(seg.name(), assembled)).isTrue();

            String last = switchWal();
            assertThat(last).isEqualTo(seg.name());
            await(last + " archived whole", () -> archive.contains(last), r::status);
            await(last + " from pg_receivewal", () -> Files.exists(pgrwDir.resolve(last)));
            await("the deltas of " + last + " deleted", () -> archive.deltas(seg).isEmpty(), () -> archive.deltas(seg));

            byte[] got = Files.readAllBytes(assembled);
            byte[] pgrwBytes = Files.readAllBytes(pgrwDir.resolve(last));
            int n = (int) run.end();
            assertThat(Arrays.mismatch(got, 0, n, pgrwBytes, 0, n)).as("the deltas' bytes are pg_receivewal's").isEqualTo(-1);
            assertThat(Arrays.mismatch(got, n, got.length, new byte[got.length - n], 0, got.length - n))
                    .as("zeros after the archived prefix").isEqualTo(-1);
            Path whole = tmp.resolve("whole");
            archive.get(last, whole);
            assertThat(Files.mismatch(whole, pgrwDir.resolve(last))).isEqualTo(-1L);
            assertThat(r.status().lastError()).isNull();
        } finally {
            pgrw.destroy();
            pgrw.waitFor();
        }
    }

    /** A filesystem repository whose first delete of a delta fails, as if the receiver died right after archiving a whole segment. */
    static Sink failingFirstDeltaDelete(Sink inner, AtomicBoolean failed) {
        return new Sink() {
            @Override
            public Upload create(String key, ObjectKind kind) throws IOException {
                return inner.create(key, kind);
            }

            @Override
            public InputStream open(String key) throws IOException {
                return inner.open(key);
            }

            @Override
            public List<ObjectInfo> list(String prefix) throws IOException {
                return inner.list(prefix);
            }

            @Override
            public void delete(String key) throws IOException {
                if (key.contains(".deltas/") && failed.compareAndSet(false, true)) {
                    throw new IOException("injected: the receiver is gone before it deleted " + key);
                }
                inner.delete(key);
            }
        };
    }

    @Test
    void receiverStoppedBetweenArchivingASegmentAndDeletingItsDeltas_nextSessionDeletesThem_andTheSegmentRestoresWhole()
            throws Exception {
        AtomicBoolean failed = new AtomicBoolean();
        WalArchive flaky = WalArchive.builder(Repository.on(failingFirstDeltaDelete(Repository.filesystem(tmp.resolve("repo")).sink(),
                failed)), sysid).keys(LocalKeysetKek.load(tmp.resolve("kek.json"))).build();
        try (WalReceiver r = WalReceiver.builder(pg.endpoint(), flaky).workDir(tmp.resolve("receiving"))
                .backoff(Duration.ofMillis(50), Duration.ofMillis(500)).deltaInterval(Duration.ofMillis(100)).build()) {
            r.start();
            await("streaming", () -> r.status().timeline() > 0, r::status);
            switchWal(); // a fresh segment: its deltas start at offset 0
            trickle(r, 3);
            long end = insertLsn();
            WalFile seg = WalFile.segmentOf(1, end);
            await("deltas up to " + WalFile.formatLsn(end), () -> r.status().archivedLsn() >= end, r::status);
            Path assembled = tmp.resolve("assembled");
            archive.get(seg.name(), assembled);
            long prefix = archive.deltaEnd(seg);
            assertThat(prefix).isPositive();

            String last = switchWal();
            await("the injected failure", failed::get, r::status);
            await("a reconnect", () -> r.status().reconnects() > 0, r::status);
            await("the deltas of " + last + " deleted by the next session", () -> archive.deltas(seg).isEmpty(), r::status);

            assertThat(archive.contains(last)).isTrue();
            Path whole = tmp.resolve("whole");
            assertThat(archive.get(last, whole)).isTrue();
            byte[] w = Files.readAllBytes(whole);
            byte[] a = Files.readAllBytes(assembled);
            assertThat(Arrays.mismatch(w, 0, (int) prefix, a, 0, (int) prefix)).as("the whole segment begins with the deltas' bytes")
                    .isEqualTo(-1);
            assertThat(r.status().lastError()).contains("injected");
        }
    }

    @Test
    void receiver_underPgbench_catchesUp_withoutErrors() throws Exception {
        pgbench("-i", "-s", "1", "-q");
        try (WalReceiver r = receiver(archive)) {
            r.start();
            await("streaming", () -> r.status().receivedLsn() > 0);

            pgbench("-n", "-c", "2", "-T", "5");

            long end = currentLsn();
            await("receiver to catch up to " + WalFile.formatLsn(end), () -> r.status().receivedLsn() >= end, r::status);
            assertThat(r.status().lastError()).isNull();
        }
    }

    String one(String q) throws Exception {
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(q)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** The commit time of the server's last commit ({@code track_commit_timestamp} is on). */
    java.time.Instant lastCommitted() {
        try {
            return java.time.OffsetDateTime.parse(one(
                    "SELECT to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM pg_last_committed_xact()"))
                    .toInstant();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Runs {@code pgbench -c 2 -T 5} once the receiver has caught up with what {@code pgbench -i}
     * wrote, sampling {@code r.rpo()} meanwhile; returns the status before and after. The lag's
     * figures are measured by the benchmarks' WalLagMeasurement, not here.
     */
    WalReceiver.Status[] underPgbench(WalReceiver r) throws Exception {
        long initialized = insertLsn();
        // caught up = received, and archived up to the segment holding it (whole segments only cannot get closer)
        await("the receiver to catch up with pgbench -i", () -> r.status().receivedLsn() >= initialized
                && r.rpo().archivedLsn() >= initialized - initialized % WalFile.SEGMENT_BYTES, r::status);
        CompletableFuture<Void> load = CompletableFuture.runAsync(() -> {
            try {
                pgbench("-n", "-c", "2", "-T", "5");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        long maxLagMillis = 0;
        WalReceiver.Status before = r.status();
        while (!load.isDone()) {
            maxLagMillis = Math.max(maxLagMillis, r.rpo().lag().toMillis());
            Thread.sleep(20); // the sampling interval of the lag while pgbench runs; the loop ends with pgbench
        }
        load.join();
        assertThat(maxLagMillis).as("under load some commit waits for its upload").isPositive();
        return new WalReceiver.Status[] {before, r.status()};
    }

    @Test
    void rpo_withoutDeltas_storesWholeSegmentsOnly() throws Exception {
        pgbench("-i", "-s", "1", "-q");
        try (WalReceiver r = WalReceiver.builder(pg.endpoint(), archive).workDir(tmp.resolve("receiving")).noDeltas().build()) {
            r.start();
            WalReceiver.Status[] window = underPgbench(r);
            assertThat(window[1].deltas()).isZero();
            assertThat(archive.deltaEnd(WalFile.segmentOf(1, insertLsn()))).isZero();
        }
    }

    @Test
    void rpo_underPgbench_goesOutAsDeltas_andAfterASwitchIsCaughtUpAtTheMarkersCommitTime() throws Exception {
        pgbench("-i", "-s", "1", "-q");
        try (WalReceiver r = receiver(archive)) {
            r.start();
            WalReceiver.Status[] window = underPgbench(r);
            assertThat(window[1].deltas()).as("the unfinished segment went to the repository as deltas").isGreaterThan(window[0].deltas());

            sql("CREATE TABLE marker(id int)");
            sql("INSERT INTO marker VALUES (1)");
            java.time.Instant markerTime = java.time.OffsetDateTime.parse(one(
                    "SELECT to_char(pg_xact_commit_timestamp(xmin) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM marker"))
                    .toInstant();
            long markerEnd = insertLsn();
            await("the marker's commit archived without a segment switch", () -> markerTime.equals(r.rpo().archivedCommitTime()), r::rpo);
            RpoStatus withoutSwitch = r.rpo();
            assertThat(withoutSwitch.archivedLsn() % WalFile.SEGMENT_BYTES).as("inside a segment: from deltas").isNotZero();
            assertThat(archive.contains(WalFile.segmentOf(1, markerEnd).name())).isFalse();
            RpoStatus caughtUp = null;
            for (int attempt = 0; attempt < 5 && (caughtUp == null || !caughtUp.caughtUp()); attempt++) {
                // a standby snapshot record may follow a switch: then switch again
                long switched = WalFile.parseLsn(one("SELECT pg_switch_wal()::text"));
                await("archive past " + WalFile.formatLsn(switched), () -> r.rpo().archivedLsn() >= switched, r::rpo);
                await("the server's position polled past " + WalFile.formatLsn(switched),
                        () -> r.rpo().serverLsn() >= switched, r::rpo);
                caughtUp = r.rpo();
            }
            assertThat(caughtUp.archivedCommitTime()).isEqualTo(markerTime);
            assertThat(caughtUp.lag()).isZero();
            assertThat(caughtUp.oldestUnarchivedCommitTime()).isNull();
            assertThat(caughtUp.lagBytes()).as("%s", caughtUp).isZero();
            assertThat(caughtUp.serverLsn()).isEqualTo(caughtUp.archivedLsn());
            assertThat(archive.lastCommitBefore(Long.MAX_VALUE).orElseThrow()).as("the archive's metadata, whole segments and deltas")
                    .isAfterOrEqualTo(markerTime).isBeforeOrEqualTo(lastCommitted());
        }
        try (WalReceiver again = receiver(archive)) {
            again.start();
            await("a new receiver streaming", () -> again.status().timeline() > 0);
            assertThat(again.rpo().archivedCommitTime()).as("read back from the archive's metadata when streaming starts")
                    .isNotNull().isBeforeOrEqualTo(lastCommitted());
            await("the new receiver reporting the server's last commit as archived",
                    () -> lastCommitted().equals(again.rpo().archivedCommitTime()), () -> again.rpo() + " last commit " + lastCommitted());
        }
    }

    @Test
    void commitScanner_findsExactlyTheCommitsPgWaldumpLists() throws Exception {
        pgbench("-i", "-s", "1", "-q");
        sql("SELECT pg_switch_wal()");
        pgbench("-n", "-c", "2", "-t", "200");
        String seg = one("SELECT pg_walfile_name(pg_current_wal_lsn())");
        sql("SELECT pg_switch_wal()");
        Path file = pg.directory().resolve("data/pg_wal").resolve(seg);
        ProcessBuilder pb = new ProcessBuilder(PgTools.locate().tool("pg_waldump").toString(), "-r", "Transaction", file.toString())
                .redirectErrorStream(true);
        pb.environment().put("TZ", "UTC");
        Process p = pb.start();
        String dump = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        List<java.time.Instant> expected = new ArrayList<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("desc: COMMIT (\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{6})").matcher(dump);
        while (m.find()) {
            expected.add(java.time.LocalDateTime.parse(m.group(1).replace(' ', 'T')).toInstant(java.time.ZoneOffset.UTC));
        }
        List<java.time.Instant> found = new ArrayList<>();
        CommitScanner scanner = new CommitScanner(WalFile.parse(seg).startLsn(), (lsn, t) -> found.add(t));
        scanner.feed(java.nio.ByteBuffer.wrap(Files.readAllBytes(file)));

        assertThat(expected).as(dump.length() > 2000 ? dump.substring(0, 2000) : dump).hasSizeGreaterThan(100);
        assertThat(found).isEqualTo(expected);
    }

    @Test
    void serverOfAnotherCluster_isRefused() throws Exception {
        WalArchive foreign = WalArchive.builder(Repository.filesystem(tmp.resolve("other")), 42L).build();
        try (WalReceiver r = receiver(foreign)) {
            r.start();
            await("the refusal", () -> r.status().lastError() != null);
            assertThat(r.status().lastError()).contains("another cluster").contains("42");
            assertThat(foreign.files()).isEmpty();
        }
    }
}
