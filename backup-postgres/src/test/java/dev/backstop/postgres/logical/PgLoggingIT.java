package dev.backstop.postgres.logical;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import dev.backstop.core.BackupException;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.Repository;
import dev.backstop.postgres.SharedPostgres;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.slf4j.event.KeyValuePair;

class PgLoggingIT {
    @TempDir
    Path tmp;

    @RegisterExtension
    static final SharedPostgres pg = SharedPostgres.withShop("shop", 20);

    @Test
    void aFailingPgDump_logsItsStderrLineByLineAtWarn_underTheBackupsMdc() {
        BackupPipeline pipeline = BackupPipeline.builder()
                .source(PgDumpSource.builder(pg.endpoint(), "shop").pgDumpOption("--strict-names")
                        .pgDumpOption("--table=no_such_table").build())
                .repository(Repository.filesystem(tmp.resolve("repo"))).noEncryption().build();
        MDC.put("request", "r-3");
        List<ILoggingEvent> events = new ArrayList<>();
        BackupException failure;
        try (Captured logs = new Captured()) {
            failure = (BackupException) catchThrowable(pipeline::run);
            events.addAll(logs.events);
        } finally {
            assertThat(MDC.getCopyOfContextMap()).as("the caller's MDC after the run").isEqualTo(Map.of("request", "r-3"));
            MDC.clear();
        }
        assertThat(failure).isNotNull();
        String id = failure.backupId().orElseThrow().value();

        List<ILoggingEvent> stderr = events.stream().filter(e -> "tool.stderr".equals(value(e, "event"))).toList();
        assertThat(stderr).extracting(ILoggingEvent::getFormattedMessage)
                .anySatisfy(m -> assertThat(m).startsWith("pg_dump: ").contains("no matching tables were found"));
        for (ILoggingEvent e : stderr) {
            assertThat(e.getLevel()).isEqualTo(Level.WARN);
            assertThat(value(e, "tool")).isEqualTo("pg_dump");
            assertThat(e.getThreadName()).isEqualTo("backstop-stderr-pg_dump");
            assertThat(e.getMDCPropertyMap()).containsEntry("backup.id", id).containsEntry("backup.stage", "capture")
                    .containsEntry("repository", "FileSystemSink[" + tmp.resolve("repo") + "]").containsEntry("request", "r-3")
                    .containsKey("correlation.id");
        }

        ILoggingEvent started = events.stream().filter(e -> "tool.started".equals(value(e, "event"))
                && "pg_dump".equals(value(e, "tool"))).findFirst().orElseThrow();
        assertThat(started.getMDCPropertyMap()).containsEntry("backup.id", id);
        assertThat(value(started, "args").toString()).contains("--table=no_such_table").contains("--no-password");
        if (pg.endpoint().password() != null) {
            assertThat(events).allSatisfy(e -> assertThat(e.getFormattedMessage() + e.getKeyValuePairs())
                    .doesNotContain(pg.endpoint().password()));
        }
        ILoggingEvent exited = events.stream().filter(e -> "tool.exited".equals(value(e, "event"))
                && "pg_dump".equals(value(e, "tool"))).findFirst().orElseThrow();
        assertThat(exited.getLevel()).isEqualTo(Level.WARN);
        assertThat(value(exited, "exit.code")).isEqualTo(1);
    }

    private static Object value(ILoggingEvent e, String key) {
        if (e.getKeyValuePairs() != null) {
            for (KeyValuePair kv : e.getKeyValuePairs()) {
                if (kv.key.equals(key)) {
                    return kv.value;
                }
            }
        }
        return null;
    }

    /** Every event under {@code dev.backstop} from DEBUG up, with its MDC taken when it was logged. */
    private static final class Captured extends AppenderBase<ILoggingEvent> implements AutoCloseable {
        private final List<ILoggingEvent> events = java.util.Collections.synchronizedList(new ArrayList<>());
        private final Logger logger = ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger("dev.backstop");

        Captured() {
            setContext(logger.getLoggerContext());
            start();
            logger.setLevel(Level.DEBUG);
            logger.setAdditive(false);
            logger.addAppender(this);
        }

        @Override
        protected void append(ILoggingEvent e) {
            e.prepareForDeferredProcessing();
            events.add(e);
        }

        @Override
        public void close() {
            logger.detachAppender(this);
            logger.setAdditive(true);
            logger.setLevel(null);
            stop();
        }
    }
}
