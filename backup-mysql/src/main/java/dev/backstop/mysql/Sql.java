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
     * {@code statement} with every qualifier naming database {@code from} (a name followed by a
     * dot) naming {@code to} instead; string literals and every other identifier are left as they
     * are. For view definitions as the server prints them: a view that reads another database has
     * every table it reads qualified, its own database's too.
     */
    static String requalify(String statement, String from, String to) {
        if (!qualifiesWith(statement, from)) {
            return statement;
        }
        StringBuilder out = new StringBuilder(statement.length() + 16);
        for (int i = 0, end; i < statement.length(); i = end) {
            end = tokenEnd(statement, i);
            out.append(qualifier(statement, i, end, from) ? ident(to) : statement.substring(i, end));
        }
        return out.toString();
    }

    /**
     * Whether {@code statement} qualifies a name with database {@code database}, back-quoted or
     * not ({@code `shop`.t}, {@code shop.t}), outside string literals: SQL a user wrote (a
     * trigger's or routine's body) that names its own database explicitly.
     */
    static boolean qualifiesWith(String statement, String database) {
        // a quick way out for the statement that cannot name it: back-quoted, a back quote in a name is doubled
        if (!statement.contains(database) && !statement.contains(database.replace("`", "``"))) {
            return false;
        }
        for (int i = 0, end; i < statement.length(); i = end) {
            end = tokenEnd(statement, i);
            if (qualifier(statement, i, end, database)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the token from {@code start} to {@code end} names {@code database} and a dot follows it. */
    private static boolean qualifier(String s, int start, int end, String database) {
        if (end >= s.length() || s.charAt(end) != '.') {
            return false;
        }
        char c = s.charAt(start);
        String name = c == '`' ? s.substring(start + 1, end - 1).replace("``", "`")
                : identifierPart(c) ? s.substring(start, end) : null;
        return database.equals(name);
    }

    /** The index just past the token at {@code i}: a string literal, a back-quoted identifier, a bare word or one other character. */
    private static int tokenEnd(String s, int i) {
        char c = s.charAt(i);
        if (c == '\'' || c == '"') {
            return literalEnd(s, i);
        }
        if (c == '`') {
            return identEnd(s, i);
        }
        int end = i + 1;
        while (identifierPart(c) && end < s.length() && identifierPart(s.charAt(end))) {
            end++;
        }
        return end;
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
