package dev.backstop.core.internal.layout;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Repository;
import dev.backstop.core.StorageException;
import dev.backstop.core.TableFingerprint;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Recorded points of log streams ({@code points/<stream>/<name>.json}, {@link
 * RepositoryLayout#restorePointKey}): PostgreSQL's restore points and MariaDB's recovery
 * checkpoints, one format for both, through the repository's record API. The engines take the
 * fingerprints; this class stores and reads them.
 *
 * <p><b>Guarantees.</b> A record is written once ({@link ObjectKind#LOG}, immutable) and, in a keyed
 * view, authenticated for its own key with the stream as owner, so an edited record, or one copied
 * to another name or stream, fails authentication naming its key. Reading also checks that the
 * record says the name its key says and the engine fields the caller expects (the server it
 * belongs to), so a moved record is refused in a keyless view too.
 *
 * <p><b>Format 1.</b> Pretty-printed JSON: {@code formatVersion}, {@code name}, the engine's fields
 * (text), {@code createdAt}, and {@code databases}: per database {@code schemaHash}, {@code tables}
 * (per table {@code rows} and {@code contentHash}) and {@code objects} (per schema object its proof).
 *
 * <p><b>Threading.</b> Stateless; thread-safe.
 */
public final class PointRecords {
    /** The format this code writes and reads. */
    public static final int FORMAT_VERSION = 1;
    /** Top-level fields of the record itself, which an engine's field may not be called. */
    public static final List<String> RESERVED = List.of(FormatVersion.FIELD, "name", "createdAt", "databases", "authentication");
    private static final ObjectMapper JSON = new ObjectMapper();

    private PointRecords() {
    }

    /**
     * Whether point {@code name} of {@code stream} is recorded (its record exists, authentic or not).
     *
     * @throws StorageException naming the key if the repository cannot be listed
     */
    public static boolean exists(Repository repository, String stream, String name) {
        String key = RepositoryLayout.restorePointKey(stream, name);
        try {
            return repository.sink().list(key).stream().anyMatch(o -> o.key().equals(key));
        } catch (IOException e) {
            throw StorageException.of(key, "could not look for an earlier record: " + e, e, null);
        }
    }

    /**
     * Records {@code point} in {@code stream}; returns its key.
     *
     * @throws StorageException naming the key if it cannot be written; a point of that name recorded
     *     already is one whose cause is an {@code ObjectExistsException}
     */
    public static String put(Repository repository, String stream, PointRecord point) {
        String key = RepositoryLayout.restorePointKey(stream, point.name());
        repository.putRecord(key, stream, ObjectKind.LOG, write(point));
        return key;
    }

    /**
     * The point {@code name} of {@code stream}, if recorded. In a keyed view the record must be
     * authenticated for its key.
     *
     * @param what     names the record in messages, e.g. "restore point"
     * @param expected the engine fields the record must carry with exactly these values (the
     *                 server it belongs to)
     * @throws IntegrityException naming the key if the record is not authentic, says another name
     *     or other expected fields (moved), is of another format or cannot be parsed
     * @throws StorageException naming the key if the repository fails
     */
    public static Optional<PointRecord> read(Repository repository, String stream, String name, String what,
                                             Map<String, String> expected) {
        String key = RepositoryLayout.restorePointKey(stream, name);
        byte[] json;
        try {
            json = repository.readRecord(key, stream, what + " record");
        } catch (StorageException e) {
            if (e.getCause() instanceof NoSuchFileException) {
                return Optional.empty();
            }
            throw e;
        }
        return Optional.of(parse(json, key, name, what, expected));
    }

    static byte[] write(PointRecord p) {
        ObjectNode root = JSON.createObjectNode();
        root.put(FormatVersion.FIELD, FORMAT_VERSION);
        root.put("name", p.name());
        p.fields().forEach(root::put);
        root.put("createdAt", p.createdAt().toString());
        ObjectNode dbs = root.putObject("databases");
        p.databases().forEach((db, f) -> {
            ObjectNode d = dbs.putObject(db);
            d.put("schemaHash", f.schemaHash());
            ObjectNode tables = d.putObject("tables");
            f.sortedTables().forEach((t, tf) -> tables.putObject(t).put("rows", tf.rows()).put("contentHash", tf.contentHash()));
            ObjectNode objects = d.putObject("objects");
            f.sortedObjects().forEach(objects::put);
        });
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
        } catch (IOException e) {
            throw new IllegalStateException("a tree of text and numbers did not serialise", e);
        }
    }

    static PointRecord parse(byte[] json, String key, String expectedName, String what, Map<String, String> expected) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new IntegrityException(key, what + " record", "JSON", "unparseable: " + e.getMessage(), null, null);
        }
        if (root == null || !root.isObject()) {
            throw new IntegrityException(key, what + " record", "a JSON object", String.valueOf(root), null, null);
        }
        FormatVersion.check(root.path(FormatVersion.FIELD).asInt(-1), key, what + " record", FORMAT_VERSION, null);
        String name = root.path("name").asText();
        Map<String, String> fields = new LinkedHashMap<>();
        root.properties().forEach(e -> {
            if (!RESERVED.contains(e.getKey()) && e.getValue().isTextual()) {
                fields.put(e.getKey(), e.getValue().asText());
            }
        });
        Map<String, String> found = new LinkedHashMap<>();
        expected.keySet().forEach(f -> found.put(f, fields.get(f)));
        if (!expectedName.equals(name) || !expected.equals(found)) {
            throw new IntegrityException(key, what + " record owner", "'" + expectedName + "' " + expected,
                    "'" + name + "' " + found, null, null);
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
        Instant createdAt;
        try {
            createdAt = Instant.parse(root.path("createdAt").asText());
        } catch (DateTimeParseException e) {
            throw new IntegrityException(key, what + " record createdAt", "an ISO-8601 instant", root.path("createdAt").asText(),
                    null, null);
        }
        return new PointRecord(name, fields, createdAt, dbs);
    }
}
