package dev.backstop.mysql;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/** Quoting of identifiers and literals for the statements Backstop builds, and the catalog reads they share. */
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

    /**
     * {@code statement} with every qualifier naming database {@code from} (a back-quoted name
     * followed by a dot) naming {@code to} instead; string literals and every other identifier
     * are left as they are. For view definitions as the server prints them: a view that reads
     * another database has every table it reads qualified, its own database's too.
     */
    static String requalify(String statement, String from, String to) {
        String quoted = ident(from);
        if (!statement.contains(quoted + ".")) {
            return statement;
        }
        StringBuilder out = new StringBuilder(statement.length() + 16);
        int i = 0;
        int n = statement.length();
        while (i < n) {
            char c = statement.charAt(i);
            int end;
            if (c == '\'' || c == '"') {
                end = literalEnd(statement, i);
                out.append(statement, i, end);
            } else if (c == '`') {
                end = identEnd(statement, i);
                boolean qualifier = end < n && statement.charAt(end) == '.' && statement.regionMatches(i, quoted, 0, end - i)
                        && end - i == quoted.length();
                out.append(qualifier ? ident(to) : statement.substring(i, end));
            } else {
                end = i + 1;
                out.append(c);
            }
            i = end;
        }
        return out.toString();
    }

    /**
     * Whether {@code statement} qualifies a name with database {@code database}, back-quoted or
     * not ({@code `shop`.t}, {@code shop.t}), outside string literals: SQL a user wrote (a
     * trigger's or routine's body) that names its own database explicitly.
     */
    static boolean qualifiesWith(String statement, String database) {
        if (!statement.contains(database)) {
            return false;
        }
        int n = statement.length();
        int i = 0;
        while (i < n) {
            char c = statement.charAt(i);
            int end;
            String name = null;
            if (c == '\'' || c == '"') {
                end = literalEnd(statement, i);
            } else if (c == '`') {
                end = identEnd(statement, i);
                name = statement.substring(i + 1, end - 1).replace("``", "`");
            } else if (identifierPart(c)) {
                end = i + 1;
                while (end < n && identifierPart(statement.charAt(end))) {
                    end++;
                }
                name = statement.substring(i, end);
            } else {
                end = i + 1;
            }
            if (database.equals(name) && end < n && statement.charAt(end) == '.') {
                return true;
            }
            i = end;
        }
        return false;
    }

    private static boolean identifierPart(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == '$';
    }

    /** The index just past the back-quoted identifier starting at {@code start} (a doubled back quote is part of it). */
    private static int identEnd(String s, int start) {
        int i = start + 1;
        while (i < s.length()) {
            if (s.charAt(i) == '`') {
                if (i + 1 < s.length() && s.charAt(i + 1) == '`') {
                    i += 2;
                    continue;
                }
                return i + 1;
            }
            i++;
        }
        return s.length();
    }

    /** The index just past the string literal starting at {@code start}: backslash escapes and doubled quotes inside. */
    private static int literalEnd(String s, int start) {
        char quote = s.charAt(start);
        int i = start + 1;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '\\') {
                i += 2;
            } else if (c == quote) {
                if (i + 1 < s.length() && s.charAt(i + 1) == quote) {
                    i += 2;
                    continue;
                }
                return i + 1;
            } else {
                i++;
            }
        }
        return s.length();
    }

    /** The first two columns of every row {@code sql} returns for {@code database} (its one parameter). */
    static List<String[]> pairs(Connection c, String sql, String database) throws SQLException {
        List<String[]> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, database);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new String[] {rs.getString(1), rs.getString(2)});
                }
            }
        }
        return out;
    }

    /** Every column of the first row of a {@code SHOW CREATE ...} statement (nulls when it returns none). */
    static String[] showCreate(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            int n = rs.getMetaData().getColumnCount();
            String[] out = new String[n];
            if (rs.next()) {
                for (int i = 0; i < n; i++) {
                    out[i] = rs.getString(i + 1);
                }
            }
            return out;
        }
    }
}
