package dev.backstop.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.Encoder;
import dev.backstop.cli.config.BackstopConfig;
import dev.backstop.cli.config.BackstopConfig.LogFormat;
import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.event.BackupListener;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.ValidationResult;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The command line's log: Logback writing to stderr, as text or as JSON lines (Logback's own
 * {@link JsonEncoder}: one object per event with {@code level}, {@code loggerName}, {@code
 * formattedMessage}, {@code mdc} and {@code kvpList}), and the MDC keys each job runs under.
 *
 * <p>MDC keys: {@value #CORRELATION_ID} (one per command, and one per daemon tick), {@value
 * #REPOSITORY}, {@value #STAGE} (the job: {@code backup}, {@code expiry}, {@code drill}, or the
 * command's name; on a failure event the failing stage) and {@value #BACKUP_ID} (set by {@link
 * #listener()} from the moment a backup has its id until it succeeded or failed). They are
 * thread-local: events logged on the pipeline's hand-off threads carry none.
 */
final class Logging {
    static final String CORRELATION_ID = "correlation.id";
    static final String REPOSITORY = "repository";
    static final String STAGE = "backup.stage";
    static final String BACKUP_ID = "backup.id";

    private static final Logger EVENTS = LoggerFactory.getLogger("dev.backstop.cli.events");

    private Logging() {
    }

    /**
     * Sends every log event to {@code err} in {@code format}. Text shows warnings, and the
     * daemon's own ticks; JSON shows Backstop's events from info up, for a log shipper.
     */
    static void configure(LogFormat format, PrintWriter err) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
            // another SLF4J provider won (an embedding application's): its configuration stands
            return;
        }
        ctx.reset();
        Encoder<ILoggingEvent> encoder;
        if (format == LogFormat.JSON) {
            JsonEncoder json = new JsonEncoder();
            json.setWithSequenceNumber(false);
            json.setWithNanoseconds(false);
            json.setWithContext(false);
            json.setWithArguments(false);
            json.setWithMessage(false);
            json.setWithFormattedMessage(true);
            encoder = json;
        } else {
            PatternLayoutEncoder text = new PatternLayoutEncoder();
            text.setPattern("%d{yyyy-MM-dd'T'HH:mm:ss.SSSX,UTC} %-5level %logger{0}: %msg %kvp{NONE}%n");
            encoder = text;
        }
        encoder.setContext(ctx);
        encoder.start();
        OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
        appender.setName("stderr");
        appender.setContext(ctx);
        appender.setEncoder(encoder);
        appender.setOutputStream(new WriterStream(err));
        appender.start();
        ch.qos.logback.classic.Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.addAppender(appender);
        root.setLevel(Level.WARN);
        if (format == LogFormat.JSON) {
            ctx.getLogger("dev.backstop").setLevel(Level.INFO);
        } else {
            // which replica ran or skipped which tick is the daemon's log
            ctx.getLogger(Daemon.class).setLevel(Level.INFO);
        }
    }

    /**
     * Puts a fresh correlation id, the repository and {@code stage} into the MDC until the scope
     * is closed, which restores what was there before.
     */
    static Scope job(String stage, BackstopConfig config) {
        Map<String, String> before = MDC.getCopyOfContextMap();
        MDC.put(CORRELATION_ID, UUID.randomUUID().toString());
        MDC.put(REPOSITORY, repository(config));
        MDC.put(STAGE, stage);
        return () -> {
            if (before == null) {
                MDC.clear();
            } else {
                MDC.setContextMap(before);
            }
        };
    }

    /** An MDC scope; closing it cannot fail. */
    interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    /** The repository as the logs name it: a directory or {@code s3://bucket/prefix}, never a credential. */
    static String repository(BackstopConfig config) {
        BackstopConfig.Storage s = config.storage();
        return s.s3() ? "s3://" + s.bucket().orElseThrow() + "/" + s.prefix() : s.path().orElseThrow().toString();
    }

    /**
     * A listener that sets {@value #BACKUP_ID} while a backup runs and logs each event with its
     * figures as key-values: started, stored, failed (with {@value #STAGE} the failing stage),
     * retried, expired, validated.
     */
    static BackupListener listener() {
        return new BackupListener() {
            @Override
            public void backupStarted(BackupId id, CaptureSource source) {
                MDC.put(BACKUP_ID, id.value());
                EVENTS.atInfo().addKeyValue("event", "backup.started").log("backup {} started", id);
            }

            @Override
            public void backupSucceeded(Manifest m) {
                EVENTS.atInfo().addKeyValue("event", "backup.succeeded").addKeyValue("bytes.in", m.plaintextBytes())
                        .addKeyValue("bytes.stored", m.storedBytes()).addKeyValue("duration.ms", m.duration().toMillis())
                        .log("backup {} stored", m.id());
                MDC.remove(BACKUP_ID);
            }

            @Override
            public void backupFailed(BackupId id, BackupException failure) {
                failed(id, failure, "backup.failed", "backup {} failed at {}: {}");
                MDC.remove(BACKUP_ID);
            }

            @Override
            public void backupAttemptFailed(BackupId id, BackupException failure, int attempt) {
                failed(id, failure, "backup.retried", "backup {} attempt failed at {}, a retry follows: {}");
            }

            @Override
            public void backupExpired(BackupId id, long storedBytes, List<String> reasons) {
                EVENTS.atInfo().addKeyValue("event", "backup.expired").addKeyValue(BACKUP_ID, id.value())
                        .addKeyValue("bytes.freed", storedBytes).log("backup {} deleted: {}", id, String.join("; ", reasons));
            }

            @Override
            public void validated(ValidationResult r) {
                var e = r.passed() ? EVENTS.atInfo() : EVENTS.atWarn();
                e.addKeyValue("event", "validation." + (r.passed() ? "passed" : "failed")).addKeyValue(BACKUP_ID, r.backupId().value())
                        .addKeyValue("validator", r.validator()).addKeyValue("duration.ms", r.elapsed().toMillis())
                        .log("{}", r);
            }

            @Override
            public void restoreFinished(BackupId id, long plaintextBytes, Duration elapsed) {
                EVENTS.atInfo().addKeyValue("event", "restore.finished").addKeyValue(BACKUP_ID, id.value())
                        .addKeyValue("bytes", plaintextBytes).addKeyValue("duration.ms", elapsed.toMillis())
                        .log("restore of {} finished", id);
            }
        };
    }

    private static void failed(BackupId id, BackupException failure, String event, String message) {
        String job = MDC.get(STAGE);
        String stage = failure.stage().name().toLowerCase(Locale.ROOT);
        MDC.put(STAGE, stage);
        try {
            EVENTS.atWarn().addKeyValue("event", event).addKeyValue("retryable", failure.retryable())
                    .log(message, id, stage, failure.getMessage());
        } finally {
            if (job == null) {
                MDC.remove(STAGE);
            } else {
                MDC.put(STAGE, job);
            }
        }
    }

    /**
     * The appender's stream onto the command's error writer. The encoder hands over whole events
     * (one UTF-8 array per write), so each write decodes on its own; closing flushes and leaves
     * the writer open: it is the caller's.
     */
    private static final class WriterStream extends OutputStream {
        private final PrintWriter writer;

        WriterStream(PrintWriter writer) {
            this.writer = writer;
        }

        @Override
        public void write(int b) {
            writer.write(new String(new byte[] {(byte) b}, StandardCharsets.UTF_8));
        }

        @Override
        public void write(byte[] b, int off, int len) {
            writer.write(new String(b, off, len, StandardCharsets.UTF_8));
        }

        @Override
        public void flush() {
            writer.flush();
        }

        @Override
        public void close() {
            writer.flush();
        }
    }
}
