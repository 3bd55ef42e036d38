package dev.backstop.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.postgres.internal.CustomDump.Entry;
import dev.backstop.postgres.internal.CustomDump.Section;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * The scheduling of what follows table data, against a runner that records what it is given and
 * checks, at every call, what pg_restore would need: dependencies restored first, no two calls
 * locking a common table, no more calls at once than jobs.
 */
class AfterDataTest {
    /** A table of contents built by hand, with dump ids as pg_dump numbers them: tables first. */
    private static final class Toc {
        final List<Entry> entries = new ArrayList<>();
        /** The tables (by TABLE id) each entry locks. */
        final Map<Integer, Set<Integer>> locks = new HashMap<>();
        final Map<Integer, Integer> dataOf = new HashMap<>();
        private int next = 1;

        int table(String name) {
            return add("TABLE", name, Section.PRE_DATA, List.of(), Set.of());
        }

        int data(int table) {
            int id = add("TABLE DATA", "data " + table, Section.DATA, List.of(table), Set.of());
            dataOf.put(table, id);
            return id;
        }

        int add(String desc, String tag, Section section, List<Integer> deps, Set<Integer> lockedTables) {
            return add(desc, tag, section, "", deps, lockedTables);
        }

        int add(String desc, String tag, Section section, String defn, List<Integer> deps, Set<Integer> lockedTables) {
            int id = next++;
            entries.add(new Entry(id, desc, "app", tag, section, defn, "TABLE DATA".equals(desc) ? "COPY x FROM stdin;\n" : null,
                    "TABLE DATA".equals(desc), deps));
            locks.put(id, lockedTables);
            return id;
        }

        /** A foreign key from {@code from} to {@code to}, whose key is {@code key}, as pg_dump writes it. */
        int foreignKey(int from, int to, int key, String attributes) {
            String name = "\"fk " + next + "\"";
            int id = add("FK CONSTRAINT", name, Section.POST_DATA, "ALTER TABLE ONLY app.t" + from + "\n    ADD CONSTRAINT " + name
                    + " FOREIGN KEY (x) REFERENCES app.t" + to + "(id)" + attributes + ";\n", List.of(from, to, key),
                    Set.copyOf(List.of(from, to)));
            fkTables.put(id, List.of(from, to));
            return id;
        }

        final Map<Integer, List<Integer>> fkTables = new HashMap<>();
    }

    /**
     * Table locks as PostgreSQL takes them: pg_restore's work counted as exclusive on its tables,
     * a validation as SHARE UPDATE EXCLUSIVE on the referencing table and ROW SHARE on the other.
     */
    private record Locks(Set<Integer> exclusive, Set<Integer> shareUpdate, Set<Integer> rowShare) {
        boolean conflicts(Locks o) {
            return !Collections.disjoint(exclusive, o.exclusive) || !Collections.disjoint(exclusive, o.shareUpdate)
                    || !Collections.disjoint(exclusive, o.rowShare) || !Collections.disjoint(o.exclusive, shareUpdate)
                    || !Collections.disjoint(o.exclusive, rowShare) || !Collections.disjoint(shareUpdate, o.shareUpdate);
        }
    }

    /** Records runner calls and checks each against the table of contents as it starts. */
    private static final class Recorder implements AfterData.Runner {
        final Toc toc;
        final int jobs;
        final Set<Integer> restored = Collections.synchronizedSet(new HashSet<>());
        final Set<Integer> loaded = Collections.synchronizedSet(new HashSet<>());
        final List<List<Integer>> calls = Collections.synchronizedList(new ArrayList<>());
        final List<String> violations = Collections.synchronizedList(new ArrayList<>());
        final List<Locks> running = new ArrayList<>();
        final List<String> executed = Collections.synchronizedList(new ArrayList<>());
        final Set<Integer> added = Collections.synchronizedSet(new HashSet<>());
        /** Waited on by every validation, when set: proves validations run at once. */
        java.util.concurrent.CyclicBarrier together;
        final Random random;
        Integer failOn;

        Recorder(Toc toc, int jobs, long seed) {
            this.toc = toc;
            this.jobs = jobs;
            this.random = new Random(seed);
        }

        @Override
        public void restore(List<Entry> entries, int n) throws IOException {
            Set<Integer> tables = new HashSet<>();
            Set<Integer> batch = new HashSet<>();
            Locks locks;
            entries.forEach(e -> batch.add(e.dumpId()));
            synchronized (this) {
                for (Entry e : entries) {
                    for (int d : e.dependencies()) {
                        Integer data = toc.dataOf.get(d);
                        boolean ok = data != null ? loaded.contains(data) : isPreData(d) || restored.contains(d)
                                || batch.contains(d) && n > 1;
                        if (!ok && !(batch.contains(d) && entries.indexOf(byId(d)) < entries.indexOf(e))) {
                            violations.add(e.tag() + " started before its dependency " + d);
                        }
                    }
                    tables.addAll(toc.locks.get(e.dumpId()));
                }
                locks = new Locks(tables, Set.of(), Set.of());
                // the final run (n > 1) runs alone, after every early unit
                start(locks, n == 1, entries + " locks a table of a restore still running");
                calls.add(entries.stream().map(Entry::dumpId).toList());
            }
            try {
                // work of a random length (seeded), not synchronisation: it varies the interleavings
                // whose ordering and lock rules this test checks
                Thread.sleep(random.nextInt(3));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            synchronized (this) {
                running.remove(locks);
                if (failOn != null && batch.contains(failOn)) {
                    throw new IOException("pg_restore: error: could not create " + failOn);
                }
                for (Entry e : entries) {
                    if (!restored.add(e.dumpId())) {
                        violations.add(e.tag() + " restored twice");
                    }
                }
                notifyAll();
            }
        }

        @Override
        public void execute(String sql) throws IOException {
            Entry fk = toc.entries.stream().filter(e -> e.defn().contains("ADD CONSTRAINT " + nameIn(sql) + " ")).findFirst()
                    .orElseThrow(() -> new AssertionError("no foreign key for " + sql));
            List<Integer> fromTo = toc.fkTables.get(fk.dumpId());
            executed.add(sql);
            if (sql.endsWith(" NOT VALID")) {
                synchronized (this) {
                    if (!sql.equals(fk.defn().strip().replaceAll(";$", "") + " NOT VALID")) {
                        violations.add("added as " + sql);
                    }
                    for (int d : fk.dependencies()) {
                        Integer data = toc.dataOf.get(d);
                        if (data != null ? !loaded.contains(data) : !isPreData(d) && !restored.contains(d)) {
                            violations.add(fk.tag() + " added before its dependency " + d);
                        }
                    }
                    added.add(fk.dumpId());
                }
                return;
            }
            Locks locks = new Locks(Set.of(), Set.of(fromTo.get(0)), Set.of(fromTo.get(1)));
            synchronized (this) {
                if (!sql.equals("ALTER TABLE ONLY app.t" + fromTo.get(0) + " VALIDATE CONSTRAINT " + nameIn(sql))) {
                    violations.add("validated as " + sql);
                }
                if (!added.contains(fk.dumpId())) {
                    violations.add(fk.tag() + " validated before it was added");
                }
                start(locks, true, sql + " waits for a lock of work still running");
            }
            try {
                if (together != null) {
                    together.await(10, TimeUnit.SECONDS);
                }
                Thread.sleep(random.nextInt(3)); // work of a random length (seeded), as in restore(...)
            } catch (Exception e) {
                violations.add(sql + " ran alone: " + e);
            }
            synchronized (this) {
                running.remove(locks);
                if (!restored.add(fk.dumpId())) {
                    violations.add(fk.tag() + " restored twice");
                }
                notifyAll();
            }
        }

        /** Records work starting with {@code locks}; call holding this recorder's monitor. */
        private void start(Locks locks, boolean checkLocks, String conflict) {
            if (checkLocks && running.stream().anyMatch(other -> other.conflicts(locks))) {
                violations.add(conflict);
            }
            running.add(locks);
            if (running.size() > jobs) {
                violations.add(running.size() + " restores at once with " + jobs + " jobs");
            }
        }

        private static String nameIn(String sql) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\"fk \\d+\")").matcher(sql);
            return m.find() ? m.group(1) : "?";
        }

        private boolean isPreData(int id) {
            return byId(id).section() == Section.PRE_DATA;
        }

        private Entry byId(int id) {
            return toc.entries.stream().filter(e -> e.dumpId() == id).findFirst().orElseThrow();
        }

        void load(AfterData after, int dataId) {
            loaded.add(dataId);
            after.loaded(dataId);
        }
    }

    @Test
    void aForeignKey_isAddedUncheckedThenValidated_onceBothTablesAreLoadedAndTheKeyIsBuilt_whileLaterTablesStillLoad()
            throws Exception {
        Toc toc = new Toc();
        int customer = toc.table("customer");
        int orders = toc.table("orders");
        int audit = toc.table("audit");
        int customerData = toc.data(customer);
        int ordersData = toc.data(orders);
        int auditData = toc.data(audit);
        int pkey = toc.add("CONSTRAINT", "customer_pkey", Section.POST_DATA, List.of(customer), Set.of(customer));
        int fk = toc.foreignKey(orders, customer, pkey, " ON DELETE CASCADE");
        Recorder r = new Recorder(toc, 2, 1);
        try (AfterData after = new AfterData(toc.entries, r, 2, RoleThreads.of(null))) {
            r.load(after, customerData);
            r.load(after, ordersData);
            // the audit table is still loading: the foreign key does not wait for it
            awaitRestored(r, fk);
            r.load(after, auditData);
            after.finish();
        }
        assertThat(r.violations).isEmpty();
        assertThat(r.calls).containsExactly(List.of(pkey));
        assertThat(r.executed).containsExactly(
                "ALTER TABLE ONLY app.t" + orders + "\n    ADD CONSTRAINT \"fk " + fk + "\" FOREIGN KEY (x) REFERENCES app.t" + customer
                        + "(id) ON DELETE CASCADE NOT VALID",
                "ALTER TABLE ONLY app.t" + orders + " VALIDATE CONSTRAINT \"fk " + fk + "\"");
    }

    @Test
    void foreignKeysToOneTable_areValidatedAtOnce() throws Exception {
        Toc toc = new Toc();
        int customer = toc.table("customer");
        int orders = toc.table("orders");
        int event = toc.table("event");
        List<Integer> data = List.of(toc.data(customer), toc.data(orders), toc.data(event));
        int pkey = toc.add("CONSTRAINT", "customer_pkey", Section.POST_DATA, List.of(customer), Set.of(customer));
        int fk1 = toc.foreignKey(orders, customer, pkey, "");
        int fk2 = toc.foreignKey(event, customer, pkey, " DEFERRABLE INITIALLY DEFERRED");
        Recorder r = new Recorder(toc, 2, 5);
        // each validation waits until the other runs too: one after the other, both would time out
        r.together = new java.util.concurrent.CyclicBarrier(2);
        try (AfterData after = new AfterData(toc.entries, r, 2, RoleThreads.of(null))) {
            data.forEach(d -> r.load(after, d));
            after.finish();
        }
        assertThat(r.violations).isEmpty();
        assertThat(r.restored).contains(fk1, fk2);
    }

    @Test
    void aForeignKeyBetweenQuotedNames_isValidatedUnderItsOwnNames() throws Exception {
        Toc toc = new Toc();
        int codes = toc.table("Code List");
        int mixed = toc.table("Mixed Case");
        int codesData = toc.data(codes);
        int mixedData = toc.data(mixed);
        int unique = toc.add("CONSTRAINT", "Code List_kind_code_key", Section.POST_DATA, List.of(codes), Set.of(codes));
        String add = "ALTER TABLE ONLY app.\"Mixed Case\"\n    ADD CONSTRAINT \"Coded \"\"by\"\" list\" FOREIGN KEY (kind, \"Key\")"
                + " REFERENCES \"Other Schema\".\"Code List\"(kind, code) ON UPDATE CASCADE ON DELETE SET NULL";
        toc.add("FK CONSTRAINT", "Mixed Case Coded \"by\" list", Section.POST_DATA, add + ";\n", List.of(mixed, codes, unique),
                Set.of(mixed, codes));
        List<String> executed = Collections.synchronizedList(new ArrayList<>());
        AfterData.Runner runner = new AfterData.Runner() {
            @Override
            public void restore(List<Entry> entries, int jobs) {
            }

            @Override
            public void execute(String sql) {
                executed.add(sql);
            }
        };
        try (AfterData after = new AfterData(toc.entries, runner, 2, RoleThreads.of(null))) {
            after.loaded(codesData);
            after.loaded(mixedData);
            after.finish();
        }
        assertThat(executed).containsExactly(add + " NOT VALID",
                "ALTER TABLE ONLY app.\"Mixed Case\" VALIDATE CONSTRAINT \"Coded \"\"by\"\" list\"");
    }

    @Test
    void aForeignKeyNotValidInTheSource_isRestoredAsWritten() throws Exception {
        TwoTables t = twoTablesWithAForeignKey(" NOT VALID");
        Recorder r = new Recorder(t.toc, 2, 6);
        try (AfterData after = new AfterData(t.toc.entries, r, 2, RoleThreads.of(null))) {
            r.load(after, t.dataA);
            r.load(after, t.dataB);
            after.finish();
        }
        assertThat(r.violations).isEmpty();
        assertThat(r.executed).isEmpty();
        assertThat(r.calls).containsExactly(List.of(t.pkey), List.of(t.fk));
    }

    /** Tables a and b, a's primary key and a foreign key from b to a with {@code attributes}. */
    private record TwoTables(Toc toc, int dataA, int dataB, int pkey, int fk) {
    }

    private static TwoTables twoTablesWithAForeignKey(String attributes) {
        Toc toc = new Toc();
        int a = toc.table("a");
        int b = toc.table("b");
        int da = toc.data(a);
        int db = toc.data(b);
        int pkey = toc.add("CONSTRAINT", "a_pkey", Section.POST_DATA, List.of(a), Set.of(a));
        return new TwoTables(toc, da, db, pkey, toc.foreignKey(b, a, pkey, attributes));
    }

    private static void awaitRestored(Recorder r, int id) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        synchronized (r) {
            // the recorder notifies under its monitor after every restore it records
            for (long left = deadline - System.nanoTime(); !r.restored.contains(id) && left > 0; left = deadline - System.nanoTime()) {
                TimeUnit.NANOSECONDS.timedWait(r, left);
            }
        }
        assertThat(r.restored).contains(id);
    }

    @Test
    void everythingOnOneTable_isRestoredInOneCall_asSoonAsItsDataIsIn() throws Exception {
        Toc toc = new Toc();
        int t = toc.table("event");
        int u = toc.table("later");
        int data = toc.data(t);
        int laterData = toc.data(u);
        int pkey = toc.add("CONSTRAINT", "event_pkey", Section.POST_DATA, List.of(t), Set.of(t));
        int index = toc.add("INDEX", "event_at", Section.POST_DATA, List.of(t), Set.of(t));
        int comment = toc.add("COMMENT", "INDEX event_at", Section.NONE, List.of(index), Set.of());
        Recorder r = new Recorder(toc, 2, 2);
        try (AfterData after = new AfterData(toc.entries, r, 2, RoleThreads.of(null))) {
            r.load(after, data);
            awaitRestored(r, comment);
            assertThat(r.restored).containsExactlyInAnyOrder(pkey, index, comment);
            r.load(after, laterData);
            after.finish();
        }
        assertThat(r.violations).isEmpty();
        assertThat(r.calls).containsExactly(List.of(pkey, index), List.of(comment));
    }

    @Test
    void anIndexOnAPartitionedTable_andSequenceValues_waitForTheFinalParallelRun() throws Exception {
        Toc toc = new Toc();
        int parent = toc.table("events");
        int p1 = toc.table("events_2025");
        int p2 = toc.table("events_2026");
        int seq = toc.add("SEQUENCE", "counter", Section.PRE_DATA, List.of(), Set.of());
        int d1 = toc.data(p1);
        int d2 = toc.data(p2);
        int setval = toc.add("SEQUENCE SET", "counter", Section.DATA, List.of(seq), Set.of());
        int parentIndex = toc.add("INDEX", "events_at", Section.POST_DATA, List.of(parent), Set.of(parent));
        int p1Index = toc.add("INDEX", "events_2025_at", Section.POST_DATA, List.of(p1), Set.of(p1));
        int attach = toc.add("INDEX ATTACH", "events_2025_at", Section.POST_DATA, List.of(parentIndex, p1Index), Set.of());
        Recorder r = new Recorder(toc, 2, 3);
        List<Integer> beforeFinish;
        try (AfterData after = new AfterData(toc.entries, r, 2, RoleThreads.of(null))) {
            r.load(after, d1);
            r.load(after, d2);
            // the early work has run: what may wait for the final run has had its chance to run early
            awaitRestored(r, p1Index);
            beforeFinish = List.copyOf(r.restored);
            after.finish();
        }
        assertThat(beforeFinish).doesNotContain(parentIndex, attach, setval);
        assertThat(r.violations).isEmpty();
        assertThat(r.calls).contains(List.of(p1Index));
        assertThat(r.calls.get(r.calls.size() - 1)).containsExactly(setval, parentIndex, attach);
    }

    @Test
    void aFailedRestore_isThrownByFinish_andWhatDependsOnItNeverStarts() throws Exception {
        TwoTables t = twoTablesWithAForeignKey("");
        int pkey = t.pkey;
        int fk = t.fk;
        Recorder r = new Recorder(t.toc, 2, 4);
        r.failOn = pkey;
        try (AfterData after = new AfterData(t.toc.entries, r, 2, RoleThreads.of(null))) {
            r.load(after, t.dataA);
            r.load(after, t.dataB);
            assertThatThrownBy(after::finish).isInstanceOf(IOException.class).hasMessageContaining("could not create " + pkey);
        }
        assertThat(r.calls).noneMatch(c -> c.contains(fk));
        assertThat(r.executed).isEmpty();
    }

    /**
     * Random schemas: tables with keys and indexes, foreign keys between any two (both ways, to
     * themselves), comments on indexes, a partitioned table; data loaded in random order.
     */
    @Property(tries = 60)
    void anySchema_isRestoredWholeOnce_inDependencyOrder_withoutTwoRestoresLockingOneTable(
            @ForAll @IntRange(min = 1, max = 7) int tables, @ForAll @IntRange(min = 1, max = 4) int jobs,
            @ForAll @IntRange(min = 0, max = 12) int foreignKeys, @ForAll long seed) throws Exception {
        Random random = new Random(seed);
        Toc toc = new Toc();
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < tables; i++) {
            ids.add(toc.table("t" + i));
        }
        int parent = toc.table("parted");
        int partition = toc.table("parted_1");
        List<Integer> data = new ArrayList<>();
        ids.forEach(t -> data.add(toc.data(t)));
        data.add(toc.data(partition));
        Map<Integer, Integer> pkeys = new HashMap<>();
        List<Integer> indexes = new ArrayList<>();
        for (int t : ids) {
            pkeys.put(t, toc.add("CONSTRAINT", "pkey " + t, Section.POST_DATA, List.of(t), Set.of(t)));
            for (int k = random.nextInt(3); k > 0; k--) {
                indexes.add(toc.add("INDEX", "index " + t + "." + k, Section.POST_DATA, List.of(t), Set.of(t)));
            }
        }
        int parentIndex = toc.add("INDEX", "parted index", Section.POST_DATA, List.of(parent), Set.of(parent));
        toc.add("INDEX ATTACH", "parted_1 index", Section.POST_DATA, List.of(parentIndex), Set.of());
        for (int i = 0; i < foreignKeys; i++) {
            int from = ids.get(random.nextInt(tables));
            int to = ids.get(random.nextInt(tables));
            String[] attributes = {"", " ON DELETE CASCADE", " DEFERRABLE INITIALLY DEFERRED", " NOT VALID"};
            toc.foreignKey(from, to, pkeys.get(to), attributes[random.nextInt(attributes.length)]);
        }
        for (int index : indexes) {
            if (random.nextBoolean()) {
                toc.add("COMMENT", "on index " + index, Section.NONE, List.of(index), Set.of());
            }
        }
        Collections.shuffle(data, random);
        Recorder r = new Recorder(toc, jobs, seed);
        try (AfterData after = new AfterData(toc.entries, r, jobs, RoleThreads.of(null))) {
            for (int d : data) {
                r.load(after, d);
                if (random.nextBoolean()) {
                    // data loads arriving at random moments (seeded), the behaviour under test; nothing waits on it
                    Thread.sleep(random.nextInt(3));
                }
            }
            after.finish();
        }
        assertThat(r.violations).isEmpty();
        Set<Integer> expected = new HashSet<>();
        toc.entries.stream().filter(e -> e.section() == Section.POST_DATA || e.section() == Section.NONE)
                .forEach(e -> expected.add(e.dumpId()));
        assertThat(r.restored).isEqualTo(expected);
    }
}
