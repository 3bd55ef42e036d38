package dev.backstop.core.internal.layout;

import dev.backstop.core.Fingerprints;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A named point of a log stream with the fingerprints of its databases there, as {@link
 * PointRecords} stores it: what a recovery to that point must reproduce. The engine says what the
 * point is in {@code fields} (PostgreSQL: system identifier and LSN; MariaDB: server, binlog
 * position and GTID), written as top-level text fields of the record in the order given.
 *
 * @param name      the point's name, unique in its stream
 * @param fields    the engine's fields, in the order written; none may be named like a field of the
 *                  record itself ({@link PointRecords#RESERVED})
 * @param createdAt when the point was taken
 * @param databases per database, its fingerprints at the point
 */
public record PointRecord(String name, Map<String, String> fields, Instant createdAt, Map<String, Fingerprints> databases) {
    public PointRecord {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(createdAt, "createdAt");
        fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
        for (String f : fields.keySet()) {
            if (PointRecords.RESERVED.contains(f)) {
                throw new IllegalArgumentException("point field: got '" + f + "', which the record itself uses; "
                        + "reserved: " + PointRecords.RESERVED);
            }
        }
        databases = Collections.unmodifiableMap(new TreeMap<>(databases));
    }

    /**
     * The engine's field {@code name}.
     *
     * @throws IllegalArgumentException if the record has no such field
     */
    public String field(String name) {
        String v = fields.get(name);
        if (v == null) {
            throw new IllegalArgumentException("point '" + this.name + "': no field '" + name + "', has " + fields.keySet());
        }
        return v;
    }
}
