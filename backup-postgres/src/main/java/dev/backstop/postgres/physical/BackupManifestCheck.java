package dev.backstop.postgres.physical;

import dev.backstop.core.IntegrityException;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.postgres.PgTools;
import dev.backstop.postgres.internal.ToolProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Checks restored files against pg_basebackup's {@code backup_manifest} for a {@link
 * PointInTimeRecovery}: the CRC-32Cs computed during extraction here, the rest with {@code
 * pg_verifybackup}. Failures are {@link IntegrityException}s naming the backup and the file.
 */
final class BackupManifestCheck {
    private final Manifest manifest;
    private final PgTools tools;

    BackupManifestCheck(Manifest manifest, PgTools tools) {
        this.manifest = manifest;
        this.tools = tools;
    }

    /**
     * Checks the restored files against pg_basebackup's {@code backup_manifest}. The CRC-32C of
     * every file was computed while it was written, so when the manifest uses CRC-32C (the
     * default) the checksums are compared here and {@code pg_verifybackup --skip-checksums} checks
     * the rest (manifest checksum, files present and sizes, WAL parses): one read of the data
     * instead of two. Any other algorithm is left to a full {@code pg_verifybackup}.
     */
    void verify(Path data, Map<String, long[]> crcs) throws IOException {
        Path manifestFile = data.resolve("backup_manifest");
        if (!Files.exists(manifestFile)) {
            throw new IntegrityException(BaseBackupSource.STREAM, "backup_manifest in " + manifest.id(),
                    "pg_basebackup's manifest", "none in the tar", null, manifest.id());
        }
        boolean inline = checkCrcs(manifestFile, crcs);
        List<String> args = inline ? List.of("--quiet", "--skip-checksums", data.toString()) : List.of("--quiet", data.toString());
        try (ToolProcess p = ToolProcess.start(tools.tool("pg_verifybackup"), args, null, null,
                ProcessBuilder.Redirect.DISCARD)) {
            int exit = p.waitFor();
            if (exit != 0) {
                throw new IntegrityException(BaseBackupSource.STREAM, "pg_verifybackup of " + manifest.id(),
                        "exit 0", "exit " + exit + ": " + p.stderrTail().strip(), null, manifest.id());
            }
        }
    }

    /** Compares CRC-32Cs; returns false (check nothing) if the manifest uses another algorithm anywhere. */
    private boolean checkCrcs(Path manifestFile, Map<String, long[]> crcs) throws IOException {
        com.fasterxml.jackson.databind.JsonNode files = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(manifestFile.toFile()).path("Files");
        for (com.fasterxml.jackson.databind.JsonNode f : files) {
            if (!"CRC32C".equals(f.path("Checksum-Algorithm").asText()) || !f.has("Path")) {
                return false;
            }
        }
        for (com.fasterxml.jackson.databind.JsonNode f : files) {
            String path = f.path("Path").asText();
            long[] got = crcs.get(path);
            if (got == null) {
                continue; // pg_verifybackup reports a missing file
            }
            // PostgreSQL writes the CRC's bytes in memory (little-endian) order as hex
            String hex = String.format("%08x", Integer.reverseBytes((int) got[1]));
            if (got[0] != f.path("Size").asLong() || !hex.equalsIgnoreCase(f.path("Checksum").asText())) {
                throw new IntegrityException(BaseBackupSource.STREAM, "file " + path + " of " + manifest.id(),
                        f.path("Size").asLong() + " bytes, CRC-32C " + f.path("Checksum").asText() + " (backup_manifest)",
                        got[0] + " bytes, CRC-32C " + hex, null, manifest.id());
            }
        }
        return true;
    }
}
