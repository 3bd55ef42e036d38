package dev.backstop.mysql;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A CREATE TABLE statement as sent during the load, and what was taken out of it (null: nothing). */
record Deferral(String create, Deferred deferred) {
    /** Rewrites {@code statement} (a dump's CREATE TABLE, with its line ends) when it is safe to; else returns it as is. */
    static Deferral of(String statement) {
        Deferral same = new Deferral(statement, null);
        String[] lines = statement.split("\n", -1);
        int close = -1;
        for (int i = 1; i < lines.length; i++) {
            if (lines[i].startsWith(")")) {
                close = i;
                break;
            }
        }
        String first = lines[0];
        if (close < 0 || !first.endsWith(" (") || !lines[close].contains("ENGINE=InnoDB")) {
            return same;
        }
        String rest = String.join("\n", Arrays.copyOfRange(lines, close, lines.length));
        if (rest.contains("PARTITION BY") || rest.contains("WITH SYSTEM VERSIONING")) {
            return same;
        }
        String table = first.substring("CREATE TABLE ".length(), first.length() - 2);
        List<String> kept = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        List<String> foreignKeys = new ArrayList<>();
        String primary = null;
        String autoColumn = null;
        for (int i = 1; i < close; i++) {
            String def = lines[i].endsWith(",") ? lines[i].substring(0, lines[i].length() - 1) : lines[i];
            String t = def.strip();
            if (!def.startsWith("  ")) {
                return same;
            }
            if (t.startsWith("PRIMARY KEY (")) {
                primary = t;
            } else if (t.startsWith("`") && t.contains(" AUTO_INCREMENT")) {
                autoColumn = t.substring(0, t.indexOf('`', 1) + 1);
            }
            if (t.startsWith("KEY `") || t.startsWith("UNIQUE KEY `")) {
                keys.add(t);
            } else if (t.startsWith("CONSTRAINT `") && t.contains(" FOREIGN KEY (")) {
                foreignKeys.add(t);
            } else {
                kept.add(def);
            }
        }
        // InnoDB clusters a table without a primary key on its first unique key, and an
        // AUTO_INCREMENT column must lead some key: leave such tables as they are
        if (primary == null || autoColumn != null && !primary.startsWith("PRIMARY KEY (" + autoColumn)
                || keys.isEmpty() && foreignKeys.isEmpty()) {
            return same;
        }
        StringBuilder out = new StringBuilder(first).append('\n');
        for (int i = 0; i < kept.size(); i++) {
            out.append(kept.get(i)).append(i < kept.size() - 1 ? ",\n" : "\n");
        }
        out.append(rest);
        return new Deferral(out.toString(), new Deferred(table, keys, foreignKeys));
    }
}
