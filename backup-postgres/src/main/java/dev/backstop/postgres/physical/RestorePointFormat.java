package dev.backstop.postgres.physical;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.TableFingerprint;
import dev.backstop.postgres.wal.WalFile;
import java.io.IOException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The JSON of a {@link RecordedRestorePoint} ({@code formatVersion} 1): name, system identifier,
 * LSN, time, and per database the schema hash, each table's rows and content hash, and each
 * schema object's proof. The repository authenticates it; this class only reads and writes it.
 */
final class RestorePointFormat {
    static final int FORMAT_VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper();

    private RestorePointFormat() {
    }

    static byte[] write(RecordedRestorePoint p) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("formatVersion", FORMAT_VERSION);
        root.put("name", p.name());
        root.put("systemIdentifier", Long.toUnsignedString(p.systemId()));
        root.put("lsn", WalFile.formatLsn(p.lsn()));
        root.put("createdAt", p.createdAt().toString());
        ObjectNode dbs = root.putObject("databases");
        p.sortedDatabases().forEach((db, f) -> {
            ObjectNode d = dbs.putObject(db);
            d.put("schemaHash", f.schemaHash());
            ObjectNode tables = d.putObject("tables");
            f.sortedTables().forEach((t, tf) -> tables.putObject(t).put("rows", tf.rows()).put("contentHash", tf.contentHash()));
            ObjectNode objects = d.putObject("objects");
            f.sortedObjects().forEach(objects::put);
        });
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
    }

    /** Parses a record read from {@code key}; a record that does not say what it should is refused naming the key. */
    static RecordedRestorePoint read(byte[] json, String key, String expectedName, long expectedSystemId) throws IOException {
        JsonNode root = JSON.readTree(json);
        int version = root.path("formatVersion").asInt(-1);
        if (version != FORMAT_VERSION) {
            throw new IntegrityException(key, "restore point record format", Integer.toString(FORMAT_VERSION),
                    Integer.toString(version), null, null);
        }
        String name = root.path("name").asText();
        String sysid = root.path("systemIdentifier").asText();
        if (!expectedName.equals(name) || !Long.toUnsignedString(expectedSystemId).equals(sysid)) {
            throw new IntegrityException(key, "restore point record owner", expectedName + " of system "
                    + Long.toUnsignedString(expectedSystemId), name + " of system " + sysid, null, null);
        }
        Map<String, Fingerprints> dbs = new LinkedHashMap<>();
        root.path("databases").properties().forEach(e -> {
            JsonNode d = e.getValue();
            Map<String, TableFingerprint> tables = new LinkedHashMap<>();
            d.path("tables").properties().forEach(t -> tables.put(t.getKey(),
                    new TableFingerprint(t.getValue().path("rows").asLong(), t.getValue().path("contentHash").asText())));
            Map<String, String> objects = new LinkedHashMap<>();
            d.path("objects").properties().forEach(o -> objects.put(o.getKey(), o.getValue().asText()));
            dbs.put(e.getKey(), new Fingerprints(d.path("schemaHash").asText(), tables, objects));
        });
        return new RecordedRestorePoint(name, expectedSystemId, WalFile.parseLsn(root.path("lsn").asText()),
                Instant.parse(root.path("createdAt").asText()), dbs);
    }
}
