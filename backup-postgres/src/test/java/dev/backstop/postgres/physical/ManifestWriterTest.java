package dev.backstop.postgres.physical;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.postgres.PgTools;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The backup_manifest a data directory backup writes, checked against PostgreSQL's own values and pg_verifybackup. */
class ManifestWriterTest {
    private static final Instant T = Instant.parse("2026-11-21T14:27:55Z");

    @TempDir
    Path tmp;

    private static long crc(byte[] b) {
        CRC32C c = new CRC32C();
        c.update(b);
        return c.getValue();
    }

    @Test
    void crcHex_isWhatPgBasebackupWritesForTheSameBytes() {
        // pg_basebackup 15's manifest lists PG_VERSION ("15\n") with Checksum "8a744722", an empty file with "00000000"
        assertThat(ManifestWriter.crcHex(crc("15\n".getBytes(StandardCharsets.US_ASCII)))).isEqualTo("8a744722");
        assertThat(ManifestWriter.crcHex(crc(new byte[0]))).isEqualTo("00000000");
    }

    @Test
    void quote_escapesAsPostgresEscapeJson() {
        assertThat(ManifestWriter.quote("a\"b\\c\nd\te\u0001")).isEqualTo("\"a\\\"b\\\\c\\nd\\te\\u0001\"");
    }

    @Test
    void finish_endsWithTheSha256OfEverythingBeforeTheChecksumLine() {
        ManifestWriter m = new ManifestWriter();
        m.add("PG_VERSION", 3, T, crc("15\n".getBytes(StandardCharsets.US_ASCII)));
        byte[] out = m.finish(1, 0x2000028L, 0x2000100L);
        String text = new String(out, StandardCharsets.UTF_8);

        int line = text.lastIndexOf("\"Manifest-Checksum\"");
        String claimed = text.substring(line).replaceAll("(?s).*\"([0-9a-f]{64})\".*", "$1");
        assertThat(claimed).isEqualTo(HexFormat.of().formatHex(sha256(text.substring(0, line).getBytes(StandardCharsets.UTF_8))));
        assertThat(text).endsWith("\"}\n")
                .contains("{ \"Path\": \"PG_VERSION\", \"Size\": 3, \"Last-Modified\": \"2026-11-21 14:27:55 GMT\", "
                        + "\"Checksum-Algorithm\": \"CRC32C\", \"Checksum\": \"8a744722\" }")
                .contains("{ \"Timeline\": 1, \"Start-LSN\": \"0/2000028\", \"End-LSN\": \"0/2000100\" }");
    }

    @Test
    void pgVerifybackup_withChecksums_acceptsTheManifest_andRejectsAChangedFileOrAChangedManifest() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("backup"));
        ManifestWriter m = new ManifestWriter();
        byte[] version = "15\n".getBytes(StandardCharsets.US_ASCII);
        byte[] page = new byte[8192];
        new java.util.Random(7).nextBytes(page);
        Files.write(dir.resolve("PG_VERSION"), version);
        Files.createDirectories(dir.resolve("base/5"));
        Files.write(dir.resolve("base/5/16384"), page);
        Files.write(dir.resolve("quoted \"name\""), new byte[0]);
        m.add("PG_VERSION", version.length, T, crc(version));
        m.add("base/5/16384", page.length, T, crc(page));
        m.add("quoted \"name\"", 0, T, crc(new byte[0]));
        byte[] manifest = m.finish(1, 0x2000028L, 0x2000100L);
        Files.write(dir.resolve("backup_manifest"), manifest);

        assertThat(verify(dir)).startsWith("0:");

        page[100] ^= 1;
        Files.write(dir.resolve("base/5/16384"), page);
        assertThat(verify(dir)).doesNotStartWith("0:").contains("base/5/16384").contains("checksum mismatch");

        page[100] ^= 1;
        Files.write(dir.resolve("base/5/16384"), page);
        String text = new String(manifest, StandardCharsets.UTF_8).replace("\"Size\": 3,", "\"Size\": 4,");
        Files.writeString(dir.resolve("backup_manifest"), text);
        assertThat(verify(dir)).doesNotStartWith("0:").contains("manifest checksum mismatch");
    }

    /** Exit code and output of pg_verifybackup without WAL parsing (there is no WAL here), checksums included. */
    private static String verify(Path dir) throws Exception {
        Process p = new ProcessBuilder(List.of(PgTools.locate().tool("pg_verifybackup").toString(), "--no-parse-wal", dir.toString()))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return p.waitFor() + ": " + out;
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
