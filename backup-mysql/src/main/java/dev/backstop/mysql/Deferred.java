package dev.backstop.mysql;

import java.util.List;

/** One table's indexes and foreign keys taken out of its CREATE TABLE, and the size of its section. */
final class Deferred {
    final String table;
    final List<String> keys;
    final List<String> foreignKeys;
    long bytes;

    Deferred(String table, List<String> keys, List<String> foreignKeys) {
        this.table = table;
        this.keys = keys;
        this.foreignKeys = foreignKeys;
    }

    String alter(List<String> definitions) {
        return "ALTER TABLE " + table + " ADD " + String.join(", ADD ", definitions) + ";\n";
    }
}
