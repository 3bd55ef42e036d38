package dev.backstop.mysql;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * One section of a dump ({@code -- Table structure for table ...} up to the next one) as
 * {@link ParallelLoad} routes it. The lines before the first row are held until the first row
 * shows whether the section can be spread: an InnoDB table whose rows are {@code INSERT}
 * statements. Then every session that receives rows first runs the held lines without the
 * dump's {@code DROP TABLE} and {@code LOCK TABLES}, with {@code CREATE TABLE IF NOT EXISTS},
 * and the statements after the rows (its triggers) are handed back to be run once every session
 * is done; comments and the end of the dump's lock there are dropped. Any other
 * section goes whole, in order, to the session chosen for it.
 */
final class TableSection {
    /** Held lines beyond this mean the section has a shape this class does not know: send it whole. */
    private static final int MAX_HELD = 1 << 20;
    private static final String INSERT = "INSERT INTO `";
    private static final String CREATE = "CREATE TABLE `";

    private final List<SessionWriter> writers;
    private final SessionWriter owner;
    private final boolean table;
    private final List<Deferred> allDeferred;
    private List<byte[]> held = new ArrayList<>();
    private int heldBytes;
    private int createIndex = -1;
    private ByteArray create;
    private Deferred deferred;
    private boolean innoDb;
    private byte[] spreadSetup;
    private final Set<SessionWriter> prepared = new HashSet<>();
    private SessionWriter statementTarget;
    private boolean afterRows;

    /**
     * @param table whether the section is a table's (not a view's or a sequence's)
     * @param allDeferred receives the indexes and foreign keys taken out of the table's CREATE
     */
    TableSection(List<SessionWriter> writers, SessionWriter owner, boolean table, List<Deferred> allDeferred) {
        this.writers = writers;
        this.owner = owner;
        this.table = table;
        this.allDeferred = allDeferred;
    }

    /**
     * Routes one line; returns false when the line is to run after every session has loaded its
     * rows (the caller spools it).
     */
    boolean accept(byte[] line, boolean delimited) throws IOException {
        if (create != null || !delimited && createIndex < 0 && ParallelLoad.startsWith(line, CREATE)) {
            if (create == null) {
                create = new ByteArray();
            }
            create.write(line);
            if (ParallelLoad.endsStatement(line)) {
                Deferral d = Deferral.of(new String(create.toArray(), StandardCharsets.UTF_8));
                if (d.deferred() != null) {
                    deferred = d.deferred();
                    allDeferred.add(deferred);
                }
                innoDb = innoDb(d.create());
                create = null;
                byte[] statement = d.create().getBytes(StandardCharsets.UTF_8);
                if (held != null) {
                    createIndex = held.size();
                    hold(statement);
                } else {
                    createIndex = Integer.MAX_VALUE;
                    owner.append(statement);
                }
            }
            return true;
        }
        if (held != null) {
            boolean row = !delimited && ParallelLoad.startsWith(line, INSERT);
            if (row && table && innoDb && createIndex >= 0) {
                spreadSetup = spreadSetup();
                held = null;
            } else if (row) {
                release();
            } else {
                hold(line);
                if (heldBytes > MAX_HELD) {
                    release();
                }
                return true;
            }
        }
        if (spreadSetup == null) {
            owner.append(line);
            count(line);
            return true;
        }
        if (!afterRows) {
            if (statementTarget != null || !delimited && ParallelLoad.startsWith(line, INSERT)) {
                SessionWriter w = statementTarget != null ? statementTarget : ParallelLoad.leastLoaded(writers);
                if (prepared.add(w)) {
                    w.append(spreadSetup);
                }
                w.append(line);
                count(line);
                statementTarget = ParallelLoad.endsStatement(line) ? null : w;
                return true;
            }
            afterRows = true;
        }
        // an idle line is dropped (true: taken); anything else runs after the rows (false)
        return !delimited && idle(line);
    }

    /** A line after the rows that has nothing to run once they are in: a comment, a blank line, the end of the dump's lock. */
    private static boolean idle(byte[] line) {
        String s = new String(line, 0, Math.min(line.length, 80), StandardCharsets.ISO_8859_1).strip();
        return s.isEmpty() || s.startsWith("--") || s.equals("UNLOCK TABLES;")
                || s.startsWith("/*!40000 ALTER TABLE `") && s.endsWith("` ENABLE KEYS */;");
    }

    /** Whether the section ended inside its CREATE TABLE statement. */
    boolean insideCreate() {
        return create != null;
    }

    /** Sends what is still held and hands every session's pending lines over. */
    void end() throws IOException {
        if (held != null) {
            release();
        }
        for (SessionWriter w : writers) {
            w.flushPending();
        }
    }

    private void hold(byte[] line) {
        held.add(line);
        heldBytes += line.length;
    }

    /** Sends the held lines, unchanged, to the section's session: the section is not spread. */
    private void release() throws IOException {
        for (byte[] line : held) {
            owner.append(line);
        }
        held = null;
        if (createIndex < 0) {
            createIndex = Integer.MAX_VALUE;
        }
    }

    private byte[] spreadSetup() {
        ByteArray out = new ByteArray();
        for (int i = 0; i < held.size(); i++) {
            byte[] line = held.get(i);
            if (i == createIndex) {
                out.write("CREATE TABLE IF NOT EXISTS `".getBytes(StandardCharsets.US_ASCII));
                out.write(Arrays.copyOfRange(line, CREATE.length(), line.length));
            } else if (!ParallelLoad.startsWith(line, "DROP TABLE IF EXISTS `") && !ParallelLoad.startsWith(line, "LOCK TABLES `")) {
                out.write(line);
            }
        }
        return out.toArray();
    }

    private void count(byte[] line) {
        if (deferred != null) {
            deferred.bytes += line.length;
        }
    }

    /** Whether a CREATE TABLE statement's closing line names InnoDB. */
    private static boolean innoDb(String statement) {
        for (String l : statement.split("\n")) {
            if (l.startsWith(")")) {
                return l.contains("ENGINE=InnoDB");
            }
        }
        return false;
    }
}
