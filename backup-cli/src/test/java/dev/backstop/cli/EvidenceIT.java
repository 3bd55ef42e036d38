package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.core.event.AuditLog;
import dev.backstop.core.report.ComplianceReport;
import dev.backstop.core.report.Report;
import dev.backstop.core.report.ReportJson;
import dev.backstop.postgres.EphemeralPostgres;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code backstop audit} and {@code backstop report} over a filesystem repository holding real
 * backups of a throwaway PostgreSQL server, with a verification and a restore drill.
 */
class EvidenceIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static EphemeralPostgres pg;
    @TempDir
    static Path tmp;
    static Map<String, String> env;
    static String cfg;
    static List<String> backups = new ArrayList<>();

    record Result(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] all = Stream.concat(Stream.of(args), Stream.of("--config", cfg)).toArray(String[]::new);
        int code = Backstop.execute(all, env, new PrintWriter(out), new PrintWriter(err));
        return new Result(code, out.toString(), err.toString());
    }

    static Result ok(String... args) {
        Result r = run(args);
        assertThat(r.code()).as("backstop %s: %s", List.of(args), r).isZero();
        return r;
    }

    @BeforeAll
    static void backupsVerifiedAndDrilled() throws Exception {
        pg = EphemeralPostgres.start();
        pg.createDatabase("shop");
        try (Connection c = pg.connect("shop"); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE customer (id int PRIMARY KEY, name text NOT NULL)");
            s.execute("INSERT INTO customer SELECT i, 'customer ' || i FROM generate_series(1, 300) i");
        }
        env = new HashMap<>();
        env.put("DB_HOST", pg.endpoint().host());
        env.put("DB_PORT", Integer.toString(pg.endpoint().port()));
        env.put("DB_USER", pg.endpoint().user());
        env.put("DB_PASSWORD", pg.endpoint().password() == null ? "" : pg.endpoint().password());
        env.put("DB_NAME", "shop");
        env.put("BACKUP_DIR", tmp.resolve("repo").toString());
        env.put("KEK_FILE", tmp.resolve("kek.json").toString());
        env.put("SLACK_WEBHOOK", "https://hooks.slack.example/services/T0/B0/tok3n");
        Path file = tmp.resolve("backstop.json");
        try (var in = EvidenceIT.class.getResourceAsStream("/filesystem.json")) {
            Files.write(file, in.readAllBytes());
        }
        cfg = file.toString();
        ok("keys", "create");
        for (int i = 0; i < 2; i++) {
            backups.add(JSON.readTree(ok("backup", "--json").out()).get("id").asText());
        }
        ok("verify", "--full", "--latest");
        ok("drill", "--latest");
    }

    @AfterAll
    static void stop() throws IOException {
        pg.close();
    }

    @Test
    void auditJson_listsEveryBackupAndCheck_authenticated_withHostAndUser() throws Exception {
        JsonNode audit = JSON.readTree(ok("audit", "--json", "--action", "backup,drill").out());

        assertThat(audit.get("tampered")).isEmpty();
        List<String> rows = new ArrayList<>();
        for (JsonNode e : audit.get("entries")) {
            rows.add(e.get("action").asText() + " " + e.get("subject").asText());
            assertThat(e.get("host").asText()).startsWith("backstop@");
            assertThat(e.get("osUser").asText()).isEqualTo(System.getProperty("user.name"));
        }
        assertThat(rows).containsExactly("BACKUP " + backups.get(0), "BACKUP " + backups.get(1),
                "DRILL " + backups.get(1), "DRILL " + backups.get(1));
        assertThat(audit.get("entries").get(2).get("detail").asText()).startsWith("full-decode passed");
        assertThat(audit.get("entries").get(3).get("detail").asText()).startsWith("restore-drill passed");
    }

    @Test
    void auditTable_filtersByActionAndTimeRange() {
        String table = ok("audit", "--action", "BACKUP").out();
        assertThat(table.lines().skip(1).toList()).hasSize(2).allSatisfy(l -> assertThat(l).contains("BACKUP"));
        assertThat(table.lines().findFirst().orElseThrow()).startsWith("AT").contains("ACTION", "SUBJECT", "DETAIL");

        assertThat(ok("audit", "--from", "2999-01-01").out().lines().skip(1).toList()).isEmpty();
        assertThat(ok("audit", "--to", "2000-01-01T00:00:00Z").out().lines().skip(1).toList()).isEmpty();
        assertThat(ok("audit", "--from", "1d", "--action", "backup").out().lines().skip(1).toList()).hasSize(2);

        Result bad = run("audit", "--from", "yesterday");
        assertThat(bad.code()).as("%s", bad).isEqualTo(Backstop.USAGE);
        assertThat(bad.err()).contains("--from", "yesterday", "2026-12-01");
    }

    @Test
    void reportJson_hasFiguresMatchingTheBackupsChecksAndAuditLog() throws Exception {
        Path out = tmp.resolve("report.json");
        Result r = ok("report", "--from", "1d", "--format", "json", "--out", out.toString());

        assertThat(r.err()).contains("written to " + out, "4 of 4 objectives met");
        Report report = ReportJson.read(Files.readAllBytes(out));
        assertThat(report.passed()).isTrue();
        assertThat(report.slo(ComplianceReport.SUCCESS_RATE).achieved()).isEqualTo("100.0 %");
        assertThat(report.slo(ComplianceReport.SUCCESS_RATE).basis()).startsWith("2 of 2 backups succeeded");
        assertThat(report.slo(ComplianceReport.VALIDATION_PASS_RATE).basis()).startsWith("2 of 2 validation records passed");
        assertThat(report.slo(ComplianceReport.RTO).basis()).contains("longest of 1 drills: " + backups.get(1));
        assertThat(report.backups()).extracting(Report.BackupEvidence::id).containsExactlyElementsOf(backups);
        assertThat(report.backups()).allSatisfy(b -> assertThat(b.kekId()).startsWith("local:"));
        assertThat(report.newestVerified()).isEqualTo(backups.get(1));
        assertThat(report.targets().rpo()).isEqualTo(java.time.Duration.ofHours(25));
        assertThat(report.tamperedAuditEntries()).isEmpty();
    }

    @Test
    void reportHtml_isOneSelfContainedPage_writtenToStdoutOrAFile() throws Exception {
        String page = ok("report", "--from", "1d", "--format", "html").out();
        assertThat(page).startsWith("<!DOCTYPE html>").contains(ComplianceReport.RPO, backups.get(0), backups.get(1))
                .doesNotContain("<script src=", "<link rel=\"stylesheet\" href=");

        Path file = tmp.resolve("report.html");
        ok("report", "--from", "1d", "--out", file.toString());
        assertThat(Files.readString(file, StandardCharsets.UTF_8)).startsWith("<!DOCTYPE html>");
    }

    @Test
    void aTamperedAuditEntry_isReported_andTheExitCodeSaysIntegrity() throws Exception {
        Path copy = tmp.resolve("tampered");
        copyTree(tmp.resolve("repo"), copy);
        Path entry;
        try (Stream<Path> s = Files.walk(copy.resolve(AuditLog.PREFIX))) {
            entry = s.filter(p -> p.toString().endsWith(".json")).sorted().findFirst().orElseThrow();
        }
        Files.writeString(entry, Files.readString(entry).replace("\"BACKUP\"", "\"RESTORE\""));
        Map<String, String> saved = new HashMap<>(env);
        env.put("BACKUP_DIR", copy.toString());
        try {
            Result r = run("audit");

            assertThat(r.code()).as("%s", r).isEqualTo(Backstop.INTEGRITY);
            assertThat(r.out()).contains("TAMPERED " + copy.relativize(entry).toString().replace('\\', '/'));
            assertThat(r.err()).contains("1 audit entries do not authenticate");
        } finally {
            env.clear();
            env.putAll(saved);
        }
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }
}
