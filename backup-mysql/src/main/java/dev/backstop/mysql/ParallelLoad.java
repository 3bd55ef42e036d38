package dev.backstop.mysql;

import dev.backstop.core.internal.concurrent.DaemonThreads;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

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
 * A table's rows load in one session; a dump of one large table gains nothing.
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
    private static final int CHUNK = 256 * 1024;

    /** Starts one client session reading SQL from its standard input. */
    interface Sessions {
        Process start() throws IOException;

        /** Describes how a session ended; throws when it failed. */
        void finish(Process p, String what) throws IOException;
    }

    private final Sessions sessions;
    private final int jobs;
    private final Path spoolDir;

    ParallelLoad(Sessions sessions, int jobs, Path spoolDir) {
        this.sessions = sessions;
        this.jobs = jobs;
        this.spoolDir = spoolDir;
    }

    /** Loads {@code in} to its end; returns the bytes read. */
    long run(InputStream in) throws IOException {
        List<Writer> writers = new ArrayList<>();
        Path tail = Files.createTempFile(spoolDir, "backstop-dump-tail-", ".sql");
        try {
            for (int i = 0; i < jobs; i++) {
                writers.add(new Writer(sessions.start(), "load session " + (i + 1)));
            }
            LineReader lines = new LineReader(in);
            ByteArray head = new ByteArray();
            Writer current = null;
            Deferred deferred = null;
            List<Deferred> allDeferred = new ArrayList<>();
            ByteArray create = null;
            boolean inTail = false;
            boolean delimited = false;
            long tailBytes = 0;
            try (OutputStream tailOut = Files.newOutputStream(tail)) {
                byte[] line;
                while ((line = lines.next()) != null) {
                    if (!inTail && !delimited && line.length > 3 && line[0] == '-' && line[1] == '-' && line[2] == ' ') {
                        String s = new String(line, 0, Math.min(line.length, 64), StandardCharsets.ISO_8859_1);
                        if (s.startsWith("-- Dumping events for database") || s.startsWith("-- Dumping routines for database")
                                || s.startsWith("-- Final view structure for view")) {
                            inTail = true;
                        } else if (s.startsWith("-- Table structure for table") || s.startsWith("-- Temporary table structure for view")
                                || s.startsWith("-- Sequence structure for")) {
                            if (current == null) {
                                for (Writer w : writers) {
                                    w.put(head.toArray());
                                }
                            } else {
                                current.flushPending();
                            }
                            current = leastLoaded(writers);
                            deferred = null;
                        }
                    }
                    if (!inTail && line.length >= 9 && startsWith(line, "DELIMITER ")) {
                        delimited = !startsWith(line, "DELIMITER ;\n") && !startsWith(line, "DELIMITER ;\r");
                    }
                    if (inTail) {
                        tailOut.write(line);
                        tailBytes += line.length;
                    } else if (current == null) {
                        head.write(line);
                    } else if (create != null || !delimited && startsWith(line, "CREATE TABLE `")) {
                        if (create == null) {
                            create = new ByteArray();
                        }
                        create.write(line);
                        if (endsStatement(line)) {
                            Deferral d = Deferral.of(new String(create.toArray(), StandardCharsets.UTF_8));
                            current.append(d.create().getBytes(StandardCharsets.UTF_8));
                            if (d.deferred() != null) {
                                deferred = d.deferred();
                                allDeferred.add(deferred);
                            }
                            create = null;
                        }
                    } else {
                        current.append(line);
                        if (deferred != null) {
                            deferred.bytes += line.length;
                        }
                    }
                }
            }
            if (current == null) {
                for (Writer w : writers) {
                    w.put(head.toArray());
                }
            } else {
                current.flushPending();
            }
            for (Writer w : writers) {
                w.finish();
            }
            for (Writer w : writers) {
                w.await();
            }
            if (create != null) {
                throw new IOException("the dump ends inside a CREATE TABLE statement");
            }
            buildDeferred(allDeferred, head.toArray());
            if (tailBytes > 0) {
                Process p = sessions.start();
                try (OutputStream out = p.getOutputStream()) {
                    out.write(head.toArray());
                    Files.copy(tail, out);
                } catch (IOException e) {
                    sessions.finish(p, "the session loading views, routines and events");
                    throw e;
                }
                sessions.finish(p, "the session loading views, routines and events");
            }
            return lines.count();
        } finally {
            for (Writer w : writers) {
                w.kill();
            }
            Files.deleteIfExists(tail);
        }
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
        List<Writer> ws = new ArrayList<>();
        try {
            for (int i = 0; i < scripts.size(); i++) {
                ws.add(new Writer(sessions.start(), what + " " + (i + 1)));
            }
            for (int i = 0; i < scripts.size(); i++) {
                ws.get(i).put(head);
                ws.get(i).put(scripts.get(i).toString().getBytes(StandardCharsets.UTF_8));
                ws.get(i).finish();
            }
            for (Writer w : ws) {
                w.await();
            }
        } finally {
            for (Writer w : ws) {
                w.kill();
            }
        }
    }

    private static boolean endsStatement(byte[] line) {
        int end = line.length;
        while (end > 0 && (line[end - 1] == '\n' || line[end - 1] == '\r' || line[end - 1] == ' ')) {
            end--;
        }
        return end > 0 && line[end - 1] == ';';
    }

    /** One table's indexes and foreign keys taken out of its CREATE TABLE, and the size of its section. */
    static final class Deferred {
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

    private static boolean startsWith(byte[] line, String prefix) {
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

    private static Writer leastLoaded(List<Writer> writers) throws IOException {
        Writer best = null;
        for (Writer w : writers) {
            w.checkFailure();
            if (best == null || w.queued.get() < best.queued.get()) {
                best = w;
            }
        }
        return best;
    }

    /** Feeds one session from a bounded queue on a thread of its own. */
    private final class Writer {
        private static final byte[] END = new byte[0];
        private final Process process;
        private final String name;
        private final BlockingQueue<byte[]> queue = new ArrayBlockingQueue<>(16);
        private final AtomicLong queued = new AtomicLong();
        private final ByteArray pending = new ByteArray();
        private final Thread thread;
        private volatile IOException failure;

        Writer(Process process, String name) {
            this.process = process;
            this.name = name;
            this.thread = DaemonThreads.named("backstop-mariadb-" + name.replace(' ', '-')).start(this::drain);
        }

        private void drain() {
            try (OutputStream out = process.getOutputStream()) {
                while (true) {
                    byte[] b = queue.take();
                    if (b == END) {
                        return;
                    }
                    out.write(b);
                    queued.addAndGet(-b.length);
                }
            } catch (IOException e) {
                failure = e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failure = new IOException(name + " interrupted", e);
            }
        }

        void append(byte[] line) throws IOException {
            pending.write(line);
            if (pending.size() >= CHUNK) {
                flushPending();
            }
        }

        void flushPending() throws IOException {
            if (pending.size() > 0) {
                put(pending.toArray());
                pending.reset();
            }
        }

        void put(byte[] b) throws IOException {
            queued.addAndGet(b.length);
            try {
                while (!queue.offer(b, 100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
                    checkFailure();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while loading", e);
            }
            checkFailure();
        }

        void checkFailure() throws IOException {
            if (failure != null || !thread.isAlive() && !process.isAlive() && process.exitValue() != 0) {
                sessions.finish(process, name);
                throw new IOException(name + " stopped reading", failure);
            }
        }

        void finish() throws IOException {
            put(END);
        }

        void await() throws IOException {
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while loading", e);
            }
            sessions.finish(process, name);
            if (failure != null) {
                throw new IOException(name + " stopped reading", failure);
            }
        }

        void kill() {
            thread.interrupt();
            if (process.isAlive()) {
                process.destroyForcibly();
            }
        }
    }

    /** A growable byte buffer that hands out its content without a second copy when full. */
    private static final class ByteArray {
        private byte[] buf = new byte[8192];
        private int size;

        void write(byte[] b) {
            if (size + b.length > buf.length) {
                buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + b.length));
            }
            System.arraycopy(b, 0, buf, size, b.length);
            size += b.length;
        }

        int size() {
            return size;
        }

        byte[] toArray() {
            return Arrays.copyOf(buf, size);
        }

        void reset() {
            size = 0;
            if (buf.length > 4 * CHUNK) {
                buf = new byte[8192];
            }
        }
    }

    /** Splits a stream into lines, each with its line end. */
    private static final class LineReader {
        private final InputStream in;
        private final byte[] buf = new byte[CHUNK];
        private int pos;
        private int limit;
        private long count;

        LineReader(InputStream in) {
            this.in = in;
        }

        long count() {
            return count;
        }

        byte[] next() throws IOException {
            ByteArray line = null;
            while (true) {
                if (pos == limit) {
                    int n = in.read(buf, 0, buf.length);
                    if (n < 0) {
                        return line == null ? null : line.toArray();
                    }
                    count += n;
                    pos = 0;
                    limit = n;
                }
                int start = pos;
                while (pos < limit && buf[pos] != '\n') {
                    pos++;
                }
                boolean end = pos < limit;
                if (end) {
                    pos++;
                }
                if (line == null && end) {
                    return Arrays.copyOfRange(buf, start, pos);
                }
                if (line == null) {
                    line = new ByteArray();
                }
                line.write(Arrays.copyOfRange(buf, start, pos));
                if (end) {
                    return line.toArray();
                }
            }
        }
    }
}
