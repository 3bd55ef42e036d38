package dev.backstop.core.retention;

import dev.backstop.core.BackupId;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The input of retention: every backup of a repository and every archived log segment, as an
 * immutable snapshot. Backups are ordered oldest first (by start time, then id).
 *
 * <p>Building one from a repository is I/O ({@link Expiry} does it); everything after that is a
 * pure function, so tests build histories by hand.
 */
public final class BackupHistory {
    private static final Comparator<BackupRecord> ORDER =
            Comparator.comparing(BackupRecord::startedAt).thenComparing(BackupRecord::id);

    private final List<BackupRecord> backups;
    private final Map<BackupId, BackupRecord> byId;
    private final List<LogSegment> logs;

    private BackupHistory(Collection<BackupRecord> backups, Collection<LogSegment> logs) {
        List<BackupRecord> sorted = new ArrayList<>(backups);
        sorted.sort(ORDER);
        Map<BackupId, BackupRecord> map = new LinkedHashMap<>();
        for (BackupRecord r : sorted) {
            if (map.put(r.id(), r) != null) {
                throw new IllegalArgumentException("backup history: backup " + r.id() + " appears twice");
            }
        }
        List<LogSegment> segs = new ArrayList<>(logs);
        segs.sort(Comparator.comparing((LogSegment s) -> s.range().stream())
                .thenComparingLong(s -> s.range().start()).thenComparing(LogSegment::key));
        this.backups = List.copyOf(sorted);
        this.byId = Map.copyOf(map);
        this.logs = List.copyOf(segs);
    }

    public static BackupHistory of(Collection<BackupRecord> backups, Collection<LogSegment> logs) {
        return new BackupHistory(backups, logs);
    }

    public static BackupHistory of(Collection<BackupRecord> backups) {
        return new BackupHistory(backups, List.of());
    }

    /** Every backup, oldest first. */
    public List<BackupRecord> backups() {
        return backups;
    }

    /** Verified backups, oldest first. */
    public List<BackupRecord> verified() {
        return backups.stream().filter(BackupRecord::verified).toList();
    }

    /**
     * Backups not known to be bad, oldest first: verified ones and those never validated, without
     * those whose newest validation failed. The built-in rules count these.
     */
    public List<BackupRecord> usable() {
        return backups.stream().filter(r -> r.status() != BackupStatus.FAILED).toList();
    }

    /** Backups that were never validated, oldest first. */
    public List<BackupRecord> unverified() {
        return backups.stream().filter(r -> r.status() == BackupStatus.UNVERIFIED).toList();
    }

    /** This history with only its verified backups (and every log segment). */
    BackupHistory onlyVerified() {
        return new BackupHistory(verified(), logs);
    }

    /** Archived log segments, by stream then start position. */
    public List<LogSegment> logs() {
        return logs;
    }

    public Optional<BackupRecord> get(BackupId id) {
        return Optional.ofNullable(byId.get(id));
    }

    /** The newest verified backup: no plan may delete it. */
    public Optional<BackupRecord> newestVerified() {
        for (int i = backups.size() - 1; i >= 0; i--) {
            if (backups.get(i).verified()) {
                return Optional.of(backups.get(i));
            }
        }
        return Optional.empty();
    }

    @Override
    public String toString() {
        return "BackupHistory[" + backups.size() + " backups, " + logs.size() + " log segments]";
    }
}
