package dev.backstop.mysql;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadFactory;

/**
 * Loads a single-database {@code mariadb-dump} stream through several client sessions at once,
 * table by table. The stream is cut at the dump's own section comments, recognised only at the
 * start of a line and outside {@code DELIMITER ;;} blocks (so no trigger body can fake one):
 * <ul>
 *   <li>the head (session settings: character set, time zone, foreign-key and unique checks off,
 *   SQL mode) goes to every session first;</li>
 *   <li>each table's section ({@code -- Table structure for table}, {@code -- Temporary table
 *   structure for view}, {@code -- Sequence structure for}: its CREATE, its rows, its triggers)
 *   goes whole to the session with the least data queued;</li>
 *   <li>the tail (from {@code -- Dumping events}, {@code -- Dumping routines} or {@code -- Final
 *   view structure} on: views, routines, events, restored settings) is spooled to a file and runs
 *   after every table is loaded, in one more session.</li>
 * </ul>
 * The rows of an InnoDB table are spread over every session, each statement to the session with
 * the least data waiting, so that one large table, or a table that follows it, never leaves a
 * session idle: each session runs the table's {@code CREATE TABLE IF NOT EXISTS} before its first
 * row (the target is empty, so the dump's {@code DROP TABLE} and its {@code LOCK TABLES} go), and
 * what follows the rows in the section (its triggers) is spooled and runs once every row is in,
 * so that no trigger fires on a restored row. Other sections go whole to one session.
 *
 * <p>An InnoDB table's {@code CREATE TABLE} with a primary key (not partitioned, not
 * system-versioned) loses its secondary {@code KEY}/{@code UNIQUE KEY} definitions and its
 * {@code FOREIGN KEY} constraints: rows go into the primary key alone, and once every table is
 * loaded the indexes are built in one {@code ALTER TABLE} per table (tables spread over the
 * sessions, largest first), then the foreign keys are added in one more session with the
 * dump's own {@code FOREIGN_KEY_CHECKS=0}. Sorted index builds are cheaper than maintaining each
 * index row by row, and MariaDB orders a table's keys by kind and definition order either way,
 * so {@code SHOW CREATE TABLE} reads the same as after a plain load.
 *
 * <p><b>Threading.</b> One instance per load; {@link #run} reads on the calling thread and writes
 * to each session on a thread of its own.
 */
final class ParallelLoad {
    static final int CHUNK = 256 * 1024;

    /** Starts one client session reading SQL from its standard input. */
    interface Sessions {
        Process start() throws IOException;

        /** Describes how a session ended; throws when it failed. */
        void finish(Process p, String what) throws IOException;
    }

    private final Sessions sessions;
    private final int jobs;
    private final Path spoolDir;
    private final ThreadFactory threads;

    /** {@code threads} makes the thread that feeds each session; it must start none itself. */
    ParallelLoad(Sessions sessions, int jobs, Path spoolDir, ThreadFactory threads) {
        this.sessions = sessions;
        this.jobs = jobs;
        this.spoolDir = spoolDir;
        this.threads = threads;
    }

    /** Loads {@code in}, a dump of one database into an empty one, to its end; returns the bytes read. */
    long run(InputStream in) throws IOException {
        List<SessionWriter> writers = new ArrayList<>();
        Path tail = Files.createTempFile(spoolDir, "backstop-dump-tail-", ".sql");
        Path after = Files.createTempFile(spoolDir, "backstop-dump-after-", ".sql");
        try {
            for (int i = 0; i < jobs; i++) {
                writers.add(new SessionWriter(sessions, sessions.start(), "load session " + (i + 1), threads));
            }
            LineReader lines = new LineReader(in);
            ByteArray head = new ByteArray();
            TableSection section = null;
            List<Deferred> allDeferred = new ArrayList<>();
            boolean inTail = false;
            boolean delimited = false;
            long tailBytes = 0;
            long afterBytes = 0;
            try (OutputStream tailOut = Files.newOutputStream(tail); OutputStream afterOut = Files.newOutputStream(after)) {
                byte[] line;
                while ((line = lines.next()) != null) {
                    if (!inTail && !delimited && line.length > 3 && line[0] == '-' && line[1] == '-' && line[2] == ' ') {
                        String s = new String(line, 0, Math.min(line.length, 64), StandardCharsets.ISO_8859_1);
                        if (s.startsWith("-- Dumping events for database") || s.startsWith("-- Dumping routines for database")
                                || s.startsWith("-- Final view structure for view")) {
                            inTail = true;
                        } else if (s.startsWith("-- Table structure for table") || s.startsWith("-- Temporary table structure for view")
                                || s.startsWith("-- Sequence structure for")) {
                            if (section == null) {
                                for (SessionWriter w : writers) {
                                    w.put(head.toArray());
                                }
                            } else {
                                section.end();
                            }
                            section = new TableSection(writers, leastLoaded(writers), s.startsWith("-- Table structure for table"),
                                    allDeferred);
                        }
                    }
                    if (!inTail && line.length >= 9 && startsWith(line, "DELIMITER ")) {
                        delimited = !startsWith(line, "DELIMITER ;\n") && !startsWith(line, "DELIMITER ;\r");
                    }
                    if (inTail) {
                        tailOut.write(line);
                        tailBytes += line.length;
                    } else if (section == null) {
                        head.write(line);
                    } else if (!section.accept(line, delimited)) {
                        afterOut.write(line);
                        afterBytes += line.length;
                    }
                }
            }
            if (section == null) {
                for (SessionWriter w : writers) {
                    w.put(head.toArray());
                }
            } else {
                section.end();
            }
            for (SessionWriter w : writers) {
                w.finish();
            }
            for (SessionWriter w : writers) {
                w.await();
            }
            if (section != null && section.insideCreate()) {
                throw new IOException("the dump ends inside a CREATE TABLE statement");
            }
            if (afterBytes > 0) {
                runSpooled(after, head.toArray(), "the session creating triggers after the rows");
            }
            buildDeferred(allDeferred, head.toArray());
            if (tailBytes > 0) {
                runSpooled(tail, head.toArray(), "the session loading views, routines and events");
            }
            return lines.count();
        } finally {
            for (SessionWriter w : writers) {
                w.kill();
            }
            Files.deleteIfExists(tail);
            Files.deleteIfExists(after);
        }
    }

    /** Runs {@code head} and then the spooled {@code script} in one more session. */
    private void runSpooled(Path script, byte[] head, String what) throws IOException {
        Process p = sessions.start();
        try (OutputStream out = p.getOutputStream()) {
            out.write(head);
            Files.copy(script, out);
        } catch (IOException e) {
            sessions.finish(p, what);
            throw e;
        }
        sessions.finish(p, what);
    }

    /** Builds the deferred indexes (tables spread over the sessions, largest first), then the foreign keys. */
    private void buildDeferred(List<Deferred> tables, byte[] head) throws IOException {
        List<Deferred> withKeys = new ArrayList<>();
        StringBuilder foreignKeys = new StringBuilder();
        for (Deferred d : tables) {
            if (!d.keys.isEmpty()) {
                withKeys.add(d);
            }
            if (!d.foreignKeys.isEmpty()) {
                foreignKeys.append(d.alter(d.foreignKeys));
            }
        }
        withKeys.sort((a, b) -> Long.compare(b.bytes, a.bytes));
        int n = Math.min(jobs, withKeys.size());
        List<StringBuilder> scripts = new ArrayList<>();
        long[] load = new long[n];
        for (int i = 0; i < n; i++) {
            scripts.add(new StringBuilder());
        }
        for (Deferred d : withKeys) {
            int best = 0;
            for (int i = 1; i < n; i++) {
                if (load[i] < load[best]) {
                    best = i;
                }
            }
            scripts.get(best).append(d.alter(d.keys));
            load[best] += d.bytes + 1;
        }
        runAll(scripts, head, "index session");
        if (foreignKeys.length() > 0) {
            runAll(List.of(foreignKeys), head, "foreign key session");
        }
    }

    private void runAll(List<StringBuilder> scripts, byte[] head, String what) throws IOException {
        List<SessionWriter> ws = new ArrayList<>();
        try {
            for (int i = 0; i < scripts.size(); i++) {
                ws.add(new SessionWriter(sessions, sessions.start(), what + " " + (i + 1), threads));
            }
            for (int i = 0; i < scripts.size(); i++) {
                ws.get(i).put(head);
                ws.get(i).put(scripts.get(i).toString().getBytes(StandardCharsets.UTF_8));
                ws.get(i).finish();
            }
            for (SessionWriter w : ws) {
                w.await();
            }
        } finally {
            for (SessionWriter w : ws) {
                w.kill();
            }
        }
    }

    static boolean endsStatement(byte[] line) {
        int end = line.length;
        while (end > 0 && (line[end - 1] == '\n' || line[end - 1] == '\r' || line[end - 1] == ' ')) {
            end--;
        }
        return end > 0 && line[end - 1] == ';';
    }

    static boolean startsWith(byte[] line, String prefix) {
        if (line.length < prefix.length()) {
            return false;
        }
        for (int i = 0; i < prefix.length(); i++) {
            if (line[i] != prefix.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** The session with the least data waiting; of equals, the one given the least data so far. */
    static SessionWriter leastLoaded(List<SessionWriter> writers) throws IOException {
        SessionWriter best = null;
        for (SessionWriter w : writers) {
            w.checkFailure();
            if (best == null || w.queued() < best.queued() || w.queued() == best.queued() && w.given() < best.given()) {
                best = w;
            }
        }
        return best;
    }
}
