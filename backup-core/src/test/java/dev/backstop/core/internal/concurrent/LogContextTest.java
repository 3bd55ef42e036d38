package dev.backstop.core.internal.concurrent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.Stage;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

class LogContextTest {
    private final ExecutorService pool = Executors.newSingleThreadExecutor();

    @AfterEach
    void tearDown() {
        pool.shutdownNow();
        MDC.clear();
    }

    @Test
    void aScope_setsItsKeys_keepsACallersCorrelationIdAndRepository_andPutsBackExactlyWhatWasThere() {
        MDC.put(LogContext.CORRELATION_ID, "c-1");
        MDC.put(LogContext.REPOSITORY, "nightly");
        MDC.put(LogContext.STAGE, "backup");
        Map<String, String> before = MDC.getCopyOfContextMap();
        try (LogContext.Scope s = LogContext.open("FileSystemSink[/r]").backupId("b-1").stage(Stage.CAPTURE)) {
            assertThat(MDC.getCopyOfContextMap()).isEqualTo(Map.of(LogContext.CORRELATION_ID, "c-1", LogContext.REPOSITORY,
                    "nightly", LogContext.STAGE, "capture", LogContext.BACKUP_ID, "b-1"));
            s.stage(Stage.STORE);
            assertThat(MDC.get(LogContext.STAGE)).isEqualTo("store");
        }
        assertThat(MDC.getCopyOfContextMap()).isEqualTo(before);
    }

    @Test
    void aScopeOnAnEmptyMdc_getsAFreshCorrelationIdAndTheRepository_andLeavesTheMdcEmpty() {
        LogContext.Scope scope = LogContext.open("FileSystemSink[/r]");
        String id = MDC.get(LogContext.CORRELATION_ID);
        assertThat(MDC.get(LogContext.REPOSITORY)).isEqualTo("FileSystemSink[/r]");
        scope.close();
        assertThat(id).matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
        assertThat(MDC.getCopyOfContextMap()).isNullOrEmpty();
    }

    @Test
    void aPropagatedTask_runsWithTheSubmittersMdc_andLeavesItsPooledThreadAsItFoundIt() throws Exception {
        MDC.put(LogContext.BACKUP_ID, "b-2");
        Map<String, String> seen = new HashMap<>();
        pool.submit(LogContext.propagate(() -> seen.putAll(MDC.getCopyOfContextMap()))).get(30, TimeUnit.SECONDS);
        assertThat(seen).isEqualTo(Map.of(LogContext.BACKUP_ID, "b-2"));
        Map<String, String> after = pool.submit(MDC::getCopyOfContextMap).get(30, TimeUnit.SECONDS);
        assertThat(after).isNullOrEmpty();

        // a worker that has a map of its own gets it back
        pool.submit(() -> MDC.put("worker", "w")).get(30, TimeUnit.SECONDS);
        pool.submit(LogContext.propagate(() -> assertThat(MDC.get("worker")).isNull())).get(30, TimeUnit.SECONDS);
        assertThat(pool.submit(MDC::getCopyOfContextMap).get(30, TimeUnit.SECONDS)).isEqualTo(Map.of("worker", "w"));
    }
}
