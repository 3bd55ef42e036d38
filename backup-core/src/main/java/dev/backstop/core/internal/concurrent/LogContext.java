package dev.backstop.core.internal.concurrent;

import dev.backstop.core.Stage;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.Executor;
import org.slf4j.MDC;

/**
 * The SLF4J MDC of one job (a backup, a restore, a validation, an expiry, a copy) and its
 * hand-off to the threads the job uses.
 *
 * <p>Keys: {@value #BACKUP_ID}, {@value #STAGE} (a {@link Stage} in lower case, updated as the
 * job moves on), {@value #CORRELATION_ID} (kept when the caller's MDC has one, else a fresh UUID
 * per job) and {@value #REPOSITORY} (kept when the caller's MDC names it, else the repository's
 * sink as its {@code toString()}, which never holds a secret).
 *
 * <p><b>Guarantees.</b> {@link Scope#close()} puts back exactly the map the thread had before
 * {@link #open}; a task wrapped by {@link #propagate} runs with a copy of the submitting thread's
 * map and leaves its worker thread's map as it found it (empty, for a pooled thread), so no value
 * outlives its job on any thread.
 *
 * <p><b>Threading.</b> The MDC is per thread: a scope is opened and closed on one thread.
 */
public final class LogContext {
    public static final String BACKUP_ID = "backup.id";
    public static final String STAGE = "backup.stage";
    public static final String CORRELATION_ID = "correlation.id";
    public static final String REPOSITORY = "repository";

    private LogContext() {
    }

    /**
     * Opens the scope of one job on this thread: a correlation id unless the caller's MDC has one,
     * and the repository unless the caller's MDC names it ({@code repository} may be null: none).
     */
    public static Scope open(Object repository) {
        Map<String, String> before = MDC.getCopyOfContextMap();
        if (MDC.get(CORRELATION_ID) == null) {
            MDC.put(CORRELATION_ID, UUID.randomUUID().toString());
        }
        if (repository != null && MDC.get(REPOSITORY) == null) {
            MDC.put(REPOSITORY, repository.toString());
        }
        return new Scope(before);
    }

    /** Sets {@value #STAGE} on this thread to {@code stage}, lower case. */
    public static void stage(Stage stage) {
        MDC.put(STAGE, stage.name().toLowerCase(Locale.ROOT));
    }

    /**
     * {@code task} running with a copy of this thread's MDC, taken now; afterwards the running
     * thread's own map is put back.
     */
    public static Runnable propagate(Runnable task) {
        Objects.requireNonNull(task, "task");
        Map<String, String> context = MDC.getCopyOfContextMap();
        return () -> {
            Map<String, String> own = MDC.getCopyOfContextMap();
            set(context);
            try {
                task.run();
            } finally {
                set(own);
            }
        };
    }

    /** An executor that runs each task of {@code executor} with the MDC of the thread that submitted it. */
    public static Executor propagating(Executor executor) {
        Objects.requireNonNull(executor, "executor");
        return task -> executor.execute(propagate(task));
    }

    private static void set(Map<String, String> map) {
        if (map == null || map.isEmpty()) {
            MDC.clear();
        } else {
            MDC.setContextMap(map);
        }
    }

    /** One job's MDC; closing it restores what the thread had before. Closing cannot fail. */
    public static final class Scope implements AutoCloseable {
        private final Map<String, String> before;

        private Scope(Map<String, String> before) {
            this.before = before;
        }

        /** Sets {@value #BACKUP_ID}. */
        public Scope backupId(Object id) {
            MDC.put(BACKUP_ID, id.toString());
            return this;
        }

        /** Sets {@value #STAGE}; see {@link LogContext#stage}. */
        public Scope stage(Stage stage) {
            LogContext.stage(stage);
            return this;
        }

        @Override
        public void close() {
            set(before);
        }
    }
}
