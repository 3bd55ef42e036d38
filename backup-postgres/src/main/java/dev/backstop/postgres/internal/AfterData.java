package dev.backstop.postgres.internal;

import dev.backstop.core.internal.concurrent.LogContext;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Restores what follows a custom dump's table data as early as its dependencies allow, as
 * {@code pg_restore -j} schedules it, while the data of later tables is still loading:
 * <ul>
 *   <li>what concerns one table alone (its indexes, primary key, triggers, grants) starts as
 *   soon as that table's data is loaded, as one unit per table;
 *   <li>what waits for several tables or for other such work (a foreign key waits for both its
 *   tables' data and for the referenced key; a comment on an index for the index) starts once
 *   all of it is done;
 *   <li>the rest (sequence values, anything on a partitioned table, whose partitions must all be
 *   in, anything whose dependencies this cannot see through) follows in one parallel run once
 *   every early unit is done.
 * </ul>
 * Early work runs on half the jobs while data loads (the other half, the COPY sessions, keep
 * loading) and on all of them after. Work that would wait for another's table lock, or make it
 * wait, does not start beside it, as {@code pg_restore} keeps such work apart: two foreign keys
 * between the same tables would otherwise wait for each other, or deadlock. Foreign keys are the
 * exception that makes this faster than {@code pg_restore}: each is added {@code NOT VALID} and
 * then validated (see {@code splitForeignKey}), so keys that only share the referenced table are
 * checked side by side. Without early work, loading data and building indexes would take turns;
 * with foreign keys left to the end, one job would idle while the last table's indexes are built.
 *
 * <p>Entries filed in no section (privileges, comments) belong to the section before them, as
 * pg_restore files them. Work is handed to a {@link Runner}: lists of entries for pg_restore,
 * single statements (the two steps of a foreign key) for a session of its own.
 * {@link #loaded} never blocks; {@link #finish} is called once, after the last table's data.
 */
public final class AfterData implements AutoCloseable {
    /** Restores {@code entries} (in table-of-contents order) with {@code jobs} parallel jobs. */
    public interface Runner {
        void restore(List<CustomDump.Entry> entries, int jobs) throws IOException;

        /** Runs one SQL statement in a session set up as pg_restore sets up its own. */
        void execute(String sql) throws IOException;
    }

    /** A foreign key as pg_dump writes it for a table that is not partitioned. */
    private static final String IDENT = "(?:\"(?:[^\"]|\"\")*\"|[^\\s.\";]+)";
    private static final Pattern FOREIGN_KEY = Pattern.compile("ALTER TABLE ONLY (" + IDENT + "(?:\\." + IDENT + ")?)\\s+"
            + "ADD CONSTRAINT (" + IDENT + ") FOREIGN KEY .*;\\s*", Pattern.DOTALL);

    /**
     * Early work restored by one runner call: entries in table-of-contents order, the table data
     * and entries it waits for, and the tables (by their table data entry) it locks.
     */
    private static final class Unit {
        final List<CustomDump.Entry> entries = new ArrayList<>();
        final Set<Integer> waitsFor = new HashSet<>();
        /** Tables it locks against anything else on them. */
        final Set<Integer> owns = new HashSet<>();
        /** Tables it only reads, next to other readers and to foreign keys validated on them. */
        final Set<Integer> reads = new HashSet<>();
        final boolean perTable;
        /** For a foreign key added unchecked, then validated: the two statements; null otherwise. */
        String addUnchecked;
        String validate;
        boolean started;

        Unit(boolean perTable) {
            this.perTable = perTable;
        }
    }

    /** Small units per free lane from which they are restored in batches, one restore for several. */
    private static final int BATCH_FROM = 4;
    private final Runner runner;
    private final int jobs;
    private final List<CustomDump.Entry> after = new ArrayList<>();
    /** Each entry's place in the table of contents. */
    private final Map<Integer, Integer> position = new HashMap<>();
    private final Set<Integer> tableData = new HashSet<>();
    /** Early units, in the table-of-contents order of their first entry. */
    private final List<Unit> units = new ArrayList<>();
    private final ExecutorService executor;
    private final Object lock = new Object();
    private final Object addLock = new Object();
    /** Loaded table data and restored entries; guarded by {@link #lock}, as are the fields below. */
    private final Set<Integer> done = new HashSet<>();
    private final List<List<Unit>> running = new ArrayList<>();
    private int lanes;
    private IOException failure;
    private boolean closed;

    /**
     * Plans the work from the table of contents; {@code jobs} bounds the parallelism, on threads
     * made by {@code threads}.
     */
    public AfterData(CustomDump toc, Runner runner, int jobs, RoleThreads threads) {
        this(toc.entries(), runner, jobs, threads);
    }

    AfterData(List<CustomDump.Entry> toc, Runner runner, int jobs, RoleThreads threads) {
        this.runner = runner;
        this.jobs = Math.max(1, jobs);
        this.lanes = Math.max(1, this.jobs / 2);
        Set<Integer> preData = new HashSet<>();
        Map<Integer, Integer> tableDataOfTable = new HashMap<>();
        Map<Integer, CustomDump.Entry> postData = new LinkedHashMap<>();
        CustomDump.Section current = CustomDump.Section.PRE_DATA;
        for (CustomDump.Entry e : toc) {
            position.put(e.dumpId(), position.size());
            if (e.section() != CustomDump.Section.NONE) {
                current = e.section();
            }
            if (current == CustomDump.Section.PRE_DATA) {
                preData.add(e.dumpId());
            } else if ("TABLE DATA".equals(e.desc())) {
                e.dependencies().forEach(table -> tableDataOfTable.put(table, e.dumpId()));
                tableData.add(e.dumpId());
            } else {
                after.add(e);
                if (current == CustomDump.Section.POST_DATA) {
                    postData.put(e.dumpId(), e);
                }
            }
        }
        // what each post-data entry waits for: table data (for the tables it names) and other entries
        Map<Integer, Set<Integer>> waits = new HashMap<>();
        for (CustomDump.Entry e : postData.values()) {
            Set<Integer> w = new HashSet<>();
            for (int d : e.dependencies()) {
                int mapped = tableDataOfTable.getOrDefault(d, d);
                if (!preData.contains(mapped)) {
                    w.add(mapped);
                }
            }
            waits.put(e.dumpId(), w);
        }
        // early only if everything it waits for is table data or early itself, and it waits for something:
        // an entry on a partitioned table names no table data, yet needs every partition's
        Set<Integer> early = new HashSet<>();
        waits.forEach((id, w) -> {
            if (!w.isEmpty()) {
                early.add(id);
            }
        });
        boolean changed = true;
        while (changed) {
            changed = early.removeIf(id -> !waits.get(id).stream().allMatch(d -> tableData.contains(d) || early.contains(d)));
        }
        Map<Integer, Unit> perTable = new HashMap<>();
        for (CustomDump.Entry e : postData.values()) {
            if (!early.contains(e.dumpId())) {
                continue;
            }
            Set<Integer> w = waits.get(e.dumpId());
            Unit u;
            if (w.size() == 1 && tableData.contains(w.iterator().next())) {
                int table = w.iterator().next();
                u = perTable.get(table);
                if (u == null) {
                    u = new Unit(true);
                    perTable.put(table, u);
                    units.add(u);
                }
            } else {
                u = new Unit(false);
                units.add(u);
            }
            u.entries.add(e);
            u.waitsFor.addAll(w);
            w.stream().filter(tableData::contains).forEach(u.owns::add);
            if (!u.perTable) {
                splitForeignKey(u, e, w, waits);
            }
        }
        this.executor = Executors.newFixedThreadPool(this.jobs, threads.numbered("backstop-after-data"));
    }

    /**
     * Makes a foreign key two steps when pg_dump's statement allows: added {@code NOT VALID} (a
     * catalog change that holds its locks for an instant) and then validated, which scans both
     * tables while locking only the referencing one against writers and the referenced one
     * against nothing that runs here. So foreign keys to one table (every table's key to a
     * customer table, say) are checked at once, where {@code pg_restore} checks them in turn.
     * A key already {@code NOT VALID} in the source, or a statement of another shape, is restored
     * as it was written.
     */
    private static void splitForeignKey(Unit u, CustomDump.Entry e, Set<Integer> w, Map<Integer, Set<Integer>> waits) {
        if (!"FK CONSTRAINT".equals(e.desc()) || e.defn() == null || e.defn().contains("NOT VALID")) {
            return;
        }
        Matcher m = FOREIGN_KEY.matcher(e.defn().strip());
        // the referenced table is the one whose key the foreign key waits for
        Set<Integer> referenced = new HashSet<>();
        for (int d : w) {
            Set<Integer> keyWaits = waits.get(d);
            if (keyWaits != null) {
                referenced.addAll(keyWaits);
            }
        }
        Set<Integer> referencing = new HashSet<>(u.owns);
        referencing.removeAll(referenced);
        if (!m.matches() || referenced.size() != 1 || referencing.size() > 1) {
            return;
        }
        String defn = e.defn().strip();
        u.addUnchecked = defn.substring(0, defn.length() - 1) + " NOT VALID";
        u.validate = "ALTER TABLE ONLY " + m.group(1) + " VALIDATE CONSTRAINT " + m.group(2);
        u.reads.addAll(referenced);
        u.owns.clear();
        // a key to its own table locks that table as the referencing one
        u.owns.addAll(referencing.isEmpty() ? referenced : referencing);
    }

    /** Call when the table data entry {@code tableDataId} is loaded and committed; never blocks. */
    public void loaded(int tableDataId) {
        synchronized (lock) {
            done.add(tableDataId);
            schedule();
        }
    }

    /**
     * Call once all table data is loaded: runs the early work on every job, waits for it, then
     * restores everything not yet restored in one run. Throws the first failure, once the work
     * already running has stopped.
     */
    public void finish() throws IOException {
        List<CustomDump.Entry> rest;
        synchronized (lock) {
            // the stream has ended: table data that never came (nothing to load) is as loaded as it gets
            done.addAll(tableData);
            lanes = jobs;
            schedule();
            try {
                while (!running.isEmpty()) {
                    lock.wait();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while restoring indexes and constraints");
            }
            if (failure != null) {
                throw failure;
            }
            // units that never became startable (a dependency this plan missed) go with the rest
            rest = after.stream().filter(e -> !done.contains(e.dumpId())).toList();
        }
        if (!rest.isEmpty()) {
            runner.restore(rest, jobs);
        }
    }

    /** Starts what may start: free lanes, dependencies done, no common table with running work. */
    private void schedule() {
        if (failure != null || closed) {
            return;
        }
        List<Unit> ready = new ArrayList<>();
        for (Unit u : units) {
            if (!u.started && done.containsAll(u.waitsFor) && !locksRunningTable(u)) {
                ready.add(u);
            }
        }
        // per-table units one per lane; the small ones (foreign keys, comments) shared out among the lanes
        // left, so that a schema of hundreds of foreign keys does not start hundreds of restores
        while (running.size() < lanes && !ready.isEmpty()) {
            Unit first = ready.remove(0);
            if (locksRunningTable(first)) {
                continue;
            }
            List<Unit> batch = new ArrayList<>(List.of(first));
            long small = ready.stream().filter(AfterData::batchable).count() + 1;
            int free = lanes - running.size();
            // a batch runs its units one after the other: only worth it when there are more than a few per lane
            if (batchable(first) && small > BATCH_FROM * free) {
                long share = (small + free - 1) / free - 1;
                for (var it = ready.iterator(); it.hasNext() && share > 0; ) {
                    Unit u = it.next();
                    if (batchable(u) && !locksRunningTable(u)) {
                        batch.add(u);
                        it.remove();
                        share--;
                    }
                }
            }
            batch.forEach(u -> u.started = true);
            running.add(batch);
            executor.execute(LogContext.propagate(() -> run(batch)));
        }
    }

    /** Restored by pg_restore with others in one run; a foreign key in two steps runs alone. */
    private static boolean batchable(Unit u) {
        return !u.perTable && u.validate == null;
    }

    /**
     * Whether {@code u} would wait for a lock of running work, or make it wait: what it locks is
     * locked there, or what it reads is locked there, or (for work pg_restore runs, whose locks
     * this does not know) what it locks is read there. A foreign key validated next to another
     * that reads its table waits for nothing: validating takes SHARE UPDATE EXCLUSIVE on the
     * referencing table and ROW SHARE on the referenced one, and adding it unchecked, an instant,
     * happens one key at a time.
     */
    private boolean locksRunningTable(Unit u) {
        for (List<Unit> batch : running) {
            for (Unit r : batch) {
                if (!Collections.disjoint(r.owns, u.owns) || !Collections.disjoint(r.owns, u.reads)
                        || u.validate == null && !Collections.disjoint(r.reads, u.owns)) {
                    return true;
                }
            }
        }
        return false;
    }

    private void run(List<Unit> batch) {
        if (batch.size() == 1 && batch.get(0).validate != null) {
            runForeignKey(batch);
            return;
        }
        List<CustomDump.Entry> entries = new ArrayList<>();
        batch.forEach(u -> entries.addAll(u.entries));
        // table-of-contents order, so that an entry follows what it depends on within the batch
        entries.sort(java.util.Comparator.comparingInt(e -> position.get(e.dumpId())));
        IOException error = null;
        try {
            runner.restore(entries, 1);
        } catch (IOException e) {
            error = e;
        } catch (RuntimeException e) {
            error = new IOException(e.getMessage(), e);
        }
        ended(batch, entries, error);
    }

    private void runForeignKey(List<Unit> batch) {
        Unit u = batch.get(0);
        IOException error = null;
        try {
            // one key added at a time: two keys between the same tables, added at once, would each hold one
            // table and wait for the other
            synchronized (addLock) {
                runner.execute(u.addUnchecked);
            }
            runner.execute(u.validate);
        } catch (IOException e) {
            error = e;
        } catch (RuntimeException e) {
            error = new IOException(e.getMessage(), e);
        }
        ended(batch, u.entries, error);
    }

    private void ended(List<Unit> batch, List<CustomDump.Entry> entries, IOException error) {
        synchronized (lock) {
            running.remove(batch);
            if (error == null) {
                entries.forEach(e -> done.add(e.dumpId()));
            } else if (failure == null) {
                failure = error;
            }
            schedule();
            lock.notifyAll();
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
        }
        executor.shutdownNow();
    }
}
