package dev.backstop.postgres.internal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Restores what follows a custom dump's table data as early as its dependencies allow, as
 * {@code pg_restore -j} schedules it: an index, a primary key, a trigger or a grant that concerns
 * one table alone starts as soon as that table's data is loaded, while other tables are still
 * loading; everything else (foreign keys, sequence values, comments on indexes) follows in one
 * parallel run once all data is in. Without this the loading of data and the building of indexes
 * take turns, which measured 1.5× slower than {@code pg_restore -j2} on the same dump.
 *
 * <p>Entries filed in no section (privileges, comments) belong to the section before them, as
 * pg_restore files them. Work is handed to a {@link Runner}, which restores a list of entries.
 */
public final class AfterData implements AutoCloseable {
    /** Restores {@code entries} (in table-of-contents order) with {@code jobs} parallel jobs. */
    public interface Runner {
        void restore(List<CustomDump.Entry> entries, int jobs) throws IOException;
    }

    private final Runner runner;
    private final int jobs;
    private final List<CustomDump.Entry> after = new ArrayList<>();
    private final Map<Integer, List<CustomDump.Entry>> byTableData = new HashMap<>();
    private final Set<Integer> started = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final List<Future<?>> early = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final ExecutorService executor;

    /** Plans the work from the table of contents; {@code jobs} bounds the final run's parallelism. */
    public AfterData(CustomDump toc, Runner runner, int jobs) {
        this.runner = runner;
        this.jobs = jobs;
        Set<Integer> preData = new HashSet<>();
        Map<Integer, Integer> tableDataOfTable = new HashMap<>();
        Map<CustomDump.Entry, CustomDump.Section> effective = new HashMap<>();
        CustomDump.Section current = CustomDump.Section.PRE_DATA;
        for (CustomDump.Entry e : toc.entries()) {
            if (e.section() != CustomDump.Section.NONE) {
                current = e.section();
            }
            effective.put(e, current);
            if (current == CustomDump.Section.PRE_DATA) {
                preData.add(e.dumpId());
            } else if ("TABLE DATA".equals(e.desc())) {
                e.dependencies().forEach(table -> tableDataOfTable.put(table, e.dumpId()));
            } else {
                after.add(e);
            }
        }
        for (CustomDump.Entry e : after) {
            if (effective.get(e) != CustomDump.Section.POST_DATA) {
                continue;
            }
            Set<Integer> waitsFor = new HashSet<>();
            for (int d : e.dependencies()) {
                int mapped = tableDataOfTable.getOrDefault(d, d);
                if (!preData.contains(mapped)) {
                    waitsFor.add(mapped);
                }
            }
            if (waitsFor.size() == 1 && tableDataOfTable.containsValue(waitsFor.iterator().next())) {
                byTableData.computeIfAbsent(waitsFor.iterator().next(), k -> new ArrayList<>()).add(e);
            }
        }
        this.executor = Executors.newFixedThreadPool(Math.max(1, jobs / 2), r -> {
            Thread t = new Thread(r, "backstop-after-data");
            t.setDaemon(true);
            return t;
        });
    }

    /** Call when the table data entry {@code tableDataId} is loaded and committed; never blocks. */
    public void loaded(int tableDataId) {
        List<CustomDump.Entry> items = byTableData.get(tableDataId);
        if (items == null || !started.add(tableDataId)) {
            return;
        }
        early.add(executor.submit(() -> {
            runner.restore(items, 1);
            return null;
        }));
    }

    /** Waits for the early work, then restores everything not yet started. */
    public void finish() throws IOException {
        for (Future<?> f : early) {
            try {
                f.get();
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                throw c instanceof IOException io ? io : new IOException(c.getMessage(), c);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while restoring indexes and constraints");
            }
        }
        Set<Integer> done = new HashSet<>();
        started.forEach(id -> byTableData.get(id).forEach(e -> done.add(e.dumpId())));
        List<CustomDump.Entry> rest = after.stream().filter(e -> !done.contains(e.dumpId())).toList();
        if (!rest.isEmpty()) {
            runner.restore(rest, jobs);
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
