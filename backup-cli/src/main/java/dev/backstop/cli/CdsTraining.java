package dev.backstop.cli;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.Repository;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The training run of {@code bin/backstop-cds}: the class-data sharing archive (or, on JDK 25 and
 * later, the AOT cache, which also keeps the method profiles) holds the classes this one JVM loads,
 * so it goes through what a fresh JVM pays for before its first byte moves:
 * every command's picocli model, the configuration, the repository, the local keyset and the
 * backup and restore pipelines (zstd, AES-GCM, manifests), then the restore-side commands. It
 * works in a temporary directory that it deletes, and contacts no database: no engine's classes
 * past its configuration are in the archive, and they load as they would without one.
 */
final class CdsTraining {
    private CdsTraining() {}

    /** Runs the training in a new temporary directory; exits non-zero if a step fails. */
    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("backstop-cds");
        try {
            int failed = train(dir);
            if (failed != 0) {
                System.err.println("backstop-cds: a training step failed with exit code " + failed);
                System.exit(failed);
            }
        } finally {
            deleteRecursively(dir);
        }
    }

    /** Runs every step in {@code dir}; returns the first failing exit code, or {@link Backstop#OK}. */
    static int train(Path dir) throws IOException {
        PrintWriter quiet = new PrintWriter(Writer.nullWriter());
        PrintWriter err = new PrintWriter(System.err, true);
        Backstop.execute(new String[] {"--help"}, Map.of(), quiet, err);

        Repository repo = Repository.filesystem(dir.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(dir.resolve("kek.json"));
        BackupPipeline.builder().source(new SampleSource())
                .compress(ZstdTransform.level(3))
                .encrypt(Encryption.with(kek))
                .repository(repo)
                .build()
                .run();

        Path config = dir.resolve("backstop.json");
        // a database that is never contacted: the commands below read the repository only
        Files.writeString(config, "{\"backup\": {"
                + "\"database\": {\"type\": \"postgres\", \"host\": \"127.0.0.1\", \"port\": \"1\", \"user\": \"backstop\", "
                + "\"password\": \"unused\", \"name\": \"training\"},"
                + "\"storage\": {\"provider\": \"filesystem\", \"path\": " + quoted(dir.resolve("repo")) + "},"
                + "\"encryption\": {\"keyset\": " + quoted(dir.resolve("kek.json")) + "}}}", StandardCharsets.UTF_8);
        String cfg = config.toString();
        String[][] commands = {
            {"config", "check", "--config", cfg},
            {"list", "--config", cfg},
            {"list", "--json", "--config", cfg},
            {"verify", "--full", "--latest", "--config", cfg},
            {"restore", "--latest", "--to-file", dir.resolve("restored").toString(), "--config", cfg},
        };
        for (String[] command : commands) {
            int code = Backstop.execute(command, Map.of(), quiet, err);
            if (code != Backstop.OK) {
                return code;
            }
        }
        return Backstop.OK;
    }

    private static String quoted(Path p) {
        return "\"" + p.toAbsolutePath().toString().replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static void deleteRecursively(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }

    /** A few MiB of repetitive text rows, enough to run every stage of the pipeline. */
    private static final class SampleSource implements CaptureSource {
        @Override
        public BackupType type() {
            return BackupType.LOGICAL;
        }

        @Override
        public CaptureResult capture(Streams streams) throws IOException {
            try (OutputStream out = streams.open("dump.sql")) {
                for (int i = 0; i < 40_000; i++) {
                    out.write(("INSERT INTO training VALUES (" + i + ", 'row " + (i * 7919 % 10007) + "');\n")
                            .getBytes(StandardCharsets.US_ASCII));
                }
            }
            return CaptureResult.builder(SourceInfo.of("training", "1")).build();
        }
    }
}
