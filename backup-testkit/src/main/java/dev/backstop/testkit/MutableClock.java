package dev.backstop.testkit;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Objects;

/**
 * A UTC clock that stands still until the test moves it: give it to whatever takes a {@link Clock}
 * (schedulers, retention, alerts) and to a {@link ManualExecutor}, then {@link #advance} and run
 * what became due.
 *
 * <p><b>Threading.</b> Reads and moves are safe from any thread; a move is seen by every later read.
 */
public final class MutableClock extends Clock {
    private volatile Instant now;

    /** A clock that reads {@code start} until moved. */
    public MutableClock(Instant start) {
        this.now = Objects.requireNonNull(start, "start");
    }

    /** Moves the clock forward by {@code d} (which may not be negative: time does not go back). */
    public void advance(Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException("advance: got " + d + ", must be >= 0 (use set to go back)");
        }
        synchronized (this) {
            now = now.plus(d);
        }
    }

    /** Sets the clock to {@code t}, also backwards, as a wall clock may be set. */
    public void set(Instant t) {
        now = Objects.requireNonNull(t, "t");
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    /** This clock: it always reads UTC, whatever zone is asked for. */
    @Override
    public Clock withZone(ZoneId zone) {
        return this;
    }

    @Override
    public Instant instant() {
        return now;
    }

    @Override
    public String toString() {
        return "MutableClock[" + now + "]";
    }
}
