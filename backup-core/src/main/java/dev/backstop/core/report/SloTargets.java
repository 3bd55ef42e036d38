package dev.backstop.core.report;

import java.time.Duration;
import java.util.Objects;

/**
 * What a {@link ComplianceReport} measures against: the largest tolerated gap between verified
 * restore points (RPO), the longest tolerated restore (RTO), and the minimum backup success and
 * validation pass rates, as fractions in [0, 1].
 */
public record SloTargets(Duration rpo, Duration rto, double successRate, double validationPassRate) {
    public SloTargets {
        Objects.requireNonNull(rpo, "rpo");
        Objects.requireNonNull(rto, "rto");
        if (rpo.isNegative() || rpo.isZero() || rto.isNegative() || rto.isZero()) {
            throw new IllegalArgumentException("SLO targets: rpo and rto must be positive, got rpo=" + rpo + ", rto=" + rto);
        }
        if (!(successRate >= 0 && successRate <= 1) || !(validationPassRate >= 0 && validationPassRate <= 1)) {
            throw new IllegalArgumentException("SLO targets: rates are fractions in [0, 1], got successRate=" + successRate
                    + ", validationPassRate=" + validationPassRate);
        }
    }

    /** The given RPO and RTO with a success rate of at least 99.5 % and every validation passing. */
    public static SloTargets of(Duration rpo, Duration rto) {
        return new SloTargets(rpo, rto, 0.995, 1.0);
    }
}
