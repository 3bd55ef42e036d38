package dev.backstop.core.internal.concurrent;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * The wait until a server this process started accepts connections: asks it at a fixed interval
 * until it answers, its process exits, or a deadline passes. Polling, because a server gives no
 * other signal of readiness to a process that is not its service manager.
 *
 * <p><b>Guarantees.</b> {@link #await} returns the first answer; it throws an {@link IOException}
 * naming the server when the process exits first ({@code <server> exited with code <n> during
 * start-up: <log tail>}), when the deadline passes ({@code <server> did not accept connections
 * within <timeout> (last error: <message>): <log tail>}) or when the thread is interrupted (with
 * its interrupt flag set again). The log tail is the last 2,000 characters of the server's log.
 *
 * <p><b>Threading.</b> Immutable; {@link #await} blocks the calling thread between attempts through
 * the injected {@link Backoff.Pause}.
 */
public final class ReadinessPoll {
    private static final int TAIL_CHARS = 2000;

    /** One attempt to talk to the server. */
    @FunctionalInterface
    public interface Probe<T> {
        /**
         * What the server answered. A checked exception (a refused connection) means not ready
         * yet, and the last one is named if the wait times out; an unchecked one ends the wait.
         */
        T attempt() throws Exception;
    }

    private final String server;
    private final Duration timeout;
    private final Duration interval;
    private final LongSupplier nanoTime;
    private final Backoff.Pause pause;

    /** Polls {@code server} (its name in messages) every {@code interval} for at most {@code timeout}. */
    public ReadinessPoll(String server, Duration timeout, Duration interval) {
        this(server, timeout, interval, System::nanoTime, Backoff.Pause.SLEEP);
    }

    /** As the public constructor, with the time source and the pause a test drives. */
    ReadinessPoll(String server, Duration timeout, Duration interval, LongSupplier nanoTime, Backoff.Pause pause) {
        this.server = Objects.requireNonNull(server, "server");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.interval = Objects.requireNonNull(interval, "interval");
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
        this.pause = Objects.requireNonNull(pause, "pause");
    }

    /** Asks {@code probe} until it answers while {@code process} runs; {@code log} is the server's log file. */
    public <T> T await(Process process, Path log, Probe<T> probe) throws IOException {
        long deadline = nanoTime.getAsLong() + timeout.toNanos();
        Exception lastError = null;
        while (nanoTime.getAsLong() - deadline < 0) {
            if (!process.isAlive()) {
                throw new IOException(server + " exited with code " + process.exitValue() + " during start-up: " + tail(log));
            }
            try {
                return probe.attempt();
            } catch (RuntimeException e) {
                throw e;
            } catch (InterruptedException e) {
                throw interrupted(e);
            } catch (Exception e) {
                lastError = e;
            }
            try {
                pause.pause(interval);
            } catch (InterruptedException e) {
                throw interrupted(e);
            }
        }
        throw new IOException(server + " did not accept connections within " + timeout + " (last error: "
                + (lastError == null ? "none" : lastError.getMessage()) + "): " + tail(log));
    }

    private IOException interrupted(InterruptedException e) {
        Thread.currentThread().interrupt();
        return new IOException("interrupted while waiting for " + server + " to start", e);
    }

    private static String tail(Path log) throws IOException {
        if (!Files.exists(log)) {
            return "(no server log)";
        }
        String s = Files.readString(log);
        return s.length() > TAIL_CHARS ? s.substring(s.length() - TAIL_CHARS) : s;
    }
}
