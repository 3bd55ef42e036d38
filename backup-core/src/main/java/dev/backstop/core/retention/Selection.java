package dev.backstop.core.retention;

import dev.backstop.core.BackupId;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * What one {@link RetentionPolicy} keeps: backups, each with the reasons it is kept, and per log
 * stream the position from which every archived log is kept (a recovery window). Immutable.
 *
 * <p>A selection only ever adds: {@link #union} keeps everything either side keeps, and the log
 * floor of a stream is the lower of the two.
 */
public final class Selection {
    /** From {@code position} on, every log of the stream is kept, because of {@code reason}. */
    public record LogFloor(long position, String reason) {
        public LogFloor {
            Objects.requireNonNull(reason, "reason");
        }
    }

    private static final Selection NONE = new Selection(Map.of(), Map.of());

    private final Map<BackupId, List<String>> backups;
    private final Map<String, LogFloor> logFloors;

    private Selection(Map<BackupId, List<String>> backups, Map<String, LogFloor> logFloors) {
        this.backups = backups;
        this.logFloors = logFloors;
    }

    /** Keeps nothing. */
    public static Selection none() {
        return NONE;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The kept backups with their reasons, ordered by id (oldest first). */
    public Map<BackupId, List<String>> backups() {
        return backups;
    }

    public boolean keeps(BackupId id) {
        return backups.containsKey(id);
    }

    /** Why {@code id} is kept; empty if it is not. */
    public List<String> reasons(BackupId id) {
        return backups.getOrDefault(id, List.of());
    }

    /** Per stream, the position from which logs are kept. */
    public Map<String, LogFloor> logFloors() {
        return logFloors;
    }

    public Optional<LogFloor> logFloor(String stream) {
        return Optional.ofNullable(logFloors.get(stream));
    }

    /** Everything this or {@code other} keeps. */
    public Selection union(Selection other) {
        if (other.backups.isEmpty() && other.logFloors.isEmpty()) {
            return this;
        }
        Builder b = builder();
        b.addAll(this);
        b.addAll(other);
        return b.build();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Selection s && backups.equals(s.backups) && logFloors.equals(s.logFloors);
    }

    @Override
    public int hashCode() {
        return Objects.hash(backups, logFloors);
    }

    @Override
    public String toString() {
        return "Selection[keep " + backups.size() + " backups, log floors " + logFloors + "]";
    }

    /** Builder for {@link Selection}; not thread-safe. */
    public static final class Builder {
        private final Map<BackupId, Set<String>> backups = new TreeMap<>();
        private final Map<String, LogFloor> floors = new TreeMap<>();

        private Builder() {
        }

        /** Keeps {@code id}; a backup kept for several reasons lists each once. */
        public Builder keep(BackupId id, String reason) {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(reason, "reason");
            backups.computeIfAbsent(id, k -> new LinkedHashSet<>()).add(reason);
            return this;
        }

        /** Keeps every log of {@code stream} from {@code position} on. */
        public Builder keepLogsFrom(String stream, long position, String reason) {
            Objects.requireNonNull(stream, "stream");
            LogFloor f = new LogFloor(position, reason);
            floors.merge(stream, f, (a, b) -> a.position() <= b.position() ? a : b);
            return this;
        }

        Builder addAll(Selection s) {
            s.backups.forEach((id, reasons) -> reasons.forEach(r -> keep(id, r)));
            s.logFloors.forEach((stream, f) -> keepLogsFrom(stream, f.position(), f.reason()));
            return this;
        }

        public Selection build() {
            Map<BackupId, List<String>> b = new TreeMap<>();
            backups.forEach((id, r) -> b.put(id, List.copyOf(r)));
            return new Selection(Collections.unmodifiableMap(b), Collections.unmodifiableMap(new TreeMap<>(floors)));
        }
    }
}
