package dev.backstop.core;

import java.util.Map;

/**
 * The instant in the source's history a backup is consistent at, as the engine names it: a
 * snapshot id, an LSN and timeline, a binlog file and position or GTID set. Engines provide typed
 * views over these properties; the core only records them.
 */
public record ConsistencyPoint(Map<String, String> properties) {
    public static final ConsistencyPoint NONE = new ConsistencyPoint(Map.of());

    public ConsistencyPoint {
        properties = Map.copyOf(properties);
    }

    public static ConsistencyPoint of(Map<String, String> properties) {
        return new ConsistencyPoint(properties);
    }
}
