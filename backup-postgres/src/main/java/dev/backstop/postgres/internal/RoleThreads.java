package dev.backstop.postgres.internal;

import dev.backstop.core.internal.concurrent.DaemonThreads;
import java.util.concurrent.ThreadFactory;

/**
 * Where the threads of one public object come from: the factory its builder was given, or else
 * daemon threads named after their role, so a thread dump says which job each thread does.
 */
public final class RoleThreads {
    private static final RoleThreads DAEMON = new RoleThreads(null);
    private final ThreadFactory given;

    private RoleThreads(ThreadFactory given) {
        this.given = given;
    }

    /** {@code given} for every role, or daemon threads named by role if {@code given} is null. */
    public static RoleThreads of(ThreadFactory given) {
        return given == null ? DAEMON : new RoleThreads(given);
    }

    /** For a role that has one thread at a time. */
    public ThreadFactory named(String role) {
        return given != null ? given : DaemonThreads.named(role);
    }

    /** For a role with a pool of threads. */
    public ThreadFactory numbered(String role) {
        return given != null ? given : DaemonThreads.numbered(role);
    }

    @Override
    public String toString() {
        return given == null ? "daemon threads" : given.toString();
    }
}
