package dev.backstop.core.internal.repo;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.backstop.core.BackupId;
import dev.backstop.core.ConsistencyPoint;
import dev.backstop.core.Digest;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.LogRange;
import dev.backstop.core.crypto.MetadataKey;
import dev.backstop.core.Repository;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.TableFingerprint;
import dev.backstop.core.TransformSpec;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.internal.crypto.Sealed;
import dev.backstop.core.manifest.EncryptionInfo;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.manifest.StoredObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The JSON forms of manifests and validation records.
 *
 * <p>A manifest file is pretty-printed JSON whose last member is {@code manifestSha256}: the
 * SHA-256 of the same document written without that member. The check is on bytes, so any edit,
 * truncation or re-encoding is caught before a field is trusted. Maps are written in key order,
 * so the same manifest always serializes to the same bytes.
 *
 * <p>A manifest written with keys carries one more member after the checksum, {@code
 * authentication}: the {@link MetadataKey} tag over the document before it, bound to the
 * manifest's key and backup id. {@link #read} checks the checksum only; a keyed {@link
 * Repository} view checks the tag.
 */
public final class ManifestFormat {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectWriter PRETTY = JSON.writer(
            new DefaultPrettyPrinter().withObjectIndenter(new DefaultIndenter("  ", "\n"))
                    .withArrayIndenter(new DefaultIndenter("  ", "\n")));
    private static final String SUM_LEAD = ",\n  \"manifestSha256\" : \"";
    private static final Pattern TRAILER = Pattern.compile(Pattern.quote(SUM_LEAD) + "([0-9a-f]{64})\"\n}\n?\\z");

    private ManifestFormat() {
    }

    /** The manifest as the bytes stored in the repository. */
    public static byte[] write(Manifest m) {
        String body = toText(toJson(m));
        String sum = Digest.sha256(body.getBytes(StandardCharsets.UTF_8)).hex();
        String withSum = body.substring(0, body.length() - 2) + SUM_LEAD + sum + "\"\n}\n";
        return withSum.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Parses and checks stored manifest bytes.
     *
     * @param key where the bytes came from, for messages
     * @throws IntegrityException if the checksum is missing or wrong, or the content is invalid
     */
    public static Manifest read(byte[] bytes, String key) {
        Sealed sealed = Sealed.unseal(bytes);
        String text = new String(sealed == null ? bytes : sealed.content(), StandardCharsets.UTF_8);
        Matcher m = TRAILER.matcher(text);
        if (!m.find()) {
            throw new IntegrityException(key, "manifest checksum", "a trailing \"manifestSha256\" member",
                    "none (truncated or edited manifest)", null, null);
        }
        String body = text.substring(0, m.start()) + "\n}";
        String actual = Digest.sha256(body.getBytes(StandardCharsets.UTF_8)).hex();
        if (!actual.equals(m.group(1))) {
            throw new IntegrityException(key, "manifest checksum", m.group(1), actual + " (manifest was edited)", null, null);
        }
        try {
            return fromJson(JSON.readTree(body));
        } catch (IOException | RuntimeException e) {
            throw new IntegrityException(key, "manifest content", "a valid format-" + Manifest.FORMAT_VERSION + " manifest",
                    String.valueOf(e.getMessage()), e, null);
        }
    }

    public static boolean sameContent(Manifest a, Manifest b) {
        return Arrays.equals(write(a), write(b));
    }

    /** Pretty-printed JSON bytes ending in a newline, the form every sealed record takes. */
    public static byte[] pretty(JsonNode n) {
        return (toText(n) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /** A validation record's bytes. */
    public static byte[] writeValidation(ValidationResult r) {
        ObjectNode n = JSON.createObjectNode();
        n.put("formatVersion", 1);
        n.put("backupId", r.backupId().value());
        n.put("validator", r.validator());
        n.put("finishedAt", r.finishedAt().toString());
        n.put("elapsedMillis", r.elapsed().toMillis());
        n.put("passed", r.passed());
        ArrayNode f = n.putArray("findings");
        r.findings().forEach(f::add);
        n.set("measurements", strings(r.measurements()));
        return (toText(n) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /** Parses a validation record written by {@link #writeValidation}. */
    public static ValidationResult readValidation(byte[] bytes, String key) {
        try {
            JsonNode n = JSON.readTree(bytes);
            List<String> findings = new ArrayList<>();
            n.path("findings").forEach(x -> findings.add(x.asText()));
            return new ValidationResult(BackupId.parse(text(n, "backupId")), text(n, "validator"),
                    Instant.parse(text(n, "finishedAt")), Duration.ofMillis(n.path("elapsedMillis").asLong()),
                    findings, stringMap(n.path("measurements")));
        } catch (IOException | RuntimeException e) {
            throw new IntegrityException(key, "validation record", "a valid record", String.valueOf(e.getMessage()), e, null);
        }
    }

    private static String toText(JsonNode n) {
        try {
            return PRETTY.writeValueAsString(n);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ObjectNode toJson(Manifest m) {
        ObjectNode n = JSON.createObjectNode();
        n.put("formatVersion", Manifest.FORMAT_VERSION);
        n.put("backupId", m.id().value());
        n.put("type", m.type().label());
        n.put("status", "complete");
        m.parent().ifPresent(p -> n.put("parent", p.value()));
        n.put("startedAt", m.startedAt().toString());
        n.put("finishedAt", m.finishedAt().toString());
        n.put("durationMillis", m.duration().toMillis());
        ObjectNode src = n.putObject("source");
        src.put("engine", m.source().engine());
        src.put("version", m.source().version());
        src.set("attributes", strings(m.source().attributes()));
        n.set("consistency", strings(m.consistency().properties()));
        m.requiredLogs().ifPresent(r -> {
            ObjectNode l = n.putObject("requiredLogs");
            l.put("stream", r.stream());
            l.put("start", r.start());
            l.put("end", r.end());
        });
        m.fingerprints().ifPresent(f -> {
            ObjectNode fp = n.putObject("fingerprints");
            fp.put("schemaHash", f.schemaHash());
            ObjectNode tables = fp.putObject("tables");
            f.sortedTables().forEach((name, t) -> {
                ObjectNode tn = tables.putObject(name);
                tn.put("rows", t.rows());
                tn.put("contentHash", t.contentHash());
            });
            if (!f.objects().isEmpty()) {
                ObjectNode objects = fp.putObject("objects");
                f.sortedObjects().forEach(objects::put);
            }
        });
        m.encryption().ifPresent(e -> {
            ObjectNode en = n.putObject("encryption");
            en.put("algorithm", e.algorithm());
            en.put("kekId", e.kekId());
            en.put("keyObject", e.keyObject());
        });
        ArrayNode objects = n.putArray("objects");
        for (StoredObject o : m.objects()) {
            ObjectNode on = objects.addObject();
            on.put("name", o.name());
            on.put("key", o.key());
            on.put("plaintextSize", o.plaintextSize());
            on.put("plaintextSha256", o.plaintextSha256().hex());
            on.put("storedSize", o.storedSize());
            on.put("storedSha256", o.storedSha256().hex());
            ArrayNode ts = on.putArray("transforms");
            for (TransformSpec t : o.transforms()) {
                ObjectNode tn = ts.addObject();
                tn.put("id", t.id());
                tn.set("parameters", strings(t.parameters()));
            }
        }
        ObjectNode totals = n.putObject("totals");
        totals.put("plaintextBytes", m.plaintextBytes());
        totals.put("storedBytes", m.storedBytes());
        n.set("attributes", strings(m.attributes()));
        n.set("labels", strings(m.labels()));
        return n;
    }

    private static Manifest fromJson(JsonNode n) {
        int version = n.path("formatVersion").asInt(-1);
        if (version < 1 || version > Manifest.FORMAT_VERSION) {
            throw new IllegalArgumentException("formatVersion " + version + " is not readable by this Backstop (reads 1.."
                    + Manifest.FORMAT_VERSION + ")");
        }
        BackupId id = BackupId.parse(text(n, "backupId"));
        JsonNode src = n.path("source");
        Manifest.Builder b = Manifest.builder(id)
                .startedAt(Instant.parse(text(n, "startedAt")))
                .finishedAt(Instant.parse(text(n, "finishedAt")))
                .source(new SourceInfo(text(src, "engine"), text(src, "version"), stringMap(src.path("attributes"))))
                .consistency(ConsistencyPoint.of(stringMap(n.path("consistency"))))
                .attributes(stringMap(n.path("attributes")))
                .labels(stringMap(n.path("labels")));
        if (n.hasNonNull("parent")) {
            b.parent(BackupId.parse(text(n, "parent")));
        }
        if (n.hasNonNull("requiredLogs")) {
            JsonNode l = n.get("requiredLogs");
            b.requiredLogs(new LogRange(text(l, "stream"), l.path("start").asLong(), l.path("end").asLong()));
        }
        if (n.hasNonNull("fingerprints")) {
            JsonNode fp = n.get("fingerprints");
            Map<String, TableFingerprint> tables = new LinkedHashMap<>();
            fp.path("tables").properties().forEach(e ->
                    tables.put(e.getKey(), new TableFingerprint(e.getValue().path("rows").asLong(), text(e.getValue(), "contentHash"))));
            Map<String, String> objects = new LinkedHashMap<>();
            fp.path("objects").properties().forEach(e -> objects.put(e.getKey(), e.getValue().asText()));
            b.fingerprints(new Fingerprints(text(fp, "schemaHash"), tables, objects));
        }
        if (n.hasNonNull("encryption")) {
            JsonNode e = n.get("encryption");
            b.encryption(new EncryptionInfo(text(e, "algorithm"), text(e, "kekId"), text(e, "keyObject")));
        }
        for (JsonNode on : n.path("objects")) {
            List<TransformSpec> ts = new ArrayList<>();
            for (JsonNode tn : on.path("transforms")) {
                ts.add(new TransformSpec(text(tn, "id"), stringMap(tn.path("parameters"))));
            }
            b.addObject(new StoredObject(text(on, "name"), text(on, "key"), on.path("plaintextSize").asLong(),
                    new Digest(text(on, "plaintextSha256")), on.path("storedSize").asLong(),
                    new Digest(text(on, "storedSha256")), ts));
        }
        return b.build();
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException("field '" + field + "' missing or not a string");
        }
        return v.asText();
    }

    private static ObjectNode strings(Map<String, String> map) {
        ObjectNode o = JSON.createObjectNode();
        new TreeMap<>(map).forEach(o::put);
        return o;
    }

    private static Map<String, String> stringMap(JsonNode n) {
        Map<String, String> out = new LinkedHashMap<>();
        n.properties().forEach(e -> out.put(e.getKey(), e.getValue().asText()));
        return out;
    }
}
