package dev.backstop.core.log;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.backstop.core.Digest;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.TransformSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The stored form of {@link LogObject}: a pretty-printed JSON document, sealed by the repository's
 * metadata key when written with keys (the seal covers the metadata object's own key and the log
 * stream). Earlier formats were {@code name=value} lines (formats 1 and 2); they are refused by
 * number, never guessed at.
 */
final class LogMetadata {
    /** Reads at most this much of a metadata object; a record is well under 2 KiB. */
    static final int MAX_BYTES = 64 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Pattern LINE_FORMAT = Pattern.compile("(?m)^formatVersion=(\\S+)$");

    private LogMetadata() {
    }

    static byte[] encode(String stream, LogObject o) {
        ObjectNode n = JSON.createObjectNode();
        n.put("formatVersion", LogObject.FORMAT_VERSION);
        n.put("stream", stream);
        n.put("key", o.key());
        n.put("name", o.name());
        n.put("epoch", o.epoch());
        n.put("delta", o.delta());
        n.put("from", o.from());
        n.put("to", o.to());
        n.put("plaintextSize", o.plaintextSize());
        n.put("plaintextSha256", o.plaintextSha256().hex());
        n.put("storedSize", o.storedSize());
        n.put("storedSha256", o.storedSha256().hex());
        ArrayNode transforms = n.putArray("transforms");
        for (TransformSpec t : o.transforms()) {
            ObjectNode tn = transforms.addObject();
            tn.put("id", t.id());
            ObjectNode p = tn.putObject("parameters");
            new TreeMap<>(t.parameters()).forEach(p::put);
        }
        n.put("keyRecord", o.keyRecord());
        n.put("archivedAt", o.archivedAt().toString());
        ObjectNode attributes = n.putObject("attributes");
        new TreeMap<>(o.attributes()).forEach(attributes::put);
        try {
            return (JSON.writeValueAsString(n) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("JSON of log metadata " + o.key(), e);
        }
    }

    /**
     * Refuses metadata in a format this version does not read, naming the format: the {@code
     * name=value} WAL metadata of formats 1 and 2, or JSON of another {@code formatVersion}.
     *
     * @throws IntegrityException naming {@code metaKey}
     */
    static void requireReadable(String metaKey, byte[] stored) {
        String text = new String(stored, StandardCharsets.UTF_8);
        if (text.startsWith("{")) {
            return;
        }
        Matcher m = LINE_FORMAT.matcher(text);
        String format = m.find() ? "format " + m.group(1) : "an unknown format";
        throw new IntegrityException(metaKey, "log metadata format", "format " + LogObject.FORMAT_VERSION + " (JSON)",
                format + " (name=value WAL metadata written by an earlier Backstop), which this version does not read: "
                        + "restore from this archive with the earlier version, or archive anew into an empty repository", null, null);
    }

    /**
     * Parses authenticated metadata of data object {@code key}; checks that it describes that
     * object of that stream.
     *
     * @throws IntegrityException naming {@code metaKey} if it is unreadable, of another format or
     *     of another object
     */
    static LogObject decode(String stream, String key, String metaKey, byte[] content) {
        JsonNode n;
        try {
            n = JSON.readTree(content);
        } catch (IOException e) {
            throw new IntegrityException(metaKey, "log metadata", "a JSON document", String.valueOf(e.getMessage()), e, null);
        }
        int version = n.path("formatVersion").asInt(-1);
        if (version != LogObject.FORMAT_VERSION) {
            throw new IntegrityException(metaKey, "log metadata format", "format " + LogObject.FORMAT_VERSION,
                    "format " + n.path("formatVersion").asText("(none)") + ", which this version does not read", null, null);
        }
        if (!stream.equals(n.path("stream").asText()) || !key.equals(n.path("key").asText())) {
            throw new IntegrityException(metaKey, "log metadata owner", "the metadata of " + key + " in " + stream,
                    "metadata of another object, " + n.path("key").asText() + " in " + n.path("stream").asText()
                            + " (moved or swapped)", null, null);
        }
        try {
            List<TransformSpec> transforms = new ArrayList<>();
            for (JsonNode t : n.path("transforms")) {
                transforms.add(new TransformSpec(text(t, "id"), strings(t.path("parameters"))));
            }
            Map<String, String> attributes = strings(n.path("attributes"));
            return new LogObject(key, text(n, "name"), text(n, "epoch"), n.path("delta").asBoolean(), number(n, "from"),
                    number(n, "to"), number(n, "plaintextSize"), new Digest(text(n, "plaintextSha256")), number(n, "storedSize"),
                    new Digest(text(n, "storedSha256")), transforms, n.path("keyRecord").asText(""),
                    Instant.parse(text(n, "archivedAt")), attributes);
        } catch (RuntimeException e) {
            throw new IntegrityException(metaKey, "log metadata", "a format-" + LogObject.FORMAT_VERSION + " record",
                    String.valueOf(e.getMessage()), e, null);
        }
    }

    private static Map<String, String> strings(JsonNode object) {
        Map<String, String> out = new TreeMap<>();
        for (Map.Entry<String, JsonNode> e : object.properties()) {
            out.put(e.getKey(), e.getValue().asText());
        }
        return out;
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException("field " + field + " missing or not text");
        }
        return v.asText();
    }

    private static long number(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.canConvertToLong()) {
            throw new IllegalArgumentException("field " + field + " missing or not a number");
        }
        return v.asLong();
    }
}
