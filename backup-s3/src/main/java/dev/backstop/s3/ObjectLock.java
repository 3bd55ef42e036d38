package dev.backstop.s3;

import dev.backstop.core.ObjectKind;
import dev.backstop.core.retention.TierSchedule;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * S3 Object Lock (WORM) settings an {@link S3Sink} requests with every PUT of a protected object:
 * a retention mode with a retain-until date of <i>write time + {@link #retainFor()}</i>, and
 * optionally a legal hold.
 *
 * <p><b>Guarantees.</b> Only immutable backup objects are protected: {@link ObjectKind#DATA},
 * {@link ObjectKind#MANIFEST}, {@link ObjectKind#LOG} and {@link ObjectKind#VALIDATION}. Wrapped
 * data keys stay deletable (so destroying one crypto-erases a backup) and lock leases stay
 * deletable (so a lock can be released).
 *
 * <p><b>Restrictions.</b> The bucket must have Object Lock enabled (which implies versioning).
 * Enforcement is S3's: Backstop requests retention and reads it back, and {@link S3Sink#delete}
 * reports S3's refusal as {@link dev.backstop.core.ObjectLockedException}. The local test server
 * stores these settings but does not enforce them; only real S3 (or a server that implements
 * Object Lock) proves enforcement. In COMPLIANCE mode nobody, not even the account root, can
 * delete an object before its date: choose {@link #retainFor()} from your retention policy's
 * minimum age, not longer.
 *
 * <p>Immutable.
 */
public final class ObjectLock {
    /** S3's retention modes. */
    public enum Mode {
        /** Users with {@code s3:BypassGovernanceRetention} may still delete. */
        GOVERNANCE,
        /** Nobody may delete before the retain-until date. */
        COMPLIANCE
    }

    static final Set<ObjectKind> PROTECTED =
            Set.of(ObjectKind.DATA, ObjectKind.MANIFEST, ObjectKind.LOG, ObjectKind.VALIDATION, ObjectKind.AUDIT);

    private final Mode mode;
    private final Duration retainFor;
    private final boolean legalHold;

    private ObjectLock(Mode mode, Duration retainFor, boolean legalHold) {
        this.mode = mode;
        this.retainFor = retainFor;
        this.legalHold = legalHold;
    }

    /** Retention in {@code mode} for {@code retainFor} after each object is written. */
    public static ObjectLock retain(Mode mode, Duration retainFor) {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(retainFor, "retainFor");
        if (retainFor.compareTo(Duration.ofDays(1)) < 0) {
            throw new IllegalArgumentException("object lock retainFor: got " + retainFor + ", must be at least 1 day");
        }
        return new ObjectLock(mode, retainFor, false);
    }

    /**
     * Retention derived from a tier schedule: objects are locked until the age at which the
     * schedule lets them be deleted, so a lock never outlives what retention wants.
     */
    public static ObjectLock retain(Mode mode, TierSchedule schedule) {
        Duration d = schedule.deleteAfter().orElseThrow(() -> new IllegalArgumentException(
                "object lock from tier schedule " + schedule + ": the schedule has no deleteAfter, so no retain-until date follows from it"));
        return retain(mode, d);
    }

    /** A legal hold only, with no retention date: objects stay until the hold is lifted. */
    public static ObjectLock legalHoldOnly() {
        return new ObjectLock(null, null, true);
    }

    /** The same retention plus a legal hold on every protected object. */
    public ObjectLock withLegalHold() {
        return new ObjectLock(mode, retainFor, true);
    }

    /** The retention mode, or null for a legal hold only. */
    public Mode mode() {
        return mode;
    }

    /** How long after writing an object stays locked, or null for a legal hold only. */
    public Duration retainFor() {
        return retainFor;
    }

    public boolean legalHold() {
        return legalHold;
    }

    @Override
    public String toString() {
        return "ObjectLock[" + (mode == null ? "" : mode + " " + retainFor.toDays() + "d") + (legalHold ? " legal-hold" : "") + "]";
    }
}
