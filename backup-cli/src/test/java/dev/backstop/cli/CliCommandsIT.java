package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.cli.CliIT.Result;
import dev.backstop.postgres.EphemeralPostgres;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What scripts and operators rely on, through the built launcher as a child process: every
 * command's {@code --json} is one JSON document on stdout, housekeeping finds and removes what a
 * crash left, failures exit with their documented codes, and the distribution runs with its
 * class-data sharing archive.
 */
class CliCommandsIT {
    /** Strict: a second document or any text after the first fails the parse. */
    static final ObjectMapper STRICT = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    static EphemeralPostgres pg;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        pg = EphemeralPostgres.start();
        pg.createDatabase("shop");
        try (Connection c = pg.connect("shop"); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE customer (id int PRIMARY KEY, name text NOT NULL)");
            s.execute("INSERT INTO customer SELECT i, 'customer ' || i FROM generate_series(1, 300) i");
        }
    }

    @AfterAll
    static void stop() throws IOException {
        pg.close();
    }

    Map<String, String> env() {
        Map<String, String> env = new HashMap<>();
        env.put("DB_HOST", pg.endpoint().host());
        env.put("DB_PORT", Integer.toString(pg.endpoint().port()));
        env.put("DB_USER", pg.endpoint().user());
        env.put("DB_PASSWORD", pg.endpoint().password() == null ? "" : pg.endpoint().password());
        env.put("DB_NAME", "shop");
        env.put("BACKUP_DIR", tmp.resolve("repo").toString());
        env.put("DR_DIR", tmp.resolve("dr").toString());
        env.put("KEK_FILE", tmp.resolve("kek.json").toString());
        env.put("SLACK_WEBHOOK", "https://hooks.slack.example/services/T0/B0/tok3n");
        return env;
    }

    /** The filesystem variant of the seeds' template, with a replica; retention by keepLast 1 alone. */
    String config() throws IOException {
        String text;
        try (var in = CliCommandsIT.class.getResourceAsStream("/filesystem.json")) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Path file = tmp.resolve("backstop.json");
        Files.writeString(file, text.replace("\"cold\": \"365d\",", "").replace("\"observability\": {",
                "\"replicas\": [{\"name\": \"dr\", \"provider\": \"filesystem\", \"path\": \"${DR_DIR}\"}],\n\"observability\": {"));
        return file.toString();
    }

    /** Runs {@code args} with {@code --json}; asserts exit 0 and exactly one JSON document on stdout. */
    static JsonNode json(Map<String, String> env, String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--json");
        Result r = CliIT.run(env, all.toArray(String[]::new));
        assertThat(r.code()).as("%s", r).isZero();
        try {
            return STRICT.readTree(r.out());
        } catch (IOException e) {
            throw new AssertionError("backstop " + all + " printed more than one JSON document: " + r, e);
        }
    }

    @Test
    void everyCommandThatTakesJson_printsExactlyOneJsonDocumentOnStdout() throws Exception {
        Map<String, String> env = env();
        String cfg = config();

        assertThat(json(env, "keys", "create", "--config", cfg).get("created").asText()).startsWith("local:");
        assertThat(json(env, "config", "check", "--config", cfg).get("valid").asBoolean()).isTrue();
        assertThat(json(env, "backup", "--dry-run", "--config", cfg).get("dryRun").asBoolean()).isTrue();
        String first = json(env, "backup", "--config", cfg).get("id").asText();
        // --progress off a terminal: key=value lines on stderr, stdout still one document
        Result progress = CliIT.run(env, "backup", "--progress", "--json", "--config", cfg);
        assertThat(progress.code()).as("%s", progress).isZero();
        String id = STRICT.readTree(progress.out()).get("id").asText();
        assertThat(progress.err().lines().filter(l -> l.startsWith("progress=backup bytes=")))
                .as("%s", progress).isNotEmpty().last().asString().contains(" rate_bytes_per_s=", " elapsed_s=");

        JsonNode list = json(env, "list", "--config", cfg);
        assertThat(list.get("backups")).extracting(b -> b.get("id").asText()).containsExactly(first, id);
        assertThat(list.get("damaged")).isEmpty();
        JsonNode info = json(env, "info", "--latest", "--config", cfg);
        assertThat(info.get("id").asText()).isEqualTo(id);
        assertThat(info.get("rows").asLong()).isEqualTo(300);
        assertThat(info.get("encryption").asText()).contains("(KEK local:");
        assertThat(json(env, "verify", "--latest", "--config", cfg).get("check").asText()).isEqualTo("stored-checksums");
        assertThat(json(env, "verify", "--full", "--latest", "--config", cfg).get("passed").asBoolean()).isTrue();
        assertThat(json(env, "drill", "--latest", "--config", cfg).get("check").asText()).isEqualTo("restore-drill");
        assertThat(json(env, "restore", "--latest", "--to-file", tmp.resolve("files").toString(), "--config", cfg)
                .get("files").get(0).get("name").asText()).isEqualTo("dump.pgc");
        assertThat(json(env, "restore", "--latest", "--to-database", "shop_json", "--config", cfg).get("id").asText()).isEqualTo(id);
        JsonNode copy = json(env, "copy", "--latest", "--config", cfg);
        assertThat(copy.get("outcomes")).isNotEmpty().allSatisfy(o -> assertThat(o.get("findings")).isEmpty());
        assertThat(json(env, "orphans", "--grace", "0s", "--config", cfg).get("objects")).isEmpty();
        JsonNode plan = json(env, "expire", "--dry-run", "--config", cfg);
        assertThat(plan.get("decisions")).extracting(d -> d.get("id").asText() + " " + d.get("action").asText())
                .containsExactly(first + " delete", id + " keep");
        assertThat(json(env, "expire", "--config", cfg).get("deleted").toString()).isEqualTo("[\"" + first + "\"]");
        assertThat(json(env, "keys", "rotate", "--config", cfg).get("primary").asText()).startsWith("local:");
        assertThat(json(env, "keys", "rewrap", "--config", cfg).get("rewrapped").toString()).isEqualTo("[\"" + id + "\"]");
        assertThat(json(env, "audit", "--config", cfg).toString()).contains(id);
        assertThat(json(env, "keys", "erase", id, "--confirm", id, "--config", cfg).get("replicas").toString())
                .isEqualTo("[\"dr\"]");
    }

    @Test
    void keysRewrapFromTheOldKeyset_movesTheRepositoryAndItsReplicaToTheNewKek_soTheOldKeysetNoLongerOpensThem() throws Exception {
        Map<String, String> old = env();
        String cfg = config();
        assertThat(CliIT.run(old, "keys", "create", "--config", cfg).code()).isZero();
        String id = json(old, "backup", "--config", cfg).get("id").asText();
        json(old, "copy", "--latest", "--config", cfg);
        Map<String, String> moved = new HashMap<>(old);
        moved.put("KEK_FILE", tmp.resolve("new-kek.json").toString());
        String newKek = json(moved, "keys", "create", "--config", cfg).get("created").asText();
        assertThat(CliIT.run(moved, "verify", "--full", "--latest", "--config", cfg).code()).as("before the move").isNotZero();

        JsonNode r = json(moved, "keys", "rewrap", "--from-keyset", tmp.resolve("kek.json").toString(), "--config", cfg);

        assertThat(r.get("rewrapped").toString()).isEqualTo("[\"" + id + "\"]");
        assertThat(r.get("kek").asText()).isEqualTo(newKek);
        assertThat(r.get("from").asText()).startsWith("local:").isNotEqualTo(newKek);
        assertThat(r.get("replicas").get("dr").toString()).isEqualTo("[\"" + id + "\"]");
        assertThat(json(moved, "verify", "--full", "--latest", "--config", cfg).get("passed").asBoolean()).isTrue();
        assertThat(json(moved, "copy", "--latest", "--config", cfg).get("outcomes"))
                .allSatisfy(o -> assertThat(o.get("findings")).as("the replica opens with the new KEK").isEmpty());
        assertThat(CliIT.run(old, "verify", "--full", "--latest", "--config", cfg).code()).as("the old KEK").isNotZero();
        assertThat(json(moved, "keys", "rewrap", "--from-keyset", tmp.resolve("kek.json").toString(), "--config", cfg)
                .get("rewrapped")).as("finished: nothing left to move").isEmpty();

        Result same = CliIT.run(moved, "keys", "rewrap", "--from-keyset", tmp.resolve("new-kek.json").toString(), "--config", cfg);
        assertThat(same.code()).as("%s", same).isEqualTo(2);
        assertThat(same.err()).contains("--from-keyset", "the same key-encryption key");
    }

    @Test
    void expireDryRun_printsEachBackupsDecisionWithItsReason_andDeletesNothing() throws Exception {
        Map<String, String> env = env();
        String cfg = config();
        assertThat(CliIT.run(env, "keys", "create", "--config", cfg).code()).isZero();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            ids.add(json(env, "backup", "--config", cfg).get("id").asText());
        }
        assertThat(CliIT.run(env, "verify", "--full", ids.get(1), "--config", cfg).code()).isZero();

        Result plan = CliIT.run(env, "expire", "--dry-run", "--config", cfg);

        assertThat(plan.code()).as("%s", plan).isZero();
        List<String> lines = plan.out().lines().toList();
        assertThat(lines.get(0)).startsWith("ACTION").contains("BACKUP", "REASON");
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("keep").contains(ids.get(1))
                .contains("kept: last 1 of 1; newest verified backup (always kept)"));
        assertThat(lines).anySatisfy(l -> assertThat(l.strip()).startsWith("delete").contains(ids.get(0)).endsWith("deleted: no rule keeps it"));
        assertThat(lines.get(lines.size() - 1)).isEqualTo("dry run: nothing deleted");
        assertThat(json(env, "list", "--config", cfg).get("backups")).hasSize(2);
    }

    @Test
    void orphans_reportsWhatACrashLeftPastTheGrace_andRemoveDeletesOnlyThat() throws Exception {
        Map<String, String> env = env();
        String cfg = config();
        assertThat(CliIT.run(env, "keys", "create", "--config", cfg).code()).isZero();
        String id = json(env, "backup", "--config", cfg).get("id").asText();
        // a crash between the data objects and the manifest leaves objects no manifest names
        Path left = tmp.resolve("repo/backups/20261201T000000Z-logical-crash1/dump.pgc.zst.aead");
        Files.createDirectories(left.getParent());
        Files.write(left, new byte[4096]);

        Result young = CliIT.run(env, "orphans", "--grace", "1h", "--config", cfg);
        assertThat(young.code()).as("%s", young).isZero();
        assertThat(young.out()).isEqualTo("no orphans\n");
        Result found = CliIT.run(env, "orphans", "--grace", "0s", "--config", cfg);
        assertThat(found.code()).as("%s", found).isZero();
        assertThat(found.out()).startsWith("orphan backups/20261201T000000Z-logical-crash1/dump.pgc.zst.aead 4.0 KiB ")
                .endsWith("found 1 orphaned objects; backstop orphans --remove deletes them\n");
        assertThat(left).exists();

        JsonNode removed = json(env, "orphans", "--grace", "0s", "--remove", "--config", cfg);
        assertThat(removed.get("removed").asBoolean()).isTrue();
        assertThat(removed.get("objects").toString()).isEqualTo("[\"backups/20261201T000000Z-logical-crash1/dump.pgc.zst.aead\"]");
        assertThat(left).doesNotExist();
        assertThat(json(env, "list", "--config", cfg).get("backups")).extracting(b -> b.get("id").asText()).containsExactly(id);
        assertThat(CliIT.run(env, "verify", "--full", id, "--config", cfg).code()).isZero();
    }

    @Test
    void run_copiesItsBackupToTheReplica_whereItVerifiesOnItsOwn() throws Exception {
        Map<String, String> env = env();
        String cfg = config();
        assertThat(CliIT.run(env, "keys", "create", "--config", cfg).code()).isZero();
        Path err = tmp.resolve("run.err");
        ProcessBuilder pb = new ProcessBuilder(CliIT.LAUNCHER.toString(), "run", "--backup-now", "--config", cfg)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile());
        pb.environment().keySet().removeIf(k -> !k.equals("PATH") && !k.equals("JAVA_HOME") && !k.equals("HOME"));
        pb.environment().putAll(env);
        Process p = pb.start();
        Path replica = tmp.resolve("dr/backups");
        try {
            java.time.Instant deadline = java.time.Instant.now().plusSeconds(180);
            // the manifest is copied last: once it is there, the copy is complete. Between looks the test waits
            // on the daemon itself, which ends the wait early should it exit
            while (!hasManifest(replica)) {
                assertThat(p.waitFor(200, TimeUnit.MILLISECONDS)).as("the daemon exited; its stderr:%n%s", Files.readString(err))
                        .isFalse();
                assertThat(java.time.Instant.now()).as("a backup copied to the replica; the daemon's stderr:%n%s",
                        Files.readString(err)).isBefore(deadline);
            }
        } finally {
            p.destroy(); // SIGTERM
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
        String id = json(env, "list", "--config", cfg).get("backups").get(0).get("id").asText();
        Map<String, String> drHost = new HashMap<>(env);
        drHost.put("BACKUP_DIR", tmp.resolve("dr").toString());
        assertThat(json(drHost, "list", "--config", cfg).get("backups")).extracting(b -> b.get("id").asText()).containsExactly(id);
        assertThat(json(drHost, "verify", "--full", id, "--config", cfg).get("passed").asBoolean()).isTrue();
    }

    static boolean hasManifest(Path backups) throws IOException {
        if (!Files.isDirectory(backups)) {
            return false;
        }
        try (var ids = Files.list(backups)) {
            return ids.anyMatch(d -> Files.exists(d.resolve("manifest.json")));
        }
    }

    @Test
    void aDatabaseThatIsGone_exitsOne_andOneThatDoesNotAnswer_exitsFour_storingNothing() throws Exception {
        Map<String, String> env = env();
        String cfg = config();
        assertThat(CliIT.run(env, "keys", "create", "--config", cfg).code()).isZero();

        Map<String, String> gone = new HashMap<>(env);
        gone.put("DB_NAME", "no_such_database");
        Result failed = CliIT.run(gone, "backup", "--config", cfg);
        assertThat(failed.code()).as("%s", failed).isEqualTo(Backstop.FAILURE);
        assertThat(failed.err()).contains("no_such_database");

        Map<String, String> down = new HashMap<>(env);
        down.put("DB_PORT", "1");
        Result retry = CliIT.run(down, "backup", "--config", cfg);
        assertThat(retry.code()).as("%s", retry).isEqualTo(Backstop.RETRYABLE);

        assertThat(json(env, "list", "--config", cfg).get("backups")).isEmpty();
        assertThat(json(env, "orphans", "--grace", "0s", "--config", cfg).get("objects")).isEmpty();
    }

    @Test
    void theDistribution_withItsClassDataSharingArchive_printsItsVersionAlone_andRunsTheDemo() throws Exception {
        Path dist = tmp.resolve("backstop");
        Process cp = new ProcessBuilder("cp", "-a", CliIT.LAUNCHER.getParent().getParent().toString(), dist.toString())
                .inheritIO().start();
        assertThat(cp.waitFor(60, TimeUnit.SECONDS) && cp.exitValue() == 0).as("copied the distribution").isTrue();
        Files.deleteIfExists(dist.resolve("lib/backstop.jsa"));
        Path launcher = dist.resolve("bin/backstop");

        long cold = versionMillis(launcher);
        Process cds = new ProcessBuilder(dist.resolve("bin/backstop-cds").toString()).redirectErrorStream(true).start();
        String said = new String(cds.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(cds.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(cds.exitValue()).as(said).isZero();
        assertThat(dist.resolve("lib/backstop.jsa")).isRegularFile();
        long shared = versionMillis(launcher);
        // measured, not asserted: this machine's load decides the figures
        System.err.printf("backstop --version: %d ms without the archive, %d ms with it%n", cold, shared);

        ProcessBuilder demo = new ProcessBuilder(launcher.toString(), "demo", "--size=12MiB", "--dir=" + tmp.resolve("demo"));
        demo.environment().keySet().removeIf(k -> !k.equals("PATH") && !k.equals("JAVA_HOME") && !k.equals("HOME"));
        Path out = tmp.resolve("demo.out");
        Process p = demo.redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).as("demo finished").isTrue();
        assertThat(p.exitValue()).as(Files.readString(out)).isZero();
        assertThat(Files.readString(out)).contains("VERIFIED: the backup restores exactly");
    }

    /** Runs {@code backstop --version}; asserts it printed the version line alone; returns the wall time. */
    static long versionMillis(Path launcher) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(launcher.toString(), "--version");
        pb.environment().keySet().removeIf(k -> !k.equals("PATH") && !k.equals("JAVA_HOME") && !k.equals("HOME"));
        long start = System.nanoTime();
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(p.exitValue()).as(err).isZero();
        assertThat(out).matches("backstop \\S.*\n");
        assertThat(err).isEmpty();
        return millis;
    }
}
