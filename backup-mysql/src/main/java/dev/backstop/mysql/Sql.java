package dev.backstop.mysql;

/** Quoting of identifiers and literals for the statements Backstop builds. */
final class Sql {
    private Sql() {
    }

    /** {@code name} as a back-quoted identifier. */
    static String ident(String name) {
        return "`" + name.replace("`", "``") + "`";
    }

    /** {@code value} as a single-quoted string literal (backslashes escaped too, whatever the sql_mode). */
    static String literal(String value) {
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'";
    }
}
