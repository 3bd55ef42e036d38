package dev.backstop.postgres.wal;

import dev.backstop.core.LogRange;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.retention.LogArchive;
import dev.backstop.core.retention.LogSegment;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What retention sees of one WAL archive: each whole segment once, with its data and metadata
 * sizes, and a segment held only as deltas once, as the prefix its gap-free run holds, never once
 * per delta. Partial, backup and history files are not segments and are not listed.
 *
 * <p>Called from one thread at a time, as {@link LogArchive} says.
 */
final class WalRetentionView implements LogArchive {
    private final WalKeys keys;
    private final WalObjects objects;

    WalRetentionView(WalKeys keys, WalObjects objects) {
        this.keys = keys;
        this.objects = objects;
    }

    @Override
    public List<LogSegment> segments() throws IOException {
        Map<String, Long> sizes = new TreeMap<>();
        List<ObjectInfo> all = objects.list(keys.prefix());
        for (ObjectInfo o : all) {
            sizes.put(o.key(), o.size());
        }
        List<LogSegment> out = new ArrayList<>();
        Map<String, List<ObjectInfo>> deltaObjects = new TreeMap<>();
        for (ObjectInfo o : all) {
            if (WalKeys.isDelta(o.key())) {
                deltaObjects.computeIfAbsent(SegmentDeltas.segmentKeyOf(o.key()), k -> new ArrayList<>()).add(o);
                continue;
            }
            if (!WalKeys.isMeta(o.key())) {
                continue;
            }
            String dataKey = WalKeys.dataOf(o.key());
            WalFile f = WalKeys.fileOf(dataKey);
            if (f.kind() == WalFile.Kind.SEGMENT) {
                out.add(new LogSegment(dataKey, new LogRange(keys.stream(), f.startLsn(), f.endLsn()),
                        sizes.getOrDefault(dataKey, 0L) + o.size()));
            }
        }
        // a segment held only as deltas is one segment holding its prefix; deltas beside a whole
        // segment are the receiver's to remove and are not listed
        for (Map.Entry<String, List<ObjectInfo>> e : deltaObjects.entrySet()) {
            if (sizes.containsKey(WalKeys.metaOf(e.getKey()))) {
                continue;
            }
            WalFile f = WalKeys.fileOf(e.getKey());
            long end = SegmentDeltas.run(WalDeltaStore.listed(e.getValue())).end();
            long bytes = e.getValue().stream().mapToLong(ObjectInfo::size).sum();
            out.add(new LogSegment(e.getKey() + SegmentDeltas.DIR, new LogRange(keys.stream(), f.startLsn(), f.startLsn() + end), bytes));
        }
        return out;
    }

    /** Deletes the metadata first, so a crash in between leaves an unarchived leftover, never a hole that looks archived. */
    @Override
    public void delete(LogSegment segment) throws IOException {
        if (!segment.key().startsWith(keys.prefix())) {
            throw new IllegalArgumentException("segment " + segment.key() + " is not in archive " + keys.prefix());
        }
        if (segment.key().endsWith(SegmentDeltas.DIR)) {
            objects.deleteAll(objects.list(segment.key()));
            return;
        }
        objects.delete(segment.key());
    }
}
