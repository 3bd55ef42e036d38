package dev.backstop.core.log;

import dev.backstop.core.LogRange;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.Repository;
import dev.backstop.core.retention.LogSegment;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What a {@link LogStore}'s listing says: the files archived whole, the files a reader can be
 * served, the gaps, the segments retention sees and the deltas a whole file superseded. Reads
 * listings only, never an object.
 */
final class LogListing {
    private final Repository repository;
    private final LogKeys keys;
    private final LogNaming naming;
    private final LogObjects objects;

    LogListing(Repository repository, LogKeys keys, LogNaming naming, LogObjects objects) {
        this.repository = repository;
        this.keys = keys;
        this.naming = naming;
        this.objects = objects;
    }

    /** {@link LogStore#files()}. */
    List<LogFile> files() {
        List<LogFile> out = new ArrayList<>();
        for (ObjectInfo o : objects.list(keys.prefix())) {
            if (LogKeys.isMeta(o.key()) && !LogKeys.isDelta(o.key())) {
                LogFile f = keys.fileOf(LogKeys.dataOf(o.key()), naming);
                if (f != null) {
                    out.add(f);
                }
            }
        }
        out.sort(Comparator.naturalOrder());
        return out;
    }

    /** {@link LogStore#restorable()}. */
    List<LogFile> restorable() {
        Set<LogFile> out = new TreeSet<>();
        for (ObjectInfo o : objects.list(keys.prefix())) {
            if (!LogKeys.isMeta(o.key())) {
                continue;
            }
            String data = LogKeys.dataOf(o.key());
            LogFile f = keys.fileOf(LogKeys.isDelta(data) ? LogKeys.fileKeyOf(data) : data, naming);
            if (f != null) {
                out.add(f);
            }
        }
        return List.copyOf(out);
    }

    /** {@link LogStore#gaps()}. */
    List<LogGap> gaps() {
        Map<String, List<LogFile>> byEpoch = new TreeMap<>();
        for (LogFile f : files()) {
            if (f.kind() == LogFile.Kind.POSITIONED) {
                byEpoch.computeIfAbsent(f.epoch(), e -> new ArrayList<>()).add(f);
            }
        }
        List<LogGap> out = new ArrayList<>();
        for (List<LogFile> epoch : byEpoch.values()) {
            epoch.sort(Comparator.comparingLong(LogFile::start));
            LogFile reach = null;
            for (LogFile f : epoch) {
                if (reach != null && f.start() > reach.end()) {
                    out.add(new LogGap(reach, f));
                }
                if (reach == null || f.end() > reach.end()) {
                    reach = f;
                }
            }
        }
        return out;
    }

    /** {@link LogStore#segments()}. */
    List<LogSegment> segments() throws IOException {
        List<ObjectInfo> all = repository.sink().list(keys.prefix());
        Map<String, Long> sizes = new TreeMap<>();
        for (ObjectInfo o : all) {
            sizes.put(o.key(), o.size());
        }
        List<LogSegment> out = new ArrayList<>();
        Map<String, List<ObjectInfo>> deltaObjects = new TreeMap<>();
        for (ObjectInfo o : all) {
            if (LogKeys.isDelta(o.key())) {
                deltaObjects.computeIfAbsent(LogKeys.fileKeyOf(o.key()), k -> new ArrayList<>()).add(o);
            } else if (LogKeys.isMeta(o.key())) {
                String data = LogKeys.dataOf(o.key());
                LogFile f = keys.fileOf(data, naming);
                if (f != null && f.kind() == LogFile.Kind.POSITIONED) {
                    out.add(new LogSegment(data, new LogRange(keys.stream(), f.start(), f.end()), sizes.getOrDefault(data, 0L) + o.size()));
                }
            }
        }
        // deltas beside a whole file are the writer's to remove and are not listed
        for (Map.Entry<String, List<ObjectInfo>> e : deltaObjects.entrySet()) {
            LogFile f = keys.fileOf(e.getKey(), naming);
            if (f == null || f.kind() != LogFile.Kind.POSITIONED || sizes.containsKey(LogKeys.metaOf(e.getKey()))) {
                continue;
            }
            long end = Math.min(f.end() - f.start(), DeltaRun.of(LogObjects.listedDeltas(e.getValue())).end());
            long bytes = e.getValue().stream().mapToLong(ObjectInfo::size).sum();
            out.add(new LogSegment(e.getKey() + LogKeys.DELTAS, new LogRange(keys.stream(), f.start(), f.start() + end), bytes));
        }
        return out;
    }

    /** The delta objects (data and metadata) whose file is archived whole. */
    List<ObjectInfo> supersededDeltas() {
        List<ObjectInfo> all = objects.list(keys.prefix());
        Set<String> whole = new HashSet<>();
        for (ObjectInfo o : all) {
            if (LogKeys.isMeta(o.key()) && !LogKeys.isDelta(o.key())) {
                whole.add(LogKeys.dataOf(o.key()));
            }
        }
        List<ObjectInfo> superseded = new ArrayList<>();
        for (ObjectInfo o : all) {
            if (LogKeys.isDelta(o.key()) && whole.contains(LogKeys.fileKeyOf(o.key()))) {
                superseded.add(o);
            }
        }
        return superseded;
    }
}
