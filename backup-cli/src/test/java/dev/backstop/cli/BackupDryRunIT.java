package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.Repository;
import dev.backstop.postgres.EphemeralPostgres;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code backstop backup --dry-run}: the dump runs for real against the database, and the repository stays as it was. */
class BackupDryRunIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static EphemeralPostgres pg;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        pg = EphemeralPostgres.start();
        pg.createDatabase("shop");
        try (Connection c = pg.connect("shop"); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE customer (id int PRIMARY KEY, name text NOT NULL)");
            s.execute("INSERT INTO customer SELECT i, 'customer ' || i FROM generate_series(1, 20000) i");
        }
    }

    @AfterAll
    static void stop() throws Exception {
        pg.close();
    }

    record Said(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    Said backstop(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Backstop.execute(args, env, new PrintWriter(out), new PrintWriter(err));
        return new Said(code, out.toString(), err.toString());
    }

    static List<String> listing(Path repo) throws Exception {
        // what Backstop lists, and every file on disk (a temporary write would show here)
        List<String> objects = Repository.filesystem(repo).sink().list("").stream().map(o -> o.key() + " " + o.size()).toList();
        try (Stream<Path> files = Files.walk(repo)) {
            return Stream.concat(objects.stream(), files.map(f -> repo.relativize(f) + (Files.isRegularFile(f) ? " file" : " dir")))
                    .sorted().toList();
        }
    }

    @Test
    void dryRun_dumpsTheDatabaseForRealIntoNothing_printingSizeAndSha256_andLeavesTheRepositoryAsItWas() throws Exception {
        Path repo = tmp.resolve("repo");
        Map<String, String> env = new HashMap<>();
        env.put("DB_HOST", pg.endpoint().host());
        env.put("DB_PORT", Integer.toString(pg.endpoint().port()));
        env.put("DB_USER", pg.endpoint().user());
        env.put("DB_PASSWORD", pg.endpoint().password());
        env.put("DB_NAME", "shop");
        env.put("BACKUP_DIR", repo.toString());
        env.put("KEK_FILE", tmp.resolve("kek.json").toString());
        env.put("SLACK_WEBHOOK", "https://hooks.slack.example/services/T0/B0/tok3n");
        Path cfg = tmp.resolve("backstop.json");
        try (var in = BackupDryRunIT.class.getResourceAsStream("/filesystem.json")) {
            Files.writeString(cfg, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        assertThat(backstop(env, "keys", "create", "--config", cfg.toString()).code()).isZero();
        Said first = backstop(env, "backup", "--config", cfg.toString(), "--json");
        assertThat(first.code()).as("%s", first).isZero();
        long storedPlaintext = JSON.readTree(first.out()).get("plaintextBytes").asLong();
        List<String> before = listing(repo);

        Said dry = backstop(env, "backup", "--dry-run", "--json", "--config", cfg.toString());

        assertThat(dry.code()).as("%s", dry).isZero();
        assertThat(listing(repo)).as("the repository after the dry run").isEqualTo(before);
        JsonNode r = JSON.readTree(dry.out());
        assertThat(r.get("dryRun").asBoolean()).isTrue();
        assertThat(r.get("checked").toString()).contains("repository writable (probe written and aborted)", "wraps data keys");
        JsonNode dump = r.get("streams").get(0);
        assertThat(dump.get("name").asText()).isEqualTo("dump.pgc");
        assertThat(dump.get("sha256").asText()).matches("[0-9a-f]{64}");
        // the same database dumped twice: the same size within pg_dump's header (its timestamp)
        assertThat(dump.get("bytes").asLong()).isEqualTo(r.get("bytes").asLong()).isBetween(storedPlaintext - 64, storedPlaintext + 64);
        assertThat(dry.out() + dry.err()).doesNotContain(pg.endpoint().password());

        Said text = backstop(env, "backup", "--dry-run", "--config", cfg.toString());
        assertThat(text.code()).as("%s", text).isZero();
        assertThat(text.out()).containsPattern("dumped dump\\.pgc: \\d+ bytes \\(\\d+\\.\\d KiB\\), sha256 [0-9a-f]{64}, discarded")
                .endsWith("dry run: nothing stored\n");
        assertThat(listing(repo)).isEqualTo(before);
    }

    @Test
    void dryRun_ofAnUnreachableDatabase_failsRetryable_andStoresNothing() throws Exception {
        Path repo = tmp.resolve("repo");
        Map<String, String> env = new HashMap<>();
        env.put("DB_HOST", "127.0.0.1");
        env.put("DB_PORT", "1");
        env.put("DB_USER", "nobody");
        env.put("DB_PASSWORD", "x");
        env.put("DB_NAME", "shop");
        env.put("BACKUP_DIR", repo.toString());
        env.put("KEK_FILE", tmp.resolve("kek.json").toString());
        env.put("SLACK_WEBHOOK", "https://hooks.slack.example/services/T0/B0/tok3n");
        Path cfg = tmp.resolve("backstop.json");
        try (var in = BackupDryRunIT.class.getResourceAsStream("/filesystem.json")) {
            Files.writeString(cfg, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        assertThat(backstop(env, "keys", "create", "--config", cfg.toString()).code()).isZero();

        Said dry = backstop(env, "backup", "--dry-run", "--config", cfg.toString());

        // the repository checks passed; the database did not answer: the dry run says so, as the backup would
        assertThat(dry.code()).as("%s", dry).isEqualTo(Backstop.RETRYABLE);
        assertThat(dry.err()).contains("backup: ");
        List<ObjectInfo> objects = Repository.filesystem(repo).sink().list("");
        assertThat(objects).isEmpty();
    }
}
