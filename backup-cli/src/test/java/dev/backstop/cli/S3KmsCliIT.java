package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.PgTls;
import dev.backstop.postgres.PgTools;
import dev.backstop.testkit.s3.LocalKms;
import dev.backstop.testkit.s3.LocalS3;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The seeds' configuration template with an S3 repository and a KMS key, as an operator runs it:
 * the built launcher as a child process, the in-process S3 server ({@link LocalS3}) and the
 * testkit's KMS ({@link LocalKms}) reached through the AWS SDK's own environment variables, and a
 * throwaway PostgreSQL server whose {@code archive_command} is {@code backstop wal archive-push}.
 */
class S3KmsCliIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String PREFIX = "db-backups/prod/";

    Path base;
    EphemeralPostgres pg;
    LocalKms kms;
    Path restored;

    @AfterEach
    void tearDown() throws Exception {
        if (restored != null && Files.exists(restored.resolve("postmaster.pid"))) {
            new ProcessBuilder("setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--",
                    PgTools.locate().tool("pg_ctl").toString(), "stop", "-D", restored.toString(), "-m", "immediate", "-w")
                    .inheritIO().start().waitFor(60, TimeUnit.SECONDS);
        }
        if (pg != null) {
            pg.close();
        }
        if (kms != null) {
            kms.close();
        }
        if (base != null) {
            try (Stream<Path> all = Files.walk(base)) {
                all.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static String value(EphemeralPostgres pg, String query) throws Exception {
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
            rs.next();
            return rs.getString(1);
        }
    }

    static void sql(EphemeralPostgres pg, String statement) throws Exception {
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
            s.execute(statement);
        }
    }

    /** The seeds' template as written, but for what a local test cannot have: an S3 endpoint, port 5432; plus WAL and a replica. */
    static String seedTemplate() throws Exception {
        String text;
        try (var in = S3KmsCliIT.class.getResourceAsStream("/seed-template.json")) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        String edited = text
                .replace("\"region\": \"${AWS_REGION}\",", "\"region\": \"${AWS_REGION}\", \"endpoint\": \"${S3_ENDPOINT}\", \"pathStyle\": true,")
                .replace("\"port\": 5432", "\"port\": \"${DB_PORT}\"")
                .replace("\"observability\": {", "\"wal\": {\"systemId\": \"${PG_SYSTEM_ID}\"},\n"
                        + "\"replicas\": [{\"name\": \"dr\", \"provider\": \"s3\", \"bucket\": \"${DR_BUCKET}\", \"prefix\": \"db-backups/prod\","
                        + " \"region\": \"${AWS_REGION}\", \"endpoint\": \"${S3_ENDPOINT}\", \"pathStyle\": true}],\n\"observability\": {");
        assertThat(edited).contains("\"kmsKeyId\": \"${KMS_KEY_ID}\"", "${S3_ENDPOINT}", "${DB_PORT}", "${PG_SYSTEM_ID}", "${DR_BUCKET}");
        return edited;
    }

    static String shellQuoted(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    List<String> keys(LocalS3 s3, String bucket, String under) {
        return s3.client().listObjectsV2(b -> b.bucket(bucket).prefix(PREFIX + under)).join().contents().stream()
                .map(S3Object::key).toList();
    }

    static String read(LocalS3 s3, String bucket, String key) {
        return s3.client().getObject(b -> b.bucket(bucket).key(key), AsyncResponseTransformer.toBytes()).join().asUtf8String();
    }

    Map<String, String> env(LocalS3 s3, String sysid, String bucket, String dr, String key) {
        Map<String, String> env = new HashMap<>();
        env.put("DB_HOST", pg.endpoint().host());
        env.put("DB_PORT", Integer.toString(pg.endpoint().port()));
        env.put("DB_USER", pg.endpoint().user());
        env.put("DB_PASSWORD", pg.endpoint().password() == null ? "" : pg.endpoint().password());
        env.put("DB_NAME", "postgres");
        env.put("PG_SYSTEM_ID", sysid);
        env.put("BACKUP_BUCKET", bucket);
        env.put("DR_BUCKET", dr);
        env.put("AWS_REGION", s3.region().id());
        env.put("S3_ENDPOINT", s3.endpoint().toString());
        env.put("AWS_ACCESS_KEY_ID", s3.credentials().resolveCredentials().accessKeyId());
        env.put("AWS_SECRET_ACCESS_KEY", s3.credentials().resolveCredentials().secretAccessKey());
        env.put("KMS_KEY_ID", key);
        // the SDK's own setting: storage.kmsKeyId stays as the template has it, the KMS client goes to the local KMS
        env.put("AWS_ENDPOINT_URL_KMS", kms.endpoint().toString());
        env.put("SLACK_WEBHOOK", "https://hooks.slack.example/services/T0/B0/tok3n");
        return env;
    }

    @Test
    void archiveCommand_intoS3_withKmsWrappedKeys_thenPhysicalBackupPitrKeysAndACopy() throws Exception {
        LocalS3 s3 = LocalS3.shared();
        kms = LocalKms.start();
        String key = kms.createKey();
        // the restored server and archive_command run as their own OS user: what they read must be open to it
        base = Files.createTempDirectory("backstop-s3-kms-it-");
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path cfg = base.resolve("backstop.json");
        Files.writeString(cfg, seedTemplate());
        Files.setPosixFilePermissions(cfg, PosixFilePermissions.fromString("rw-r--r--"));
        pg = EphemeralPostgres.builder().setting("archive_mode", "on").start();
        String sysid = value(pg, "SELECT system_identifier FROM pg_control_system()");

        String bucket = s3.newBucket("kms-primary");
        String dr = s3.newBucket("kms-dr");
        Map<String, String> env = env(s3, sysid, bucket, dr, key);
        String config = cfg.toString();

        // archive_command as an operator sets it: the variables the file interpolates, then backstop
        StringBuilder command = new StringBuilder("env");
        env.forEach((k, v) -> command.append(' ').append(k).append('=').append(shellQuoted(v)));
        command.append(' ').append(CliIT.LAUNCHER).append(" wal archive-push %p %f --config ").append(config);
        sql(pg, "ALTER SYSTEM SET archive_command = '" + command.toString().replace("'", "''") + "'");
        sql(pg, "SELECT pg_reload_conf()");

        sql(pg, "CREATE TABLE marker (name text PRIMARY KEY)");
        CliIT.Result backup = CliIT.run(env, "backup", "--physical", "--json", "--config", config);
        assertThat(backup.code()).as("%s", backup).isZero();
        JsonNode stored = JSON.readTree(backup.out());
        String id = stored.get("id").asText();
        assertThat(id).contains("-physical-");
        assertThat(stored.get("encrypted").asBoolean()).isTrue();
        sql(pg, "INSERT INTO marker VALUES ('m1')");
        sql(pg, "SELECT pg_create_restore_point('T')");
        sql(pg, "INSERT INTO marker VALUES ('m2')");
        String last = value(pg, "SELECT pg_walfile_name(pg_switch_wal())");
        Instant deadline = Instant.now().plusSeconds(120);
        // each look asks the server how archiving goes: a round trip, not a spin
        while (!last.equals(value(pg, "SELECT last_archived_wal FROM pg_stat_archiver"))) {
            assertThat(Instant.now()).as("%s archived by archive_command (archiver: %s); server log:%n%s", last,
                    value(pg, "SELECT coalesce(last_archived_wal, '-') || ' failed ' || failed_count FROM pg_stat_archiver"),
                    Files.readString(pg.directory().resolve("server.log"))).isBefore(deadline);
        }

        // the segments are in S3, under data keys KMS wrapped
        assertThat(keys(s3, bucket, "wal/" + sysid + "/")).as("archived WAL objects").isNotEmpty();
        List<String> walKeys = keys(s3, bucket, "keys/wal/" + sysid + "/");
        assertThat(walKeys).as("the WAL archive's key records").isNotEmpty();
        for (String k : walKeys) {
            assertThat(JSON.readTree(read(s3, bucket, k)).get("kekId").asText()).as(k).isEqualTo("aws-kms:" + key);
        }
        Path fetched = base.resolve("fetched");
        CliIT.Result get = CliIT.run(env, "wal", "archive-get", last, fetched.toString(), "--config", config);
        assertThat(get.code()).as("%s", get).isZero();
        assertThat(Files.size(fetched)).isEqualTo(16L << 20);
        // another KMS key cannot unwrap them, and without KMS nothing opens
        Map<String, String> otherKey = new HashMap<>(env);
        otherKey.put("KMS_KEY_ID", kms.createKey());
        CliIT.Result wrongKey = CliIT.run(otherKey, "wal", "archive-get", last, base.resolve("never").toString(), "--config", config);
        assertThat(wrongKey.code()).as("%s", wrongKey).isEqualTo(WalCommands.FAILED);
        assertThat(wrongKey.err()).contains("wrapped by aws-kms:" + key + ") cannot be unwrapped with key-encryption key aws-kms:"
                + otherKey.get("KMS_KEY_ID"));
        LocalKms gone = LocalKms.start();
        gone.close();
        Map<String, String> noKms = new HashMap<>(env);
        noKms.put("AWS_ENDPOINT_URL_KMS", gone.endpoint().toString());
        CliIT.Result unreachable = CliIT.run(noKms, "wal", "archive-get", last, base.resolve("never").toString(), "--config", config);
        assertThat(unreachable.code()).as("%s", unreachable).isEqualTo(WalCommands.FAILED);
        assertThat(unreachable.err()).contains("KMS Decrypt with key " + key + " failed");
        assertThat(base.resolve("never")).doesNotExist();
        CliIT.Result verifyWithoutKms = CliIT.run(noKms, "verify", "--full", id, "--config", config);
        assertThat(verifyWithoutKms.code()).as("%s", verifyWithoutKms).isEqualTo(Backstop.RETRYABLE);

        // the KMS key gets new material: what the old material wrapped still opens, from here on
        CliIT.Result rotate = CliIT.run(env, "keys", "rotate", "--json", "--config", config);
        assertThat(rotate.code()).as("%s", rotate).isZero();
        assertThat(JSON.readTree(rotate.out()).get("rotated").asText()).isEqualTo("aws-kms:" + key);

        // point-in-time recovery from the S3 archive: the restored server's restore_command reaches S3 and KMS too
        restored = base.resolve("restored");
        CliIT.Result r = CliIT.run(env, "restore", "--target-name=T", "--to", restored.toString(), "--start", "--json",
                "--config", config);
        assertThat(r.code()).as("%s", r).isZero();
        JsonNode said = JSON.readTree(r.out());
        assertThat(said.get("id").asText()).isEqualTo(id);
        assertThat(said.get("target").asText()).isEqualTo("restore point T");
        PgEndpoint restoredServer = new PgEndpoint("127.0.0.1", said.get("port").asInt(), pg.endpoint().user(),
                pg.endpoint().password(), PgTls.prefer());
        List<String> markers = new ArrayList<>();
        try (Connection c = restoredServer.connect("postgres"); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT name FROM marker ORDER BY name")) {
            while (rs.next()) {
                markers.add(rs.getString(1));
            }
        }
        assertThat(markers).as("the marker before the restore point, not the one after").containsExactly("m1");

        // KMS keeps the old material under the same key id: rewrap finds nothing to re-wrap
        CliIT.Result rewrap = CliIT.run(env, "keys", "rewrap", "--json", "--config", config);
        assertThat(rewrap.code()).as("%s", rewrap).isZero();
        assertThat(JSON.readTree(rewrap.out()).get("kek").asText()).isEqualTo("aws-kms:" + key);
        assertThat(JSON.readTree(rewrap.out()).get("rewrapped")).isEmpty();
        CliIT.Result full = CliIT.run(env, "verify", "--full", "--latest", "--json", "--config", config);
        assertThat(full.code()).as("%s", full).isZero();
        assertThat(JSON.readTree(full.out()).get("passed").asBoolean()).isTrue();

        // a copy in the second bucket, compared; then checked on its own as a disaster-recovery host would
        CliIT.Result copy = CliIT.run(env, "copy", "--latest", "--json", "--config", config);
        assertThat(copy.code()).as("%s", copy).isZero();
        JsonNode outcomes = JSON.readTree(copy.out()).get("outcomes");
        assertThat(outcomes).isNotEmpty();
        outcomes.forEach(o -> {
            assertThat(o.get("replica").asText()).isEqualTo("dr");
            assertThat(o.get("findings")).as("%s", o).isEmpty();
        });
        assertThat(keys(s3, dr, "backups/" + id + "/")).anyMatch(k -> k.endsWith("/manifest.json"));
        Map<String, String> drHost = new HashMap<>(env);
        drHost.put("BACKUP_BUCKET", dr);
        CliIT.Result list = CliIT.run(drHost, "list", "--json", "--config", config);
        assertThat(list.code()).as("%s", list).isZero();
        assertThat(JSON.readTree(list.out()).get("backups").get(0).get("id").asText()).isEqualTo(id);
        CliIT.Result verifyCopy = CliIT.run(drHost, "verify", "--full", id, "--config", config);
        assertThat(verifyCopy.code()).as("%s", verifyCopy).isZero();
        assertThat(verifyCopy.out()).startsWith("full-decode " + id + ": PASSED");

        // a logical backup under the same template (its key wrapped with the new material), drilled in a throwaway
        // server; retention plans, then runs
        CliIT.Result logical = CliIT.run(env, "backup", "--json", "--config", config);
        assertThat(logical.code()).as("%s", logical).isZero();
        String logicalId = JSON.readTree(logical.out()).get("id").asText();
        CliIT.Result drill = CliIT.run(env, "drill", "--latest", "--config", config);
        assertThat(drill.code()).as("%s", drill).isZero();
        assertThat(drill.out()).startsWith("restore-drill " + logicalId + ": PASSED");
        CliIT.Result plan = CliIT.run(env, "expire", "--dry-run", "--config", config);
        assertThat(plan.code()).as("%s", plan).isZero();
        assertThat(plan.out().lines()).as("%s", plan).anySatisfy(l -> assertThat(l).startsWith("keep").contains(id, "kept: within 365d"))
                .anySatisfy(l -> assertThat(l).startsWith("keep").contains(logicalId, "kept: within 365d"));
        assertThat(plan.out()).endsWith("dry run: nothing deleted\n");
        CliIT.Result expire = CliIT.run(env, "expire", "--json", "--config", config);
        assertThat(expire.code()).as("%s", expire).isZero();
        assertThat(JSON.readTree(expire.out()).get("deleted")).isEmpty();
    }

    @Test
    void walReceive_streamsIntoS3UnderKmsWrappedKeys_andStopsCleanlyOnSigterm() throws Exception {
        LocalS3 s3 = LocalS3.shared();
        kms = LocalKms.start();
        String key = kms.createKey();
        base = Files.createTempDirectory("backstop-s3-kms-receive-it-");
        Path cfg = base.resolve("backstop.json");
        Files.writeString(cfg, seedTemplate());
        pg = EphemeralPostgres.start();
        String sysid = value(pg, "SELECT system_identifier FROM pg_control_system()");
        String bucket = s3.newBucket("kms-receive");
        Map<String, String> env = env(s3, sysid, bucket, s3.newBucket("kms-receive-dr"), key);

        Path errFile = base.resolve("receive.err");
        ProcessBuilder pb = new ProcessBuilder(CliIT.LAUNCHER.toString(), "wal", "receive", "--work-dir",
                base.resolve("receive").toString(), "--config", cfg.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(errFile.toFile());
        pb.environment().keySet().removeIf(k -> !k.equals("PATH") && !k.equals("JAVA_HOME") && !k.equals("HOME"));
        pb.environment().putAll(env);
        Process p = pb.start();
        String last;
        try {
            sql(pg, "CREATE TABLE marker AS SELECT g AS id FROM generate_series(1, 10000) g");
            last = value(pg, "SELECT pg_walfile_name(pg_switch_wal())");
            Instant deadline = Instant.now().plusSeconds(120);
            // each look lists the bucket: a round trip, not a spin
            while (keys(s3, bucket, "wal/" + sysid + "/").stream().noneMatch(k -> k.contains(last))) {
                assertThat(p.isAlive()).as("wal receive runs; its stderr:%n%s", Files.readString(errFile)).isTrue();
                assertThat(Instant.now()).as("%s streamed into S3; wal receive's stderr:%n%s", last, Files.readString(errFile))
                        .isBefore(deadline);
            }
        } finally {
            p.destroy(); // SIGTERM
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
        String err = Files.readString(errFile);
        assertThat(p.exitValue()).as(err).isEqualTo(Backstop.STOPPED);
        assertThat(err).contains("wal receive: receiving", "over slot backstop", "wal receive: stopped; archived up to ");

        List<String> walKeys = keys(s3, bucket, "keys/wal/" + sysid + "/");
        assertThat(walKeys).as("the WAL archive's key records").isNotEmpty();
        for (String k : walKeys) {
            assertThat(JSON.readTree(read(s3, bucket, k)).get("kekId").asText()).as(k).isEqualTo("aws-kms:" + key);
        }
        Path fetched = base.resolve("fetched");
        CliIT.Result get = CliIT.run(env, "wal", "archive-get", last, fetched.toString(), "--config", cfg.toString());
        assertThat(get.code()).as("%s", get).isZero();
        assertThat(Files.size(fetched)).isEqualTo(16L << 20);
        assertThat(value(pg, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'backstop'")).isEqualTo("1");
    }
}
