package dev.backstop.core.retention;

import dev.backstop.core.BackupException;
import dev.backstop.core.event.BackupListener;
import dev.backstop.core.BackupId;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectLockedException;
import dev.backstop.core.Repository;
import dev.backstop.core.lock.RepositoryLock;
import dev.backstop.core.Stage;
import dev.backstop.core.StorageException;
import dev.backstop.core.StorageTier;
import dev.backstop.core.manifest.StoredObject;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.concurrent.LogContext;
import dev.backstop.core.internal.layout.RepositoryLayout;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Executes retention on a repository: loads its history, plans, and deletes under the repository
 * lock.
 *
 * <pre>{@code
 * Expiry expiry = Expiry.builder().repository(repo).planner(RetentionPlanner.of(policy))
 *     .logs(walArchive).clock(clock).build();
 * System.out.print(expiry.plan().toTable());   // dry run
 * ExpiryReport done = expiry.run();            // or execute(approvedPlan)
 * }</pre>
 *
 * <p><b>Guarantees.</b>
 * <ul>
 *   <li>Runs under {@link RepositoryLock} and checks the lease before every deletion.</li>
 *   <li>Refuses to delete anything when the plan would leave no verified backup (the dry run
 *       warns about it: {@link RetentionPlan#warnings()}).</li>
 *   <li>Nothing visible ever points to deleted data: a backup's manifest goes before its objects,
 *       children before their parents (newest first), logs oldest first so the rest stays
 *       contiguous, and nothing a kept backup needs is touched.</li>
 *   <li>Crash-safe and re-runnable: the backups to delete are journaled before the first deletion;
 *       a later run first finishes backups whose manifest an interrupted run already removed, then
 *       plans afresh. Running again after a finished run deletes nothing.</li>
 *   <li>Objects under object lock are skipped and reported with the reason.</li>
 * </ul>
 *
 * <p><b>Keys.</b> Built on a keyed repository view ({@link Repository#withKeys}), expiry plans only
 * with manifests, validation records and holds that authenticate: a manifest that does not is left
 * out of the plan (it is {@link Repository#damaged}), and a forged validation record, hold or
 * journal stops the run with an {@link dev.backstop.core.IntegrityException} naming it. Without
 * keys it trusts what checksums alone can tell, which protects against accidents, not against
 * someone with write access. Either way, nothing is deleted on the strength of a manifest that
 * cannot be read or admitted, and the objects of such a backup are never touched.
 *
 * <p><b>Restrictions.</b> Pins and legal holds placed while a run is deleting are seen by the
 * next run. Objects without a manifest (a backup being written) are never touched; {@link
 * Repository#removeOrphans} handles crashed backups.
 *
 * <p><b>Threading.</b> One run at a time per instance; the lock keeps runs on other hosts out.
 */
public final class Expiry {
    private static final Logger LOG = LoggerFactory.getLogger(Expiry.class);
    private static final String JOURNALS = RepositoryLayout.EXPIRY_JOURNALS;

    private final Repository repository;
    private final RetentionPlanner planner;
    private final LogArchive logs;
    private final Clock clock;
    private final RepositoryLock lock;
    private final TierMover mover;
    private final Holds holds;
    private final BackupListener listener;
    private final ExpiryJournal journals;

    private Expiry(Builder b) {
        this.repository = b.repository;
        this.planner = b.planner;
        this.logs = b.logs;
        this.clock = b.clock;
        RepositoryLock.Builder lb = RepositoryLock.builder(b.repository.sink()).ttl(b.lockTtl).clock(b.clock);
        if (b.holder != null) {
            lb.holder(b.holder);
        }
        this.lock = lb.build();
        this.mover = b.mover;
        this.holds = Holds.of(b.repository);
        this.listener = BackupListener.guarded(b.listener);
        this.journals = new ExpiryJournal(b.repository, b.clock);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The repository's backups and logs as retention sees them now. */
    public BackupHistory history() {
        try {
            Set<BackupId> pinned = holds.pinned();
            Set<BackupId> held = holds.legalHolds();
            Map<BackupId, StorageTier> tiers = holds.tiers();
            StorageTier initial = planner.tiers().map(TierSchedule::initial).orElse(StorageTier.HOT);
            List<BackupRecord> records = new ArrayList<>();
            for (Manifest m : repository.catalog().list()) {
                records.add(BackupRecord.from(m, repository.latestValidation(m.id()))
                        .pinned(pinned.contains(m.id())).legalHold(held.contains(m.id()))
                        .tier(tiers.getOrDefault(m.id(), initial)).build());
            }
            return BackupHistory.of(records, logs.segments());
        } catch (IOException e) {
            throw StorageException.of(null, "could not load the backup history: " + e, e, null);
        }
    }

    /** The dry run: what {@link #run()} would do now. Takes no lock and changes nothing. */
    public RetentionPlan plan() {
        return planner.plan(history(), clock.instant());
    }

    /** Plans and executes under the lock. */
    public ExpiryReport run() {
        return execute(null);
    }

    /**
     * Executes an approved plan (from {@link #plan()}): re-plans under the lock and deletes only
     * what both the approved and the fresh plan delete, so a plan that went stale (a new backup,
     * a pin) never deletes more than either allows.
     */
    public ExpiryReport execute(RetentionPlan approved) {
        LogContext.Scope log = LogContext.open(repository.sink()).stage(Stage.RETENTION);
        try {
            ExpiryReport r = expire(approved);
            LOG.atInfo().addKeyValue("event", "expiry.finished").addKeyValue("backups.deleted", r.deletedBackups().size())
                    .addKeyValue("logs.deleted", r.deletedLogs().size()).addKeyValue("bytes.freed", r.bytesFreed())
                    .addKeyValue("skipped", r.skipped().size()).addKeyValue("resumed", r.resumed().size())
                    .log("expiry deleted {} backups and {} log files", r.deletedBackups().size(), r.deletedLogs().size());
            return r;
        } catch (BackupException e) {
            LOG.atError().addKeyValue("event", "expiry.failed").addKeyValue("stage", e.stage().name().toLowerCase(Locale.ROOT))
                    .log("expiry failed: {}", e.getMessage());
            throw e;
        } finally {
            log.close();
        }
    }

    private ExpiryReport expire(RetentionPlan approved) {
        try (RepositoryLock.Lease lease = lock.acquire()) {
            List<ExpiryReport.Skip> skipped = new ArrayList<>();
            List<BackupId> resumed = resume(lease, skipped);
            RetentionPlan plan = planner.plan(history(), clock.instant());
            List<RetentionPlan.Decision> toDelete = new ArrayList<>(plan.deletions());
            List<LogSegment> logsToDelete = new ArrayList<>(plan.logsToDelete());
            if (approved != null) {
                Set<BackupId> ok = approved.deleted();
                toDelete.removeIf(d -> !ok.contains(d.id()));
                Set<String> okLogs = new HashSet<>();
                approved.logsToDelete().forEach(s -> okLogs.add(s.key()));
                logsToDelete.removeIf(s -> !okLogs.contains(s.key()));
            }
            if ((!toDelete.isEmpty() || !logsToDelete.isEmpty()) && !plan.keepsAVerifiedBackup()) {
                throw new BackupException(Stage.RETENTION, "refusing to expire: the plan would leave no verified backup ("
                        + plan.decisions().size() + " backups, none verified and kept); verify a backup first, with "
                        + "Restore.verify(backup) or a restore drill", null);
            }
            // children are newer than their parents: newest first never leaves a child without its parent
            toDelete.sort((a, b) -> b.backup().startedAt().compareTo(a.backup().startedAt()));
            List<BackupId> deleted = new ArrayList<>();
            long freed = 0;
            String journal = toDelete.isEmpty() ? null : journals.writeJournal(toDelete);
            boolean leftovers = false;
            for (RetentionPlan.Decision d : toDelete) {
                lease.ensureHeld();
                switch (deleteBackup(d.id(), skipped)) {
                    case DELETED -> {
                        deleted.add(d.id());
                        freed += d.backup().storedBytes();
                        listener.backupExpired(d.id(), d.backup().storedBytes(), d.reasons());
                    }
                    case PARTLY -> leftovers = true;
                    case LOCKED -> { }
                }
            }
            if (journal != null && !leftovers) {
                deleteQuietly(journal);
            }
            List<LogSegment> deletedLogs = new ArrayList<>();
            // oldest first: an interrupted run leaves a contiguous suffix of the archive
            for (LogSegment s : logsToDelete) {
                lease.ensureHeld();
                try {
                    logs.delete(s);
                    LOG.atDebug().addKeyValue("event", "log.expired").addKeyValue("key", s.key()).addKeyValue("bytes", s.bytes())
                            .log("log file {} deleted: no kept backup needs it", s.key());
                    deletedLogs.add(s);
                    freed += s.bytes();
                } catch (ObjectLockedException e) {
                    skipped.add(new ExpiryReport.Skip(s.key(), lockedReason(e)));
                } catch (IOException e) {
                    throw StorageException.of(s.key(), "could not delete log segment: " + e, e, null);
                }
            }
            List<TierMove> moved = moveTiers(plan, lease);
            return new ExpiryReport(plan, deleted, deletedLogs, moved, skipped, resumed, freed);
        }
    }

    private enum Outcome { DELETED, PARTLY, LOCKED }

    private Outcome deleteBackup(BackupId id, List<ExpiryReport.Skip> skipped) {
        try {
            repository.catalog().delete(id);
            holds.forget(id);
            return Outcome.DELETED;
        } catch (ObjectLockedException e) {
            if (Repository.manifestKey(id).equals(e.key())) {
                skipped.add(new ExpiryReport.Skip(e.key(), lockedReason(e) + "; backup " + id + " left whole"));
                return Outcome.LOCKED;
            }
            skipped.add(new ExpiryReport.Skip(e.key(), lockedReason(e) + "; backup " + id
                    + " is gone from the catalog, the rest of its objects go in a later run"));
            return Outcome.PARTLY;
        } catch (IOException e) {
            throw new StorageException(Repository.manifestKey(id), "could not delete backup; run expiry again to finish: " + e,
                    e, true, id);
        }
    }

    private static String lockedReason(ObjectLockedException e) {
        return "object lock" + e.retainUntil().map(t -> " until " + t).orElse(" (legal hold or retention)");
    }

    /** Finishes backups an interrupted run had begun to delete (manifest already gone). */
    private List<BackupId> resume(RepositoryLock.Lease lease, List<ExpiryReport.Skip> skipped) {
        List<BackupId> finished = new ArrayList<>();
        try {
            for (ObjectInfo j : repository.sink().list(JOURNALS)) {
                boolean leftovers = false;
                for (BackupId id : journals.readJournal(j.key())) {
                    lease.ensureHeld();
                    if (!repository.sink().list(Repository.manifestKey(id)).isEmpty()) {
                        continue; // not begun (or its manifest is damaged): the fresh plan decides again
                    }
                    boolean any = !repository.sink().list(RepositoryLayout.backupPrefix(id)).isEmpty()
                            || !repository.sink().list(Repository.dataKeyObject(id)).isEmpty();
                    if (deleteBackup(id, skipped) != Outcome.DELETED) {
                        leftovers = true;
                    } else if (any) {
                        finished.add(id);
                    }
                }
                if (!leftovers) {
                    deleteQuietly(j.key());
                }
            }
        } catch (IOException e) {
            throw StorageException.of(JOURNALS, "could not resume an interrupted expiry: " + e, e, null);
        }
        return finished;
    }

    private void deleteQuietly(String key) {
        try {
            repository.sink().delete(key);
        } catch (IOException e) {
            // a finished journal left behind only makes the next run check ids that are already gone
        }
    }

    private List<TierMove> moveTiers(RetentionPlan plan, RepositoryLock.Lease lease) {
        List<TierMove> moved = new ArrayList<>();
        if (mover == null) {
            return moved;
        }
        for (TierMove m : plan.tierMoves()) {
            lease.ensureHeld();
            try {
                Optional<Manifest> manifest = repository.catalog().get(m.backup());
                if (manifest.isEmpty()) {
                    continue;
                }
                for (StoredObject o : manifest.get().objects()) {
                    mover.move(o.key(), m.to());
                }
                holds.recordTier(m.backup(), m.to());
                moved.add(m);
            } catch (IOException e) {
                throw StorageException.of(Repository.manifestKey(m.backup()), "could not move to " + m.to() + ": " + e, e, m.backup());
            }
        }
        return moved;
    }

    /** Builder for {@link Expiry}; not thread-safe. */
    public static final class Builder {
        private final Settings given = new Settings();
        private Repository repository;
        private RetentionPlanner planner;
        private LogArchive logs = LogArchive.NONE;
        private Clock clock = Clock.systemUTC();
        private Duration lockTtl = Duration.ofMinutes(5);
        private String holder;
        private TierMover mover;
        private BackupListener listener = BackupListener.NONE;

        private Builder() {
        }

        public Builder repository(Repository repository) {
            this.repository = given.once("repository", this.repository, repository);
            return this;
        }

        public Builder planner(RetentionPlanner planner) {
            this.planner = given.once("planner", this.planner, planner);
            return this;
        }

        /** The archived logs to expire with the backups; none by default. */
        public Builder logs(LogArchive logs) {
            this.logs = given.once("logs", this.logs, logs);
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = given.once("clock", this.clock, clock);
            return this;
        }

        /** The repository lock's lease time; default 5 minutes. */
        public Builder lockTtl(Duration ttl) {
            this.lockTtl = given.once("lockTtl", this.lockTtl, ttl);
            return this;
        }

        /** Who holds the lock, for messages; default pid and random. */
        public Builder holder(String holder) {
            this.holder = given.once("holder", this.holder, holder);
            return this;
        }

        /** Carries out tier moves by copy-on-transition; without one they are only planned. */
        public Builder tierMover(TierMover mover) {
            this.mover = given.once("tierMover", this.mover, mover);
            return this;
        }

        /** Hears of each deleted backup ({@link BackupListener#backupExpired}); adds to earlier ones. */
        public Builder listener(BackupListener listener) {
            this.listener = this.listener.plus(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        public Expiry build() {
            if (repository == null) {
                throw new IllegalStateException("expiry: repository is required, e.g. Repository.filesystem(path)");
            }
            if (planner == null) {
                throw new IllegalStateException("expiry: planner is required, e.g. RetentionPlanner.of(RetentionPolicy.keepLast(7))");
            }
            return new Expiry(this);
        }
    }
}
