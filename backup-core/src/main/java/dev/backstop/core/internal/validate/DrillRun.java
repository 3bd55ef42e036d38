package dev.backstop.core.internal.validate;

import dev.backstop.core.Restore;
import dev.backstop.core.Stage;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.internal.concurrent.LogContext;
import dev.backstop.core.manifest.Manifest;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * One run of a restore drill: the findings and measurements it collects, its elapsed time on the
 * drill's clock, and the result it ends with, recorded in the repository and logged as the drill
 * was built to.
 *
 * <p>Internal rather than in {@code dev.backstop.core.validate}: a user's own {@link
 * dev.backstop.core.Validator} needs none of it (the scheduler times, records and reports whatever a
 * validator returns), while the drills share a log event whose keys operators read.
 *
 * <p><b>Guarantees.</b> {@link #finish()} returns a {@link ValidationResult} named as the drill,
 * stamped with the clock's instant at that moment, its elapsed time measured from {@link #start},
 * with the findings in the order they were added and every measurement; when the drill records, it
 * is appended to the repository's validation records before it is returned. When the drill logs,
 * one event {@code drill.finished} (INFO when passed, WARN otherwise) carries {@code backup.id},
 * {@code passed}, {@code findings} and each measurement as a key.
 *
 * <p><b>Threading.</b> One run belongs to one thread.
 */
public final class DrillRun {
    private final String validator;
    private final Manifest manifest;
    private final Restore restore;
    private final Clock clock;
    private final boolean record;
    private final Logger log;
    private final Instant started;
    private final List<String> findings = new ArrayList<>();
    private final Map<String, String> measured = new LinkedHashMap<>();

    private DrillRun(String validator, Manifest manifest, Restore restore, Clock clock, boolean record, Logger log) {
        this.validator = Objects.requireNonNull(validator, "validator");
        this.manifest = Objects.requireNonNull(manifest, "manifest");
        this.restore = Objects.requireNonNull(restore, "restore");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.record = record;
        this.log = log;
        this.started = clock.instant();
    }

    /**
     * Starts the run of drill {@code validator} on {@code manifest}'s backup now on {@code clock};
     * {@code record} appends its result to {@code restore}'s repository, {@code log} (or null: no
     * event) receives its {@code drill.finished} event.
     */
    public static DrillRun start(String validator, Manifest manifest, Restore restore, Clock clock, boolean record, Logger log) {
        return new DrillRun(validator, manifest, restore, clock, record, log);
    }

    /** A drill's body, run by {@link #inLogContext}. */
    @FunctionalInterface
    public interface Body {
        ValidationResult run() throws IOException;
    }

    /**
     * Runs {@code body} with the log context of {@code manifest}'s backup in the verify stage on
     * this thread (and on the threads it propagates to), as a drill called outside a scheduler
     * needs; the previous context is back when it returns or throws.
     */
    public static ValidationResult inLogContext(Manifest manifest, Restore restore, Body body) throws IOException {
        LogContext.Scope log = LogContext.open(restore.repository().sink()).backupId(manifest.id()).stage(Stage.VERIFY);
        try {
            return body.run();
        } finally {
            log.close();
        }
    }

    /** The run's findings, for the drill to add to. */
    public List<String> findings() {
        return findings;
    }

    /** The run's measurements in the order the drill puts them, for the drill to put to. */
    public Map<String, String> measured() {
        return measured;
    }

    /** The time since the run started, on the drill's clock. */
    public Duration elapsed() {
        return Duration.between(started, clock.instant());
    }

    /** The run's result: recorded and logged if the drill does so. */
    public ValidationResult finish() {
        Instant end = clock.instant();
        ValidationResult r = new ValidationResult(manifest.id(), validator, end, Duration.between(started, end), findings, measured);
        if (log != null) {
            LoggingEventBuilder e = (r.passed() ? log.atInfo() : log.atWarn()).addKeyValue("event", "drill.finished")
                    .addKeyValue("backup.id", manifest.id().value()).addKeyValue("passed", r.passed())
                    .addKeyValue("findings", findings);
            measured.forEach(e::addKeyValue);
            e.log("restore drill of {}: {}", manifest.id(), r.passed() ? "passed" : findings.size() + " finding(s), first: "
                    + findings.get(0));
        }
        if (record) {
            restore.repository().recordValidation(r);
        }
        return r;
    }
}
