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
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.UUID;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The command line's log: Logback writing to stderr, as text or as JSON lines (Logback's own
 * {@link JsonEncoder}: one object per event with {@code level}, {@code loggerName}, {@code
 * formattedMessage}, {@code mdc} and {@code kvpList}), and the MDC keys each job runs under.
 *
 * <p>MDC keys: {@value #CORRELATION_ID} (one per command, and one per daemon tick), {@value
 * #REPOSITORY} and {@value #STAGE} (the job: {@code backup}, {@code expiry}, {@code drill}, or the
 * command's name). Inside a job the library keeps the correlation id and the repository, adds
 * {@value #BACKUP_ID}, sets {@value #STAGE} to the stage it is in (on a failure event the failing
 * stage), and hands all of them to the threads it works on; the events themselves come from
 * {@link dev.backstop.core.event.LoggingListener}.
 */
final class Logging {
    static final String CORRELATION_ID = "correlation.id";
    static final String REPOSITORY = "repository";
    static final String STAGE = "backup.stage";
    static final String BACKUP_ID = "backup.id";

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
            // and which replica streams the binlog, which stands by
            ctx.getLogger(LeasedCompanion.class).setLevel(Level.INFO);
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
