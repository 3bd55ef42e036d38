package dev.backstop.core.report;

import dev.backstop.core.event.AuditLog;
import dev.backstop.core.BackupId;
import dev.backstop.core.DamagedObject;
import dev.backstop.core.manifest.EncryptionInfo;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.replication.Replication;
import dev.backstop.core.Repository;
import dev.backstop.core.StorageException;
import dev.backstop.core.manifest.StoredObject;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.layout.RepositoryLayout;
import dev.backstop.core.report.Report.Attempt;
import dev.backstop.core.report.Report.AuditEvent;
import dev.backstop.core.report.Report.BackupEvidence;
import dev.backstop.core.report.Report.Drill;
import dev.backstop.core.report.Report.Gap;
import dev.backstop.core.report.Report.ObjectEvidence;
import dev.backstop.core.report.Report.Slo;
import dev.backstop.core.report.Report.ValidationEvidence;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The SLO and compliance report of a repository for a period [{@code from}, {@code to}): reads
 * the catalog, the validation records and the audit log, and returns an immutable {@link Report}
 * to write as JSON ({@link ReportJson}) or as one self-contained HTML page ({@link ReportHtml}).
 *
 * <p><b>How each figure is made.</b>
 * <ul>
 *   <li><b>Success rate</b>: audit {@code BACKUP} entries over {@code BACKUP} plus
 *       {@code BACKUP_FAILED} entries in the period (a failure a retry fixed is never recorded,
 *       so it does not count).</li>
 *   <li><b>Validation pass rate</b>: authenticated validation records finished in the period, of
 *       backups still in the catalog, that passed.</li>
 *   <li><b>RPO</b>: the largest of the gaps between consecutive successful backups (catalog
 *       manifests, and audit {@code BACKUP} entries of backups since expired), counted from the
 *       newest successful backup before the period if there is one, and the age of the newest at
 *       {@code to}.</li>
 *   <li><b>RTO</b>: the largest {@code rto_ms} measurement of the validation records (restore
 *       drills) finished in the period.</li>
 * </ul>
 * An objective with no data in the period (no backup, no drill) is reported as not met: no
 * evidence is not compliance.
 *
 * <p><b>Restrictions.</b> Needs a keyed repository view ({@link Repository#withKeys}) and an
 * {@link AuditLog} over it: only authenticated records count. Audit entries that do not
 * authenticate are listed in {@link Report#tamperedAuditEntries()}. Replica columns need the
 * {@link Replication} setup ({@link Builder#replication}); without it they are empty.
 *
 * <p><b>Threading.</b> Thread-safe; each {@link #generate} reads the repository anew.
 */
public final class ComplianceReport {
    /** Name of the success-rate objective in {@link Report#slos()}. */
    public static final String SUCCESS_RATE = "Backup success rate";
    /** Name of the validation-pass-rate objective. */
    public static final String VALIDATION_PASS_RATE = "Validation pass rate";
    /** Name of the RPO objective. */
    public static final String RPO = "Recovery point (RPO)";
    /** Name of the RTO objective. */
    public static final String RTO = "Recovery time (RTO)";

    private static final Set<AuditLog.Action> KEY_ACTIONS =
            EnumSet.of(AuditLog.Action.KEY_ROTATION, AuditLog.Action.KEY_REWRAP, AuditLog.Action.KEY_ERASE);

    private final Repository repository;
    private final AuditLog audit;
    private final SloTargets targets;
    private final Clock clock;
    private final Replication replication;

    private ComplianceReport(Builder b) {
        this.repository = b.repository;
        this.audit = b.audit;
        this.targets = b.targets;
        this.clock = b.clock;
        this.replication = b.replication;
    }

    /** A builder over {@code repository}, which must be a keyed view. */
    public static Builder builder(Repository repository) {
        return new Builder(repository);
    }

    /**
     * Reads everything the report needs for [{@code from}, {@code to}) and returns it.
     *
     * @throws IllegalArgumentException when {@code to} is not after {@code from}
     * @throws StorageException when the catalog cannot be listed
     */
    public Report generate(Instant from, Instant to) {
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(to, "to");
        if (!to.isAfter(from)) {
            throw new IllegalArgumentException("report period: 'to' (" + to + ") must be after 'from' (" + from + ")");
        }
        List<Manifest> manifests;
        try {
            manifests = repository.catalog().list().stream().sorted(Comparator.comparing(Manifest::finishedAt)).toList();
        } catch (IOException e) {
            throw StorageException.of(RepositoryLayout.BACKUPS, "could not list the catalog for the report: " + e, e, null);
        }
        AuditLog.Read read = audit.read(from, to);

        List<Attempt> attempts = new ArrayList<>();
        List<AuditEvent> deletions = new ArrayList<>();
        List<AuditEvent> keyOps = new ArrayList<>();
        for (AuditLog.Entry e : read.entries()) {
            switch (e.action()) {
                case BACKUP -> attempts.add(new Attempt(e.at(), e.subject(), true, e.detail()));
                case BACKUP_FAILED -> attempts.add(new Attempt(e.at(), e.subject(), false, e.detail()));
                case EXPIRY_DELETION -> deletions.add(event(e));
                default -> {
                    if (KEY_ACTIONS.contains(e.action())) {
                        keyOps.add(event(e));
                    }
                }
            }
        }

        List<BackupEvidence> evidence = new ArrayList<>();
        List<Drill> drills = new ArrayList<>();
        int validations = 0;
        int passedValidations = 0;
        String newestVerified = null;
        Map<String, String> perReplica = new TreeMap<>();
        for (Manifest m : manifests) {
            boolean inPeriod = within(m.finishedAt(), from, to);
            List<ValidationResult> records = repository.validations(m.id());
            for (ValidationResult r : records) {
                if (!within(r.finishedAt(), from, to)) {
                    continue;
                }
                validations++;
                if (r.passed()) {
                    passedValidations++;
                }
                String rto = r.measurements().get("rto_ms");
                if (rto != null) {
                    drills.add(new Drill(r.finishedAt(), m.id().value(), r.validator(), r.passed(), Duration.ofMillis(Long.parseLong(rto))));
                }
            }
            Map<String, Boolean> replicas = replicaStatus(m.id());
            boolean verified = m.finishedAt().isBefore(to)
                    && repository.latestValidation(m.id()).map(ValidationResult::passed).orElse(false);
            if (verified) {
                newestVerified = m.id().value();
                replicas.forEach((name, ok) -> {
                    if (ok) {
                        perReplica.put(name, m.id().value());
                    }
                });
            }
            if (inPeriod) {
                evidence.add(evidence(m, records, replicas));
            }
        }
        drills.sort(Comparator.comparing(Drill::at));

        List<Gap> timeline = rpoTimeline(manifests, attempts, from, to);
        List<Slo> slos = List.of(successRate(attempts), validationRate(validations, passedValidations),
                rpo(timeline), rto(drills));
        return new Report(from, to, clock.instant(), targets, slos, evidence, attempts, drills, timeline, newestVerified,
                perReplica, deletions, keyOps, read.tampered().stream().map(DamagedObject::key).toList());
    }

    private Map<String, Boolean> replicaStatus(BackupId id) {
        Map<String, Boolean> out = new TreeMap<>();
        if (replication != null) {
            replication.status(id).forEach((name, r) -> out.put(name, r.passed()));
        }
        return out;
    }

    private static BackupEvidence evidence(Manifest m, List<ValidationResult> records, Map<String, Boolean> replicas) {
        List<ObjectEvidence> objects = new ArrayList<>();
        for (StoredObject o : m.objects()) {
            objects.add(new ObjectEvidence(o.name(), o.key(), o.storedSize(), o.storedSha256().hex(), o.plaintextSha256().hex()));
        }
        List<ValidationEvidence> vs = records.stream().map(r -> new ValidationEvidence(r.finishedAt(), r.validator(),
                r.passed(), r.elapsed(), r.findings(), r.measurements())).toList();
        return new BackupEvidence(m.id().value(), m.type().name(), m.startedAt(), m.finishedAt(), m.duration(),
                m.plaintextBytes(), m.storedBytes(), m.encryption().map(EncryptionInfo::kekId).orElse(null), objects, vs,
                replicas);
    }

    private List<Gap> rpoTimeline(List<Manifest> manifests, List<Attempt> attempts, Instant from, Instant to) {
        // id -> finish time of every successful backup in the period; the catalog's time wins,
        // the audit log adds backups that have expired since
        Map<String, Instant> points = new LinkedHashMap<>();
        Optional<Manifest> before = Optional.empty();
        for (Manifest m : manifests) {
            if (m.finishedAt().isBefore(from)) {
                before = Optional.of(m);
            } else if (m.finishedAt().isBefore(to)) {
                points.put(m.id().value(), m.finishedAt());
            }
        }
        for (Attempt a : attempts) {
            if (a.succeeded()) {
                points.putIfAbsent(a.backupId(), a.at());
            }
        }
        List<Map.Entry<String, Instant>> sorted = new ArrayList<>(points.entrySet());
        sorted.sort(Map.Entry.comparingByValue());
        before.ifPresent(m -> sorted.add(0, Map.entry(m.id().value(), m.finishedAt())));
        List<Gap> gaps = new ArrayList<>();
        for (int i = 1; i < sorted.size(); i++) {
            gaps.add(gap(sorted.get(i - 1).getValue(), sorted.get(i).getValue(), sorted.get(i - 1).getKey(), sorted.get(i).getKey()));
        }
        if (!sorted.isEmpty()) {
            Map.Entry<String, Instant> last = sorted.get(sorted.size() - 1);
            gaps.add(gap(last.getValue(), to, last.getKey(), null));
        }
        return gaps;
    }

    private Gap gap(Instant start, Instant end, String fromBackup, String toBackup) {
        Duration length = Duration.between(start, end);
        return new Gap(start, end, fromBackup, toBackup, length, length.compareTo(targets.rpo()) <= 0);
    }

    private Slo successRate(List<Attempt> attempts) {
        long ok = attempts.stream().filter(Attempt::succeeded).count();
        String target = "≥ " + percent(targets.successRate());
        String basis = ok + " of " + attempts.size() + " backups succeeded (audit log)";
        if (attempts.isEmpty()) {
            return new Slo(SUCCESS_RATE, "no backups", target, false, basis);
        }
        double rate = (double) ok / attempts.size();
        return new Slo(SUCCESS_RATE, percent(rate), target, rate >= targets.successRate(), basis);
    }

    private Slo validationRate(int total, int passed) {
        String target = "≥ " + percent(targets.validationPassRate());
        String basis = passed + " of " + total + " validation records passed";
        if (total == 0) {
            return new Slo(VALIDATION_PASS_RATE, "no validations", target, false, basis);
        }
        double rate = (double) passed / total;
        return new Slo(VALIDATION_PASS_RATE, percent(rate), target, rate >= targets.validationPassRate(), basis);
    }

    private Slo rpo(List<Gap> timeline) {
        String target = "≤ " + human(targets.rpo());
        if (timeline.isEmpty()) {
            return new Slo(RPO, "no backups", target, false, "no successful backup in or before the period");
        }
        Gap worst = timeline.stream().max(Comparator.comparing(Gap::length)).orElseThrow();
        Gap newest = timeline.get(timeline.size() - 1);
        String basis = "largest gap " + human(worst.length()) + " after " + worst.fromBackup() + "; newest backup "
                + human(newest.length()) + " old at the end of the period";
        return new Slo(RPO, human(worst.length()), target, worst.withinTarget(), basis);
    }

    private Slo rto(List<Drill> drills) {
        String target = "≤ " + human(targets.rto());
        if (drills.isEmpty()) {
            return new Slo(RTO, "no drills", target, false, "no restore drill measured rto_ms in the period");
        }
        Drill worst = drills.stream().max(Comparator.comparing(Drill::rto)).orElseThrow();
        return new Slo(RTO, human(worst.rto()), target, worst.rto().compareTo(targets.rto()) <= 0,
                "longest of " + drills.size() + " drills: " + worst.backupId());
    }

    private static AuditEvent event(AuditLog.Entry e) {
        return new AuditEvent(e.at(), e.action().name(), e.subject(), e.detail(), e.principal(), e.host());
    }

    private static boolean within(Instant t, Instant from, Instant to) {
        return !t.isBefore(from) && t.isBefore(to);
    }

    static String percent(double fraction) {
        return String.format(Locale.ROOT, "%.1f %%", fraction * 100);
    }

    /** "2d 3h", "6h 0m", "4m 12s", "850 ms": two units, enough for a person comparing with a target. */
    static String human(Duration d) {
        long s = d.getSeconds();
        if (s >= 86_400) {
            return s / 86_400 + "d " + (s % 86_400) / 3600 + "h";
        }
        if (s >= 3600) {
            return s / 3600 + "h " + (s % 3600) / 60 + "m";
        }
        if (s >= 60) {
            return s / 60 + "m " + s % 60 + "s";
        }
        if (s >= 1) {
            return String.format(Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
        }
        return d.toMillis() + " ms";
    }

    /** Configures a {@link ComplianceReport}. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final Repository repository;
        private AuditLog audit;
        private SloTargets targets;
        private Clock clock = Clock.systemUTC();
        private Replication replication;

        private Builder(Repository repository) {
            this.repository = Objects.requireNonNull(repository, "repository");
        }

        /** The audit log the success rate, deletions and key operations come from. Required. */
        public Builder auditLog(AuditLog audit) {
            this.audit = given.once("auditLog", this.audit, audit);
            return this;
        }

        /** The objectives. Required. */
        public Builder targets(SloTargets targets) {
            this.targets = given.once("targets", this.targets, targets);
            return this;
        }

        /** Stamps {@link Report#generatedAt()}; the system clock by default. */
        public Builder clock(Clock clock) {
            this.clock = given.once("clock", this.clock, clock);
            return this;
        }

        /** The replication setup whose replica records fill the replica columns; none by default. */
        public Builder replication(Replication replication) {
            this.replication = given.once("replication", this.replication, replication);
            return this;
        }

        /**
         * @throws IllegalStateException when the repository is not keyed, or the audit log or
         *                               targets are missing
         */
        public ComplianceReport build() {
            if (!repository.keyed()) {
                throw new IllegalStateException("compliance report: the repository must be a keyed view "
                        + "(repository.withKeys(kek)); only authenticated records are evidence");
            }
            if (audit == null) {
                throw new IllegalStateException("compliance report: set auditLog(...)");
            }
            if (targets == null) {
                throw new IllegalStateException("compliance report: set targets(SloTargets.of(rpo, rto))");
            }
            return new ComplianceReport(this);
        }
    }
}
