package dev.backstop.core.report;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a {@link ComplianceReport} found for the period [{@code from}, {@code to}): the SLO
 * verdicts first, then the evidence they rest on. Immutable; {@link ReportJson} writes and reads
 * it, {@link ReportHtml} renders it.
 *
 * @param newestVerified             the newest backup whose newest authenticated validation
 *                                   passed, or null when there is none
 * @param newestVerifiedPerReplica   per replica name, the newest verified backup whose replica
 *                                   record passed
 * @param tamperedAuditEntries       audit objects that did not authenticate (they count for
 *                                   nothing, and a non-empty list is itself a finding)
 */
public record Report(Instant from, Instant to, Instant generatedAt, SloTargets targets, List<Slo> slos,
                     List<BackupEvidence> backups, List<Attempt> attempts, List<Drill> drills, List<Gap> rpoTimeline,
                     String newestVerified, Map<String, String> newestVerifiedPerReplica, List<AuditEvent> deletions,
                     List<AuditEvent> keyOperations, List<String> tamperedAuditEntries) {
    public Report {
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(to, "to");
        Objects.requireNonNull(generatedAt, "generatedAt");
        Objects.requireNonNull(targets, "targets");
        slos = List.copyOf(slos);
        backups = List.copyOf(backups);
        attempts = List.copyOf(attempts);
        drills = List.copyOf(drills);
        rpoTimeline = List.copyOf(rpoTimeline);
        newestVerifiedPerReplica = Map.copyOf(newestVerifiedPerReplica);
        deletions = List.copyOf(deletions);
        keyOperations = List.copyOf(keyOperations);
        tamperedAuditEntries = List.copyOf(tamperedAuditEntries);
    }

    /** True when every SLO was met. */
    public boolean passed() {
        return slos.stream().allMatch(Slo::met);
    }

    /** The SLO called {@code name}. */
    public Slo slo(String name) {
        return slos.stream().filter(s -> s.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no SLO '" + name + "'; have " + slos.stream().map(Slo::name).toList()));
    }

    /**
     * One objective: what was achieved and the target, both as text a person reads
     * ("99.7 %", "6h 0m"), and whether it was met. {@code basis} says what it was computed from;
     * an objective with no data in the period is not met.
     */
    public record Slo(String name, String achieved, String target, boolean met, String basis) {
        public Slo {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(achieved, "achieved");
            Objects.requireNonNull(target, "target");
            Objects.requireNonNull(basis, "basis");
        }
    }

    /** One backup attempt as the audit log recorded it. */
    public record Attempt(Instant at, String backupId, boolean succeeded, String detail) {
    }

    /** One drill (a validation record with an {@code rto_ms} measurement). */
    public record Drill(Instant at, String backupId, String validator, boolean passed, Duration rto) {
    }

    /** The time between two successful backups, or from the newest to the end of the period ({@code to} = null backup). */
    public record Gap(Instant start, Instant end, String fromBackup, String toBackup, Duration length, boolean withinTarget) {
    }

    /** An audit entry shown as evidence: an expiry deletion with its reasons, or a key operation. */
    public record AuditEvent(Instant at, String action, String subject, String detail, String principal, String host) {
    }

    /** The evidence for one backup finished in the period. */
    public record BackupEvidence(String id, String type, Instant startedAt, Instant finishedAt, Duration duration,
                                 long plaintextBytes, long storedBytes, String kekId, List<ObjectEvidence> objects,
                                 List<ValidationEvidence> validations, Map<String, Boolean> replicas) {
        public BackupEvidence {
            objects = List.copyOf(objects);
            validations = List.copyOf(validations);
            replicas = Map.copyOf(replicas);
        }
    }

    /** One stored object of a backup with its digests. */
    public record ObjectEvidence(String name, String key, long storedBytes, String storedSha256, String plaintextSha256) {
    }

    /** One validation record of a backup. */
    public record ValidationEvidence(Instant finishedAt, String validator, boolean passed, Duration elapsed,
                                     List<String> findings, Map<String, String> measurements) {
        public ValidationEvidence {
            findings = List.copyOf(findings);
            measurements = Map.copyOf(measurements);
        }
    }
}
