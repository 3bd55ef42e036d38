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
