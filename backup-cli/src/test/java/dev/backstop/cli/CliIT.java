package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.core.Repository;
import dev.backstop.core.lock.RepositoryLock;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.testkit.s3.LocalS3;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The built launcher ({@code target/backstop/bin/backstop}) run as a child process, as a user
 * runs it, against a throwaway PostgreSQL server, with a configuration file in the seeds' shape
 * filled by environment variables.
 */
class CliIT {
    static final Path LAUNCHER = Path.of("target/backstop/bin/backstop").toAbsolutePath();
    static final ObjectMapper JSON = new ObjectMapper();
    static EphemeralPostgres pg;

    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    @BeforeAll
    static void start() throws Exception {
        pg = EphemeralPostgres.start();
        pg.createDatabase("shop");
        try (Connection c = pg.connect("shop"); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE customer (id int PRIMARY KEY, name text NOT NULL)");
            s.execute("INSERT INTO customer SELECT i, 'customer ' || i FROM generate_series(1, 500) i");
        }
    }

    @AfterAll
    static void stop() throws IOException {
        pg.close();
    }

    Map<String, String> env(Path repo) {
        Map<String, String> env = new HashMap<>();
        env.put("DB_HOST", pg.endpoint().host());
        env.put("DB_PORT", Integer.toString(pg.endpoint().port()));
        env.put("DB_USER", pg.endpoint().user());
        env.put("DB_PASSWORD", pg.endpoint().password() == null ? "" : pg.endpoint().password());
        env.put("DB_NAME", "shop");
        env.put("BACKUP_DIR", repo.toString());
        env.put("KEK_FILE", tmp.resolve("kek.json").toString());
        env.put("SLACK_WEBHOOK", "https://hooks.slack.example/services/T0/B0/tok3n");
        return env;
    }

    Path config(String resource, String... replacements) throws IOException {
        String text;
        try (var in = CliIT.class.getResourceAsStream(resource)) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        for (int i = 0; i < replacements.length; i += 2) {
            text = text.replace(replacements[i], replacements[i + 1]);
        }
        Path file = tmp.resolve("backstop.json");
        Files.writeString(file, text);
        return file;
    }

    static Result run(Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(LAUNCHER.toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().keySet().removeIf(k -> !k.equals("PATH") && !k.equals("JAVA_HOME") && !k.equals("HOME"));
        pb.environment().putAll(env);
        Path out = Files.createTempFile("backstop", ".out");
        Path err = Files.createTempFile("backstop", ".err");
        try {
            long start = System.nanoTime();
            Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("backstop %s finished", cmd).isTrue();
            // where a slow run spends its time, in the test's log (never asserted)
            System.err.printf("backstop %s: exit %d in %d ms%n", String.join(" ", args), p.exitValue(),
                    (System.nanoTime() - start) / 1_000_000);
            return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.delete(out);
            Files.delete(err);
        }
    }

    @Test
    void backupListVerifyDrillRestoreAndExpire_workFromTheCommandLine() throws Exception {
        Path repo = tmp.resolve("repo");
        Map<String, String> env = env(repo);
        String cfg = config("/filesystem.json").toString();

        Result created = run(env, "keys", "create", "--config", cfg);
        assertThat(created.code()).as("%s", created).isZero();
        assertThat(created.out()).startsWith("created key-encryption key local:");

        Result dryRun = run(env, "backup", "--dry-run", "--config", cfg);
        assertThat(dryRun.code()).as("%s", dryRun).isZero();
        assertThat(dryRun.out()).contains("repository writable").endsWith("dry run: nothing stored\n");
        assertThat(dryRun.out() + dryRun.err()).doesNotContain(pg.endpoint().password());
        try (Stream<Path> written = Files.walk(repo)) {
            assertThat(written.filter(Files::isRegularFile)).as("files after a dry run").isEmpty();
        }

        Result backup = run(env, "backup", "--config", cfg, "--json");
        assertThat(backup.code()).as("%s", backup).isZero();
        String id = JSON.readTree(backup.out()).get("id").asText();
        assertThat(JSON.readTree(backup.out()).get("encrypted").asBoolean()).isTrue();

        Result list = run(env, "list", "--config", cfg, "--json");
        assertThat(list.code()).as("%s", list).isZero();
        JsonNode backups = JSON.readTree(list.out()).get("backups");
        assertThat(backups).hasSize(1);
        assertThat(backups.get(0).get("id").asText()).isEqualTo(id);
        assertThat(backups.get(0).get("checked").asText()).isEqualTo("never");

        Result stored = run(env, "verify", "--latest", "--config", cfg);
        assertThat(stored.code()).as("%s", stored).isZero();
        assertThat(stored.out()).startsWith("stored-checksums " + id + ": PASSED");

        Map<String, String> noKey = new HashMap<>(env);
        noKey.put("KEK_FILE", tmp.resolve("elsewhere.json").toString());
        Result keyless = run(noKey, "verify", id, "--config", cfg);
        assertThat(keyless.code()).as("a keyless check needs no key: %s", keyless).isZero();

        Result full = run(env, "verify", "--full", id, "--config", cfg, "--json");
        assertThat(full.code()).as("%s", full).isZero();
        assertThat(JSON.readTree(full.out()).get("passed").asBoolean()).isTrue();

        Result drill = run(env, "drill", "--latest", "--config", cfg);
        assertThat(drill.code()).as("%s", drill).isZero();
        assertThat(drill.out()).startsWith("restore-drill " + id + ": PASSED");

        Result table = run(env, "list", "--config", cfg);
        assertThat(table.out()).contains(id).contains("restore-drill passed");

        Result files = run(env, "restore", id, "--to-file", tmp.resolve("out").toString(), "--config", cfg);
        assertThat(files.code()).as("%s", files).isZero();
        try (Stream<Path> restored = Files.list(tmp.resolve("out"))) {
            assertThat(restored.map(p -> p.getFileName().toString())).containsExactly("dump.pgc");
        }

        Result db = run(env, "restore", "--latest", "--to-database", "shop_restored", "--config", cfg);
        assertThat(db.code()).as("%s", db).isZero();
        try (Connection c = pg.connect("shop_restored"); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*), sum(id) FROM customer")) {
            rs.next();
            assertThat(rs.getLong(1)).isEqualTo(500);
            assertThat(rs.getLong(2)).isEqualTo(500 * 501 / 2);
        }

        Result info = run(env, "info", id, "--config", cfg, "--json");
        assertThat(info.code()).as("%s", info).isZero();
        JsonNode infoJson = JSON.readTree(info.out());
        assertThat(infoJson.get("rows").asLong()).isEqualTo(500);
        assertThat(infoJson.get("objects").get(0).get("name").asText()).isEqualTo("dump.pgc");
        assertThat(infoJson.get("checks").toString()).contains("restore-drill " + id + ": PASSED");

        Result rotated = run(env, "keys", "rotate", "--config", cfg);
        assertThat(rotated.code()).as("%s", rotated).isZero();
        Result rewrapped = run(env, "keys", "rewrap", "--config", cfg);
        assertThat(rewrapped.code()).as("%s", rewrapped).isZero();
        assertThat(rewrapped.out()).startsWith("re-wrapped the data keys of 1 backups with local:");
        Result afterRotation = run(env, "verify", "--full", "--latest", "--config", cfg);
        assertThat(afterRotation.code()).as("%s", afterRotation).isZero();

        Result orphans = run(env, "orphans", "--grace", "0s", "--config", cfg, "--json");
        assertThat(orphans.code()).as("%s", orphans).isZero();
        assertThat(JSON.readTree(orphans.out()).get("objects")).isEmpty();

        Result plan = run(env, "expire", "--dry-run", "--config", cfg);
        assertThat(plan.code()).as("%s", plan).isZero();
        assertThat(plan.out()).contains("keep").contains(id).contains("dry run: nothing deleted");
        try (Stream<Path> after = Files.list(repo.resolve("backups"))) {
            assertThat(after.map(p -> p.getFileName().toString())).containsExactly(id);
        }
    }

    @Test
    void seedTemplate_withAnS3Repository_backsUpListsAndVerifies() throws Exception {
        LocalS3 s3 = LocalS3.shared();
        Map<String, String> env = env(tmp.resolve("unused"));
        env.put("BACKUP_BUCKET", s3.newBucket("cli"));
        env.put("AWS_REGION", s3.region().id());
        env.put("S3_ENDPOINT", s3.endpoint().toString());
        env.put("AWS_ACCESS_KEY_ID", s3.credentials().resolveCredentials().accessKeyId());
        env.put("AWS_SECRET_ACCESS_KEY", s3.credentials().resolveCredentials().secretAccessKey());
        // the seeds' template as written, but for the things a local test cannot have: a KMS key and port 5432
        String cfg = config("/seed-template.json", "\"kmsKeyId\": \"${KMS_KEY_ID}\",", "\"endpoint\": \"${S3_ENDPOINT}\", \"pathStyle\": true,",
                "\"storage\": {", "\"encryption\": {\"keyset\": \"${KEK_FILE}\"},\n\"storage\": {",
                "\"port\": 5432", "\"port\": \"${DB_PORT}\"").toString();

        assertThat(run(env, "keys", "create", "--config", cfg).code()).isZero();
        Result backup = run(env, "backup", "--config", cfg, "--json");
        assertThat(backup.code()).as("%s", backup).isZero();
        String id = JSON.readTree(backup.out()).get("id").asText();
        Result list = run(env, "list", "--config", cfg, "--json");
        assertThat(list.code()).as("%s", list).isZero();
        assertThat(JSON.readTree(list.out()).get("backups").get(0).get("id").asText()).isEqualTo(id);
        Result verify = run(env, "verify", "--full", "--latest", "--config", cfg);
        assertThat(verify.code()).as("%s", verify).isZero();
        assertThat(verify.out()).startsWith("full-decode " + id + ": PASSED");
    }

    @Test
    void verifyFull_ofAnEditedManifest_exitsThreeNamingTheManifest() throws Exception {
        Path repo = tmp.resolve("repo");
        Map<String, String> env = env(repo);
        String cfg = config("/filesystem.json").toString();
        assertThat(run(env, "keys", "create", "--config", cfg).code()).isZero();
        Result backup = run(env, "backup", "--config", cfg, "--json");
        assertThat(backup.code()).as("%s", backup).isZero();
        String id = JSON.readTree(backup.out()).get("id").asText();
        Path manifest = repo.resolve("backups").resolve(id).resolve("manifest.json");
        String text = Files.readString(manifest);
        String edited = text.replaceFirst("\"rows\"\\s*:\\s*500", "\"rows\":499");
        assertThat(edited).as("the manifest records the table's rows").isNotEqualTo(text);
        Files.writeString(manifest, edited);

        Result r = run(env, "verify", "--full", id, "--config", cfg);
        assertThat(r.code()).as("%s", r).isEqualTo(Backstop.INTEGRITY);
        assertThat(r.err()).contains("backups/" + id + "/manifest.json");
    }

    @Test
    void expire_deletesWhatRetentionNoLongerKeeps() throws Exception {
        Path repo = tmp.resolve("repo");
        Map<String, String> env = env(repo);
        // keepLast 1 alone: the older of two verified backups goes
        String cfg = config("/filesystem.json", "\"cold\": \"365d\",", "").toString();
        assertThat(run(env, "keys", "create", "--config", cfg).code()).isZero();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            Result backup = run(env, "backup", "--config", cfg, "--json");
            assertThat(backup.code()).as("%s", backup).isZero();
            ids.add(JSON.readTree(backup.out()).get("id").asText());
            Result verified = run(env, "verify", "--full", "--latest", "--config", cfg);
            assertThat(verified.code()).as("%s", verified).isZero();
        }

        Result expire = run(env, "expire", "--config", cfg, "--json");
        assertThat(expire.code()).as("%s", expire).isZero();
        assertThat(JSON.readTree(expire.out()).get("deleted").toString()).as("%s", expire).isEqualTo("[\"" + ids.get(0) + "\"]");
        Result list = run(env, "list", "--config", cfg, "--json");
        JsonNode left = JSON.readTree(list.out()).get("backups");
        assertThat(left).hasSize(1);
        assertThat(left.get(0).get("id").asText()).isEqualTo(ids.get(1));
    }

    @Test
    void configWithATypo_exitsTwoNamingTheKey() throws Exception {
        Path repo = tmp.resolve("repo");
        String cfg = config("/filesystem.json", "\"deleteExpired\"", "\"deleteExpird\"").toString();
        Result r = run(env(repo), "backup", "--config", cfg);
        assertThat(r.code()).as("%s", r).isEqualTo(Backstop.USAGE);
        assertThat(r.err()).contains("backup.storage.retention.deleteExpird: unknown key; allowed here: hot, warm, cold, deleteExpired");
        assertThat(repo).doesNotExist();
    }

    @Test
    void missingKekFile_exitsTwoSayingHowToCreateIt_andBacksNothingUp() throws Exception {
        Path repo = tmp.resolve("repo");
        String cfg = config("/filesystem.json").toString();
        Result r = run(env(repo), "backup", "--config", cfg);
        assertThat(r.code()).as("%s", r).isEqualTo(Backstop.USAGE);
        assertThat(r.err()).contains("backup.encryption.keyset: the key-encryption key file " + tmp.resolve("kek.json")
                + " does not exist; create it once with \"backstop keys create\"");
        Result check = run(env(repo), "config", "check", "--config", cfg);
        assertThat(check.code()).as("%s", check).isEqualTo(Backstop.USAGE);
    }

    @Test
    void configCheck_printsASummaryWithoutSecrets_andContactsNothing() throws Exception {
        Path repo = tmp.resolve("repo");
        Map<String, String> env = env(repo);
        env.put("DB_HOST", "db.invalid");
        env.put("DB_PASSWORD", "pw-s3cr3t");
        String cfg = config("/filesystem.json", "${KEK_FILE}", "/dev/null/kek.json", "\"keyset\"", "\"none\": true, \"x\"")
                .toString();
        Result bad = run(env, "config", "check", "--config", cfg);
        assertThat(bad.code()).as("%s", bad).isEqualTo(Backstop.USAGE);
        assertThat(bad.err()).contains("backup.encryption.x: unknown key; allowed here: none, keyset, kmsKeyId");

        cfg = config("/filesystem.json", "{\"keyset\": \"${KEK_FILE}\"}", "{\"none\": true}").toString();
        Result ok = run(env, "config", "check", "--config", cfg);
        assertThat(ok.code()).as("%s", ok).isZero();
        assertThat(ok.out()).contains("postgres " + pg.endpoint().user() + "@db.invalid:").contains("encryption: none (explicitly)")
                .contains("password=(secret)").doesNotContain("pw-s3cr3t").doesNotContain("tok3n")
                .contains("schedule:   cron \"0 2 * * *\" in UTC");
        assertThat(repo).doesNotExist();
    }

    @Test
    void backup_whileAnotherHostHoldsTheLock_exitsFive() throws Exception {
        Path repo = tmp.resolve("repo");
        Map<String, String> env = env(repo);
        String cfg = config("/filesystem.json", "{\"keyset\": \"${KEK_FILE}\"}", "{\"none\": true}").toString();
        RepositoryLock other = RepositoryLock.builder(Repository.filesystem(repo).sink()).holder("backstop@other-host")
                .ttl(Duration.ofMinutes(5)).build();
        try (RepositoryLock.Lease held = other.acquire()) {
            Result r = run(env, "backup", "--config", cfg);
            assertThat(r.code()).as("%s", r).isEqualTo(Backstop.LOCKED);
            assertThat(r.err()).contains("held by backstop@other-host");
            held.ensureHeld();
        }
    }

    @Test
    void verify_ofATamperedBackup_exitsThreeNamingTheObject() throws Exception {
        Path repo = tmp.resolve("repo");
        Map<String, String> env = env(repo);
        String cfg = config("/filesystem.json", "{\"keyset\": \"${KEK_FILE}\"}", "{\"none\": true}").toString();
        Result backup = run(env, "backup", "--config", cfg, "--json");
        assertThat(backup.code()).as("%s", backup).isZero();
        String id = JSON.readTree(backup.out()).get("id").asText();
        Path data;
        try (Stream<Path> files = Files.walk(repo.resolve("backups").resolve(id))) {
            data = files.filter(p -> p.getFileName().toString().startsWith("dump.pgc")).findFirst().orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(data);
        bytes[bytes.length / 2] ^= 1;
        Files.write(data, bytes, StandardOpenOption.TRUNCATE_EXISTING);

        Result r = run(env, "verify", id, "--config", cfg);
        assertThat(r.code()).as("%s", r).isEqualTo(Backstop.INTEGRITY);
        assertThat(r.out() + r.err()).contains(repo.relativize(data).toString().replace('\\', '/'));
    }

    @Test
    void run_servesPrometheusMetricsOfItsBackup_andLogsOnlyJsonLines() throws Exception {
        Path repo = tmp.resolve("repo");
        Map<String, String> env = env(repo);
        String cfg = config("/filesystem.json", "\"metrics\": [\"duration_ms\", \"size_bytes\", \"success_rate\"],",
                "\"metrics\": [], \"prometheus\": {\"bind\": \"127.0.0.1\", \"port\": 0}, \"logFormat\": \"json\",").toString();
        assertThat(run(env, "keys", "create", "--config", cfg).code()).isZero();

        ProcessBuilder pb = new ProcessBuilder(LAUNCHER.toString(), "run", "--backup-now", "--config", cfg)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().keySet().removeIf(k -> !k.equals("PATH") && !k.equals("JAVA_HOME") && !k.equals("HOME"));
        pb.environment().putAll(env);
        Process p = pb.start();
        try {
            // the daemon's stderr, line by line, until its backup is stored: every line is a JSON object
            java.util.concurrent.CompletableFuture<List<JsonNode>> untilStored = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                List<JsonNode> lines = new ArrayList<>();
                try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
                    for (String line = in.readLine(); line != null; line = in.readLine()) {
                        JsonNode n = JSON.readTree(line);
                        lines.add(n);
                        if (n.path("kvpList").toString().contains("backup.succeeded")) {
                            return lines;
                        }
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                throw new AssertionError("stderr ended before the backup was stored: " + lines);
            });
            List<JsonNode> lines = untilStored.get(120, TimeUnit.SECONDS);

            String banner = lines.stream().map(n -> n.path("formattedMessage").asText()).filter(m -> m.startsWith("run: metrics at "))
                    .findFirst().orElseThrow(() -> new AssertionError("no metrics banner in " + lines));
            java.net.URI uri = java.net.URI.create(banner.substring("run: metrics at ".length()));
            JsonNode stored = lines.get(lines.size() - 1);
            String id = stored.path("mdc").path("backup.id").asText();
            assertThat(stored.path("mdc").path("backup.stage").asText()).isEqualTo("catalog");
            assertThat(stored.path("mdc").path("repository").asText()).isEqualTo(repo.toString());
            assertThat(stored.path("mdc").path("correlation.id").asText()).isNotEmpty();
            dev.backstop.core.manifest.Manifest m = Repository.filesystem(repo).catalog().list().stream()
                    .filter(x -> x.id().value().equals(id)).findFirst().orElseThrow();

            java.net.HttpURLConnection http = (java.net.HttpURLConnection) uri.toURL().openConnection();
            assertThat(http.getResponseCode()).isEqualTo(200);
            List<String> body = new String(http.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
            String labels = "{repository=\"" + repo + "\",type=\"logical\"}";
            assertThat(body).contains("backstop_backup_succeeded_total" + labels + " 1.0",
                    "backstop_backup_bytes_in_bytes_total" + labels + " " + (double) m.plaintextBytes(),
                    "backstop_backup_bytes_stored_bytes_total" + labels + " " + (double) m.storedBytes());
            assertThat(body).anySatisfy(l -> assertThat(l).startsWith("backstop_backup_duration_seconds_count{outcome=\"success\"")
                    .endsWith(" 1"));
        } finally {
            p.destroy();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
    }
}
