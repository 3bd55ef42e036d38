package dev.backstop.core.retention;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** An in-memory log archive for tests. */
final class MemoryLogArchive implements LogArchive {
    private final Map<String, LogSegment> segments = new TreeMap<>();

    synchronized void add(LogSegment s) {
        segments.put(s.key(), s);
    }

    synchronized List<String> keys() {
        return new ArrayList<>(segments.keySet());
    }

    @Override
    public synchronized List<LogSegment> segments() {
        return new ArrayList<>(segments.values());
    }

    @Override
    public synchronized void delete(LogSegment segment) {
        segments.remove(segment.key());
    }
}
