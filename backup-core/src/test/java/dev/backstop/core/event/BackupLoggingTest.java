package dev.backstop.core.event;

import static dev.backstop.core.event.CapturedLogs.mdc;
import static dev.backstop.core.event.CapturedLogs.value;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import dev.backstop.core.BackupException;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.ForwardingSink;
import dev.backstop.core.ObjectBinding;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.Transform;
import dev.backstop.core.TransformSpec;
import dev.backstop.core.internal.concurrent.LogContext;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.schedule.BackupScheduler;
import dev.backstop.core.schedule.Schedule;
import dev.backstop.core.validate.Validators;
import dev.backstop.core.source.CommandSource;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

class BackupLoggingTest {
    private static final String SCRIPT = "echo 'careful: disk nearly full' >&2; printf 'some bytes to keep'";

    @TempDir
    Path dir;

    private final ExecutorService pool = Executors.newFixedThreadPool(2);

    @AfterEach
    void tearDown() {
        pool.shutdownNow();
        MDC.clear();
    }

    private BackupPipeline pipeline(String script, Transform transform) {
        BackupPipeline.Builder b = BackupPipeline.builder().source(CommandSource.of("sh", "-c", script))
                .repository(Repository.filesystem(dir.resolve("repo"))).noEncryption().executor(pool)
                .listener(LoggingListener.create());
        if (transform != null) {
            b.transform(transform);
        }
        return b.build();
    }

    @Test
    void aBackup_logsItsMilestonesWithTheRunsMdc_onTheCallersThreadAndOnItsHandOffThreads() throws Exception {
        MDC.put("request", "r-17");
        Manifest m;
        List<ILoggingEvent> events;
        try (CapturedLogs logs = new CapturedLogs()) {
            m = pipeline(SCRIPT, new LoggingCodec()).run();
            events = logs.events();
        }
        String id = m.id().value();
        String caller = Thread.currentThread().getName();

        ILoggingEvent started = only(events, "backup.started");
        assertThat(started.getLevel()).isEqualTo(Level.INFO);
        assertThat(started.getFormattedMessage()).isEqualTo("backup " + id + " started");
        assertThat(value(started, "backup.id")).isEqualTo(id);
        assertThat(mdc(started)).containsEntry(LogContext.BACKUP_ID, id).containsEntry(LogContext.STAGE, "capture")
                .containsEntry(LogContext.REPOSITORY, "FileSystemSink[" + dir.resolve("repo") + "]")
                .containsEntry("request", "r-17").containsKey(LogContext.CORRELATION_ID);
        String correlation = mdc(started).get(LogContext.CORRELATION_ID);
        assertThat(correlation).matches("[0-9a-f-]{36}");

        ILoggingEvent stored = only(events, "object.stored");
        assertThat(stored.getLevel()).isEqualTo(Level.DEBUG);
        assertThat(value(stored, "bytes.in")).isEqualTo(18L);
        assertThat(mdc(stored)).containsEntry(LogContext.STAGE, "store");

        ILoggingEvent succeeded = only(events, "backup.succeeded");
        assertThat(succeeded.getLevel()).isEqualTo(Level.INFO);
        assertThat(succeeded.getFormattedMessage()).isEqualTo("backup " + id + " stored");
        assertThat(value(succeeded, "bytes.in")).isEqualTo(18L);
        assertThat(value(succeeded, "bytes.stored")).isEqualTo(18L);
        assertThat(mdc(succeeded)).containsEntry(LogContext.STAGE, "catalog").containsEntry(LogContext.BACKUP_ID, id);

        // the codec runs on the chain's stage thread, the tool's stderr on its reader thread
        ILoggingEvent codec = events.stream().filter(e -> e.getLoggerName().equals("test.codec")).findFirst().orElseThrow();
        assertThat(codec.getThreadName()).isNotEqualTo(caller).startsWith("pool-");
        ILoggingEvent stderr = only(events, "tool.stderr");
        assertThat(stderr.getLevel()).isEqualTo(Level.WARN);
        assertThat(stderr.getFormattedMessage()).isEqualTo("sh: careful: disk nearly full");
        assertThat(value(stderr, "tool")).isEqualTo("sh");
        assertThat(stderr.getThreadName()).isEqualTo("backstop-stderr-sh");
        for (ILoggingEvent handedOff : List.of(codec, stderr)) {
            assertThat(mdc(handedOff)).as(handedOff.getFormattedMessage()).containsEntry(LogContext.BACKUP_ID, id)
                    .containsEntry(LogContext.STAGE, "capture").containsEntry(LogContext.CORRELATION_ID, correlation)
                    .containsEntry(LogContext.REPOSITORY, "FileSystemSink[" + dir.resolve("repo") + "]")
                    .containsEntry("request", "r-17");
        }
        assertThat(events).allSatisfy(e -> assertThat(mdc(e)).containsEntry(LogContext.CORRELATION_ID, correlation));

        assertThat(MDC.getCopyOfContextMap()).as("the caller's MDC after the run").isEqualTo(Map.of("request", "r-17"));
        assertThat(poolThreadsMdc()).as("the pool's threads after the run").containsOnly(Map.of());
    }

    @Test
    void aCallersCorrelationId_isKeptForTheRunAndAfterIt() {
        MDC.put(LogContext.CORRELATION_ID, "ticket-4711");
        MDC.put(LogContext.REPOSITORY, "nightly");
        List<ILoggingEvent> events;
        try (CapturedLogs logs = new CapturedLogs()) {
            pipeline(SCRIPT, new LoggingCodec()).run();
            events = logs.events();
        }
        assertThat(events).extracting(e -> mdc(e).get(LogContext.CORRELATION_ID)).containsOnly("ticket-4711");
        assertThat(events).extracting(e -> mdc(e).get(LogContext.REPOSITORY)).containsOnly("nightly");
        assertThat(MDC.getCopyOfContextMap()).isEqualTo(Map.of(LogContext.CORRELATION_ID, "ticket-4711",
                LogContext.REPOSITORY, "nightly"));
    }

    @Test
    void runsWithoutACallersCorrelationId_eachGetTheirOwn_andLeaveTheCallersMdcEmpty() {
        Set<String> ids = new HashSet<>();
        try (CapturedLogs logs = new CapturedLogs()) {
            BackupPipeline p = pipeline(SCRIPT, null);
            p.run();
            p.run();
            logs.named("backup.succeeded").forEach(e -> ids.add(mdc(e).get(LogContext.CORRELATION_ID)));
        }
        assertThat(ids).hasSize(2).doesNotContainNull();
        assertThat(MDC.getCopyOfContextMap()).isNullOrEmpty();
    }

    @Test
    void aFailedBackup_logsTheToolsStderrAndTheFailureAtItsStage_thenRestoresTheCallersMdc() throws Exception {
        MDC.put("request", "r-18");
        List<ILoggingEvent> events;
        try (CapturedLogs logs = new CapturedLogs()) {
            assertThatThrownBy(() -> pipeline("echo 'fatal: no such table' >&2; exit 3", new LoggingCodec()).run())
                    .isInstanceOf(BackupException.class);
            events = logs.events();
        }
        ILoggingEvent failed = only(events, "backup.failed");
        assertThat(failed.getLevel()).isEqualTo(Level.ERROR);
        assertThat(value(failed, "stage")).isEqualTo("capture");
        assertThat(value(failed, "retryable")).isEqualTo(false);
        String id = (String) value(failed, "backup.id");
        assertThat(failed.getFormattedMessage()).startsWith("backup " + id + " failed at capture: ")
                .contains("sh failed after 0 bytes");
        assertThat(mdc(failed)).containsEntry(LogContext.BACKUP_ID, id).containsEntry(LogContext.STAGE, "capture");
        ILoggingEvent stderr = only(events, "tool.stderr");
        assertThat(stderr.getFormattedMessage()).isEqualTo("sh: fatal: no such table");
        assertThat(mdc(stderr)).containsEntry(LogContext.BACKUP_ID, id).containsEntry("request", "r-18");
        assertThat(MDC.getCopyOfContextMap()).isEqualTo(Map.of("request", "r-18"));
        assertThat(poolThreadsMdc()).containsOnly(Map.of());
    }

    @Test
    void aRestore_logsStartedAndFinishedUnderTheBackupsIdWithStageRestore() {
        Manifest m = pipeline(SCRIPT, null).run();
        Restore restore = Restore.builder().repository(Repository.filesystem(dir.resolve("repo")))
                .listener(LoggingListener.create()).executor(pool).build();
        List<ILoggingEvent> events;
        try (CapturedLogs logs = new CapturedLogs()) {
            restore.toFile(m, "data", dir.resolve("restored"));
            events = logs.events();
        }
        for (String name : List.of("restore.started", "restore.finished")) {
            ILoggingEvent e = only(events, name);
            assertThat(e.getLevel()).isEqualTo(Level.INFO);
            assertThat(mdc(e)).containsEntry(LogContext.BACKUP_ID, m.id().value()).containsEntry(LogContext.STAGE, "restore")
                    .containsKey(LogContext.CORRELATION_ID);
        }
        assertThat(value(only(events, "restore.finished"), "bytes")).isEqualTo(18L);
        assertThat(MDC.getCopyOfContextMap()).isNullOrEmpty();
    }

    @Test
    void aFailedRestore_isLoggedAtErrorWithTheFailure() throws Exception {
        Manifest m = pipeline(SCRIPT, null).run();
        Path object = dir.resolve("repo").resolve(Repository.dataKey(m.id(), "data"));
        byte[] bytes = Files.readAllBytes(object);
        bytes[0] ^= 1;
        Files.write(object, bytes);
        Restore restore = Restore.builder().repository(Repository.filesystem(dir.resolve("repo"))).build();
        List<ILoggingEvent> events;
        try (CapturedLogs logs = new CapturedLogs()) {
            assertThatThrownBy(() -> restore.toFile(m, "data", dir.resolve("restored"))).isInstanceOf(BackupException.class);
            events = logs.events();
        }
        ILoggingEvent failed = only(events, "restore.failed");
        assertThat(failed.getLevel()).isEqualTo(Level.ERROR);
        assertThat(failed.getFormattedMessage()).startsWith("restore of " + m.id() + " failed: ");
        assertThat(mdc(failed)).containsEntry(LogContext.BACKUP_ID, m.id().value()).containsEntry(LogContext.STAGE, "restore");
        assertThat(Files.exists(dir.resolve("restored"))).isFalse();
    }

    @Test
    void aValidation_logsItsResultWithTheValidatorAndStageVerify() {
        Manifest m = pipeline(SCRIPT, null).run();
        Restore restore = Restore.builder().repository(Repository.filesystem(dir.resolve("repo")))
                .listener(LoggingListener.create()).build();
        List<ILoggingEvent> events;
        try (CapturedLogs logs = new CapturedLogs()) {
            restore.verifyStored(m);
            events = logs.events();
        }
        ILoggingEvent passed = only(events, "validation.passed");
        assertThat(passed.getLevel()).isEqualTo(Level.INFO);
        assertThat(value(passed, "backup.id")).isEqualTo(m.id().value());
        assertThat(value(passed, "validator")).isNotNull();
        assertThat(mdc(passed)).containsEntry(LogContext.STAGE, "verify").containsEntry(LogContext.BACKUP_ID, m.id().value());
    }

    @Test
    void aScheduledRun_keepsOneCorrelationIdAcrossRetriesOnTheExecutorAndItsValidation() throws Exception {
        Repository fs = Repository.filesystem(dir.resolve("repo"));
        AtomicInteger failures = new AtomicInteger(2);
        Repository flaky = Repository.on(new ForwardingSink(fs.sink()) {
            @Override
            public Upload create(String key, ObjectKind kind) throws IOException {
                if (kind == ObjectKind.DATA && failures.getAndDecrement() > 0) {
                    throw new IOException("injected: connection reset");
                }
                return super.create(key, kind);
            }
        });
        ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor();
        List<ILoggingEvent> events;
        try (CapturedLogs logs = new CapturedLogs()) {
            BackupScheduler.builder()
                    .pipeline(BackupPipeline.builder().source(CommandSource.of("sh", "-c", SCRIPT)).repository(flaky)
                            .noEncryption().listener(LoggingListener.create()).build())
                    .schedule(Schedule.every(Duration.ofDays(1))).executor(retries).retries(3, Duration.ofMillis(1))
                    .validateWith(Restore.builder().repository(flaky).build(), Validators.storedChecksums())
                    .listener(LoggingListener.create()).build().runNow().orElseThrow();
            events = logs.events();
        } finally {
            retries.shutdownNow();
        }
        List<ILoggingEvent> retried = logs(events, "backup.retried");
        assertThat(retried).hasSize(2);
        ILoggingEvent stored = only(events, "backup.succeeded");
        assertThat(stored.getThreadName()).as("the last attempt runs on the executor").isNotEqualTo(Thread.currentThread().getName());
        ILoggingEvent passed = only(events, "validation.passed");
        assertThat(mdc(passed)).containsEntry(LogContext.STAGE, "verify");
        String correlation = mdc(stored).get(LogContext.CORRELATION_ID);
        assertThat(events).extracting(e -> mdc(e).get(LogContext.CORRELATION_ID)).containsOnly(correlation);
        assertThat(retried).extracting(e -> value(e, "backup.id")).doesNotHaveDuplicates()
                .doesNotContain(mdc(stored).get(LogContext.BACKUP_ID));
        assertThat(MDC.getCopyOfContextMap()).isNullOrEmpty();
    }

    private static List<ILoggingEvent> logs(List<ILoggingEvent> events, String name) {
        return events.stream().filter(e -> name.equals(value(e, "event"))).toList();
    }

    /** The MDC each of the pool's two threads has when given a task after a run. */
    private List<Map<String, String>> poolThreadsMdc() throws Exception {
        CountDownLatch both = new CountDownLatch(2);
        List<Future<Map<String, String>>> seen = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            // each task holds its thread until the other started, so both threads answer
            seen.add(pool.submit(() -> {
                both.countDown();
                both.await(30, TimeUnit.SECONDS);
                Map<String, String> map = MDC.getCopyOfContextMap();
                return map == null ? Map.of() : map;
            }));
        }
        List<Map<String, String>> out = new ArrayList<>();
        for (Future<Map<String, String>> f : seen) {
            out.add(f.get(30, TimeUnit.SECONDS));
        }
        return out;
    }

    private static ILoggingEvent only(List<ILoggingEvent> events, String name) {
        List<ILoggingEvent> found = events.stream().filter(e -> name.equals(value(e, "event"))).toList();
        assertThat(found).as("events named %s in %s", name, events).hasSize(1);
        return found.get(0);
    }

    /** A user's codec that logs from its encoder, which runs on a stage thread of the chain. */
    private static final class LoggingCodec implements Transform {
        @Override
        public TransformSpec spec() {
            return new TransformSpec("logging-identity", Map.of());
        }

        @Override
        public OutputStream encode(OutputStream out, ObjectBinding binding) {
            return new FilterOutputStream(out) {
                private boolean logged;

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    if (!logged) {
                        logged = true;
                        LoggerFactory.getLogger("test.codec").info("codec encoding {}", binding);
                    }
                    out.write(b, off, len);
                }
            };
        }

        @Override
        public InputStream decode(InputStream in, ObjectBinding binding) {
            return in;
        }
    }
}
