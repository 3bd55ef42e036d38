package dev.backstop.core.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.event.AuditLog;
import dev.backstop.core.BackupException;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.MutableClock;
import dev.backstop.core.replication.Replication;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.retention.Expiry;
import dev.backstop.core.retention.RetentionPlanner;
import dev.backstop.core.retention.RetentionPolicy;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Four real backups over two days (one failing in between), real verifications, two drill
 * records, a replica, an expiry and a key rotation, all on an injected clock; the report's figures
 * must be exactly those.
 */
class ComplianceReportTest {
    static final Instant FROM = Instant.parse("2026-11-20T00:00:00Z");
    static final Instant TO = Instant.parse("2026-11-22T00:00:00Z");

    @TempDir
    Path tmp;
    final MutableClock clock = new MutableClock(FROM);
    LocalKeysetKek kek;
    Repository repo;
    AuditLog audit;
    Replication replication;
    final List<Manifest> backups = new ArrayList<>();

    @BeforeEach
    void setUp() {
        kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        repo = Repository.filesystem(tmp.resolve("repo")).withKeys(kek);
        audit = AuditLog.builder(repo).clock(clock).host("db1").osUser("backup").principal("svc-backstop")
                .random(new Random(7)).build();
        replication = Replication.from(repo).to("eu", Repository.filesystem(tmp.resolve("eu"))).clock(clock).build();
    }

    /** A source that writes {@code size} bytes and takes {@code minutes} of the injected clock. */
    CaptureSource source(int size, int minutes, boolean fail) {
        return new CaptureSource() {
            @Override
            public BackupType type() {
                return BackupType.RAW;
            }

            @Override
            public CaptureResult capture(Streams streams) throws IOException {
                try (OutputStream out = streams.open("data")) {
                    out.write(new byte[size]);
                    clock.advance(Duration.ofMinutes(minutes));
                    if (fail) {
                        throw new IOException("disk full on the source host");
                    }
                }
                return CaptureResult.builder(SourceInfo.of("test", "1")).build();
            }
        };
    }

    Manifest backupAt(String at, int size, int minutes) {
        clock.set(Instant.parse(at));
        Manifest m = BackupPipeline.builder().source(source(size, minutes, false)).repository(repo)
                .encrypt(Encryption.with(kek)).listener(audit.listener()).clock(clock).build().run();
        Restore.builder().repository(repo).keys(kek).listener(audit.listener()).clock(clock).build().verify(m);
        backups.add(m);
        return m;
    }

    Report scenario() {
        backupAt("2026-11-20T00:00:00Z", 10_000, 2);
        backupAt("2026-11-20T06:00:00Z", 20_000, 4);
        backupAt("2026-11-20T12:00:00Z", 30_000, 3);
        clock.set(Instant.parse("2026-11-20T18:00:00Z"));
        assertThatThrownBy(() -> BackupPipeline.builder().source(source(5, 1, true)).repository(repo)
                .encrypt(Encryption.with(kek)).listener(audit.listener()).clock(clock).build().run())
                .isInstanceOf(BackupException.class);
        Manifest last = backupAt("2026-11-21T12:00:00Z", 40_000, 5);
        // drill records as a restore drill writes them: rto_ms measured
        repo.recordValidation(new ValidationResult(backups.get(1).id(), "restore-drill", Instant.parse("2026-11-20T07:00:00Z"),
                Duration.ofSeconds(4), List.of(), Map.of("rto_ms", "4200")));
        repo.recordValidation(new ValidationResult(last.id(), "restore-drill", Instant.parse("2026-11-21T13:00:00Z"),
                Duration.ofSeconds(95), List.of(), Map.of("rto_ms", "95000")));
        clock.set(Instant.parse("2026-11-21T14:00:00Z"));
        replication.copy(last.id());
        clock.set(Instant.parse("2026-11-21T15:00:00Z"));
        audit.append(AuditLog.Action.KEY_ROTATION, "kek-1", "rotated to kek-2 <by policy>");
        clock.set(Instant.parse("2026-11-21T20:00:00Z"));
        Expiry.builder().repository(repo).planner(RetentionPlanner.of(RetentionPolicy.keepLast(3))).clock(clock)
                .listener(audit.listener()).build().run();
        clock.set(Instant.parse("2026-11-22T01:00:00Z"));
        return ComplianceReport.builder(repo).auditLog(audit).targets(SloTargets.of(Duration.ofHours(12), Duration.ofHours(1)))
                .replication(replication).clock(clock).build().generate(FROM, TO);
    }

    @Test
    void figures_matchTheBackupsFailureDrillsExpiryAndRotationRecorded() {
        Report r = scenario();

        assertThat(r.slo(ComplianceReport.SUCCESS_RATE)).extracting(Report.Slo::achieved, Report.Slo::met, Report.Slo::basis)
                .containsExactly("80.0 %", false, "4 of 5 backups succeeded (audit log)");
        // 3 verifications of the kept backups + 2 drills; the expired backup's record went with it
        assertThat(r.slo(ComplianceReport.VALIDATION_PASS_RATE)).extracting(Report.Slo::achieved, Report.Slo::met)
                .containsExactly("100.0 %", true);
        assertThat(r.slo(ComplianceReport.VALIDATION_PASS_RATE).basis()).isEqualTo("5 of 5 validation records passed");
        // the largest gap is from the 12:00 backup (finished 12:03) to the next day's (finished 12:05)
        assertThat(r.slo(ComplianceReport.RPO)).extracting(Report.Slo::achieved, Report.Slo::target, Report.Slo::met)
                .containsExactly("1d 0h", "≤ 12h 0m", false);
        assertThat(r.rpoTimeline()).extracting(Report.Gap::length).containsExactly(Duration.ofHours(6).plusMinutes(2),
                Duration.ofHours(6).minusMinutes(1), Duration.ofHours(24).plusMinutes(2), Duration.ofHours(12).minusMinutes(5));
        assertThat(r.rpoTimeline().get(0).fromBackup()).as("the expired backup still counts, from the audit log")
                .isEqualTo(backups.get(0).id().value());
        assertThat(r.slo(ComplianceReport.RTO)).extracting(Report.Slo::achieved, Report.Slo::met)
                .containsExactly("1m 35s", true);
        assertThat(r.drills()).extracting(Report.Drill::rto).containsExactly(Duration.ofMillis(4200), Duration.ofMillis(95000));
        assertThat(r.passed()).isFalse();

        Manifest last = backups.get(3);
        assertThat(r.newestVerified()).isEqualTo(last.id().value());
        assertThat(r.newestVerifiedPerReplica()).containsExactly(Map.entry("eu", last.id().value()));
        assertThat(r.backups()).extracting(Report.BackupEvidence::id).containsExactly(backups.get(1).id().value(),
                backups.get(2).id().value(), last.id().value());
        Report.BackupEvidence e = r.backups().get(2);
        assertThat(e.kekId()).isEqualTo(kek.id()).isNotBlank();
        assertThat(e.duration()).isEqualTo(Duration.ofMinutes(5));
        assertThat(e.plaintextBytes()).isEqualTo(40_000);
        assertThat(e.objects()).singleElement().satisfies(o -> {
            assertThat(o.storedSha256()).isEqualTo(last.objects().get(0).storedSha256().hex());
            assertThat(o.storedBytes()).isEqualTo(last.storedBytes());
        });
        assertThat(e.validations()).extracting(Report.ValidationEvidence::validator).hasSize(2).contains("restore-drill");
        assertThat(e.replicas()).containsExactly(Map.entry("eu", true));

        assertThat(r.deletions()).singleElement().satisfies(d -> {
            assertThat(d.subject()).isEqualTo(backups.get(0).id().value());
            assertThat(d.detail()).isNotBlank();
            assertThat(d.principal()).isEqualTo("svc-backstop");
        });
        assertThat(r.keyOperations()).extracting(Report.AuditEvent::action, Report.AuditEvent::subject)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("KEY_ROTATION", "kek-1"));
        assertThat(r.attempts()).filteredOn(a -> !a.succeeded()).singleElement()
                .satisfies(a -> assertThat(a.detail()).contains("disk full"));
        assertThat(r.generatedAt()).isEqualTo(Instant.parse("2026-11-22T01:00:00Z"));
        assertThat(r.tamperedAuditEntries()).isEmpty();
    }

    @Test
    void aPeriodWithoutBackupsOrDrills_missesEveryObjective() {
        Report r = ComplianceReport.builder(repo).auditLog(audit).targets(SloTargets.of(Duration.ofHours(12), Duration.ofHours(1)))
                .clock(clock).build().generate(FROM, TO);
        assertThat(r.slos()).extracting(Report.Slo::achieved)
                .containsExactly("no backups", "no validations", "no backups", "no drills");
        assertThat(r.slos()).noneMatch(Report.Slo::met);
        assertThat(r.newestVerified()).isNull();
    }

    @Test
    void aKeylessView_isRefusedNamingWithKeys() {
        assertThatThrownBy(() -> ComplianceReport.builder(Repository.filesystem(tmp.resolve("repo"))).auditLog(audit)
                .targets(SloTargets.of(Duration.ofHours(1), Duration.ofHours(1))).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("withKeys");
    }

    @Test
    void json_roundTripsToAnEqualReport() {
        Report r = scenario();
        byte[] json = ReportJson.write(r);
        assertThat(ReportJson.read(json)).isEqualTo(r);
        assertThat(new String(json, StandardCharsets.UTF_8)).contains("\"achieved\" : \"80.0 %\"", "\"rpo\" : \"PT12H\"");
    }

    @Test
    void html_inHeadlessChromium_showsTheSloTableChartsAndEvidence() throws Exception {
        Report r = scenario();
        String html = ReportHtml.renderString(r);
        assertThat(html).as("self-contained: nothing is fetched or run").doesNotContain("<script", "<link", "src=", "url(", "@import")
                .as("the kek rotation detail is escaped").contains("rotated to kek-2 &lt;by policy&gt;");
        Path page = tmp.resolve("report.html");
        Files.writeString(page, html);
        Path shot = Path.of("target", "compliance-report.png").toAbsolutePath();
        Files.createDirectories(shot.getParent());

        String dom = chromium(List.of("--dump-dom", page.toUri().toString()));
        chromium(List.of("--screenshot=" + shot, "--window-size=1200,1600", "--hide-scrollbars", page.toUri().toString()));

        assertThat(dom).doesNotContain("<script");
        assertThat(dom.split("class=\"slo-row\"", -1)).hasSize(5);
        assertThat(dom).contains("Backup success rate", "80.0 %", "FAIL", "PASS", "1d 0h", "1m 35s", "100.0 %");
        assertThat(dom).contains("id=\"chart-size\"", "id=\"chart-duration\"", "id=\"chart-rpo\"", "id=\"chart-rto\"");
        assertThat(dom.split("<svg", -1)).hasSize(5);
        assertThat(dom).contains(backups.get(3).objects().get(0).storedSha256().hex(), kek.id(), "on replica <b>eu</b>");
        assertThat(dom).contains("id=\"deletions\"", backups.get(0).id().value(), "disk full on the source host");
        assertThat(shot).isNotEmptyFile();
    }

    @Test
    void anEditedAuditEntry_countsForNothingAndIsNamedOnThePage() throws IOException {
        scenario();
        Path failed;
        try (var files = Files.walk(tmp.resolve("repo").resolve("audit"))) {
            failed = files.filter(Files::isRegularFile).filter(f -> read(f).contains("BACKUP_FAILED")).findFirst().orElseThrow();
        }
        // someone hides the failure: the entry now says it succeeded
        Files.writeString(failed, read(failed).replace("BACKUP_FAILED", "BACKUP"), StandardCharsets.ISO_8859_1);

        Report r = ComplianceReport.builder(repo).auditLog(audit).targets(SloTargets.of(Duration.ofHours(12), Duration.ofHours(1)))
                .clock(clock).build().generate(FROM, TO);

        assertThat(r.slo(ComplianceReport.SUCCESS_RATE).basis()).isEqualTo("4 of 4 backups succeeded (audit log)");
        assertThat(r.tamperedAuditEntries()).singleElement().satisfies(k -> assertThat(failed.toString()).endsWith(k));
        assertThat(ReportHtml.renderString(r)).contains("did not authenticate and were not counted (1)", r.tamperedAuditEntries().get(0));
    }

    @Test
    void textFromTheRepository_isEscapedSoThePageNeverRunsIt() {
        audit.append(AuditLog.Action.KEY_ERASE, "<script>alert(1)</script>", "erased \"kek\" & <img src=x onerror=alert(2)>");
        Report r = ComplianceReport.builder(repo).auditLog(audit).targets(SloTargets.of(Duration.ofHours(12), Duration.ofHours(1)))
                .clock(clock).build().generate(FROM, TO);
        String html = ReportHtml.renderString(r);
        assertThat(html).doesNotContain("<script", "<img").contains("&lt;script&gt;alert(1)&lt;/script&gt;",
                "erased &quot;kek&quot; &amp; &lt;img src=x onerror=alert(2)&gt;");
    }

    static String read(Path f) {
        try {
            return Files.readString(f, StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Runs headless Chromium and returns its stdout; fails (never skips) when it is not installed. */
    static String chromium(List<String> args) throws Exception {
        String exe = System.getenv().getOrDefault("CHROMIUM", "chromium");
        List<String> cmd = new ArrayList<>(List.of(exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-dev-shm-usage"));
        cmd.addAll(args);
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException e) {
            throw new AssertionError("headless Chromium is needed to check the HTML report and '" + exe + "' could not be "
                    + "started (" + e.getMessage() + "); install it with: apt-get install -y --no-install-recommends chromium "
                    + "(or set CHROMIUM to its path)", e);
        }
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("chromium finished").isTrue();
        assertThat(p.exitValue()).as("chromium exit status for " + args).isZero();
        return out;
    }
}
