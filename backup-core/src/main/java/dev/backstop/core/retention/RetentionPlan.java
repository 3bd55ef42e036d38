package dev.backstop.core.retention;

import dev.backstop.core.BackupId;
import dev.backstop.core.DataSize;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * The outcome of planning: for every backup keep or delete with the reasons, the log segments to
 * delete, the tier moves due, and what it all frees. Printing it ({@link #toTable()}) is the dry
 * run; {@link Expiry} executes it. Immutable.
 */
public final class RetentionPlan {
    /** Keep or delete. */
    public enum Action {
        KEEP, DELETE
    }

    /** The decision for one backup. */
    public record Decision(BackupRecord backup, Action action, List<String> reasons) {
        public Decision {
            Objects.requireNonNull(backup, "backup");
            Objects.requireNonNull(action, "action");
            reasons = List.copyOf(reasons);
        }

        public BackupId id() {
            return backup.id();
        }
    }

    private final Instant now;
    private final List<Decision> decisions;
    private final List<LogSegment> logsToDelete;
    private final int logsKept;
    private final List<TierMove> tierMoves;
    private final List<String> warnings;
    private final Set<BackupId> kept;
    private final Set<BackupId> deleted;

    RetentionPlan(Instant now, List<Decision> decisions, List<LogSegment> logsToDelete, int logsKept,
                  List<TierMove> tierMoves, List<String> warnings) {
        this.now = now;
        this.decisions = List.copyOf(decisions);
        this.logsToDelete = List.copyOf(logsToDelete);
        this.logsKept = logsKept;
        this.tierMoves = List.copyOf(tierMoves);
        this.warnings = List.copyOf(warnings);
        Set<BackupId> k = new LinkedHashSet<>();
        Set<BackupId> d = new LinkedHashSet<>();
        for (Decision x : this.decisions) {
            (x.action() == Action.KEEP ? k : d).add(x.id());
        }
        this.kept = Collections.unmodifiableSet(k);
        this.deleted = Collections.unmodifiableSet(d);
    }

    /** The instant the plan was made for. */
    public Instant now() {
        return now;
    }

    /** One decision per backup, oldest backup first. */
    public List<Decision> decisions() {
        return decisions;
    }

    public List<Decision> deletions() {
        return decisions.stream().filter(d -> d.action() == Action.DELETE).toList();
    }

    /** Ids of the kept backups, oldest first. */
    public Set<BackupId> kept() {
        return kept;
    }

    /** Ids of the backups to delete, oldest first. */
    public Set<BackupId> deleted() {
        return deleted;
    }

    public List<LogSegment> logsToDelete() {
        return logsToDelete;
    }

    public int logsKept() {
        return logsKept;
    }

    public List<TierMove> tierMoves() {
        return tierMoves;
    }

    /**
     * Things a person should look at, one sentence each: backups never verified, no verified
     * backup lately, broken chains, missing parents. {@link #toTable()} prints them.
     */
    public List<String> warnings() {
        return warnings;
    }

    /** Stored bytes of deleted backups and log segments. */
    public long bytesFreed() {
        return deletions().stream().mapToLong(d -> d.backup().storedBytes()).sum()
                + logsToDelete.stream().mapToLong(LogSegment::bytes).sum();
    }

    /** Stored bytes of the kept backups (logs not included). */
    public long bytesKept() {
        return decisions.stream().filter(d -> d.action() == Action.KEEP).mapToLong(d -> d.backup().storedBytes()).sum();
    }

    /** Whether at least one verified backup survives the plan. */
    public boolean keepsAVerifiedBackup() {
        return decisions.stream().anyMatch(d -> d.action() == Action.KEEP && d.backup().verified());
    }

    /** Whether executing the plan changes nothing. */
    public boolean isEmpty() {
        return deletions().isEmpty() && logsToDelete.isEmpty() && tierMoves.isEmpty();
    }

    /** The dry run: an aligned text table of every decision, log deletion and tier move, then totals. */
    public String toTable() {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"ACTION", "BACKUP", "STATUS", "SIZE", "TIER", "REASON"});
        for (Decision d : decisions) {
            BackupRecord r = d.backup();
            String status = r.status().name().toLowerCase(Locale.ROOT) + (r.pinned() ? ",pinned" : "")
                    + (r.legalHold() ? ",legal-hold" : "");
            rows.add(new String[] {d.action().name().toLowerCase(Locale.ROOT), r.id().value(), status,
                    DataSize.ofBytes(r.storedBytes()).toString(), r.tier().name(),
                    (d.action() == Action.KEEP ? "kept: " : "deleted: ") + String.join("; ", d.reasons())});
        }
        StringBuilder out = new StringBuilder();
        appendAligned(out, rows);
        if (!logsToDelete.isEmpty()) {
            out.append('\n');
            List<String[]> logRows = new ArrayList<>();
            logRows.add(new String[] {"LOG SEGMENT", "STREAM", "RANGE", "SIZE"});
            for (LogSegment s : logsToDelete) {
                logRows.add(new String[] {s.key(), s.range().stream(),
                        "[" + s.range().start() + ", " + s.range().end() + ")", DataSize.ofBytes(s.bytes()).toString()});
            }
            appendAligned(out, logRows);
        }
        if (!tierMoves.isEmpty()) {
            out.append('\n');
            List<String[]> moveRows = new ArrayList<>();
            moveRows.add(new String[] {"TIER MOVE", "FROM", "TO", "REASON"});
            for (TierMove m : tierMoves) {
                moveRows.add(new String[] {m.backup().value(), m.from().name(), m.to().name(), m.reason()});
            }
            appendAligned(out, moveRows);
        }
        for (String w : warnings) {
            out.append("\nWARNING: ").append(w);
        }
        out.append('\n').append(summary()).append('\n');
        return out.toString();
    }

    /** One line: counts and bytes. */
    public String summary() {
        int del = deletions().size();
        return String.format(Locale.ROOT,
                "plan at %s: keep %d, delete %d of %d backups; delete %d, keep %d log segments; %d tier moves; frees %s",
                now, decisions.size() - del, del, decisions.size(), logsToDelete.size(), logsKept, tierMoves.size(),
                DataSize.ofBytes(bytesFreed()));
    }

    private static void appendAligned(StringBuilder out, List<String[]> rows) {
        int cols = rows.get(0).length;
        int[] width = new int[cols];
        for (String[] r : rows) {
            for (int c = 0; c < cols; c++) {
                width[c] = Math.max(width[c], r[c].length());
            }
        }
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int c = 0; c < cols; c++) {
                line.append(r[c]);
                if (c < cols - 1) {
                    line.append(" ".repeat(width[c] - r[c].length() + 2));
                }
            }
            out.append(line.toString().stripTrailing()).append('\n');
        }
    }

    @Override
    public String toString() {
        return summary();
    }
}
