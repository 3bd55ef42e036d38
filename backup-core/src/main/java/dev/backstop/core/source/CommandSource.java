package dev.backstop.core.source;

import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureFailedException;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.core.internal.concurrent.LogContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * Backs up the standard output of a command, e.g. {@code tar -C /etc -c .}. The backup is
 * published only if the command exits 0; otherwise the failure carries the exit code and the
 * last lines of its stderr, and is retryable when {@link Builder#retryableWhen} says so. If the
 * repository fails mid-stream, the command is killed.
 *
 * <p>Environment values are passed to the process only and never recorded; the manifest
 * records the program name, not its arguments, which may hold secrets.
 */
public final class CommandSource implements CaptureSource {
    private static final int TAIL_BYTES = 4096;

    private final List<String> command;
    private final Map<String, String> environment;
    private final Path directory;
    private final String streamName;
    private final BackupType type;
    private final Predicate<String> retryableWhen;

    private CommandSource(Builder b) {
        this.command = List.copyOf(b.command);
        this.environment = Map.copyOf(b.environment);
        this.directory = b.directory;
        this.streamName = b.streamName;
        this.type = b.type;
        this.retryableWhen = b.retryableWhen;
    }

    /** A source running {@code command} (program and arguments). */
    public static Builder builder(List<String> command) {
        return new Builder(command);
    }

    public static CommandSource of(String... command) {
        return builder(List.of(command)).build();
    }

    @Override
    public BackupType type() {
        return type;
    }

    @Override
    public CaptureResult capture(Streams streams) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().putAll(environment);
        if (directory != null) {
            pb.directory(directory.toFile());
        }
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new CaptureFailedException("could not start " + command.get(0) + ": " + e.getMessage(), null, null, e);
        }
        StderrTail tail = StderrTail.logged(p.getErrorStream(), Path.of(command.get(0)).getFileName().toString());
        long bytes = 0;
        try (OutputStream out = streams.open(streamName); InputStream in = p.getInputStream()) {
            byte[] buf = new byte[128 * 1024];
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
                bytes += n;
            }
        } catch (IOException | RuntimeException e) {
            p.destroyForcibly();
            throw e;
        }
        int exit;
        try {
            exit = p.waitFor();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new CaptureFailedException(command.get(0) + " interrupted", null, tail.text(), e);
        }
        if (exit != 0) {
            String stderr = tail.await();
            throw new CaptureFailedException(command.get(0) + " failed after " + bytes + " bytes", exit, stderr, null,
                    retryableWhen.test(stderr));
        }
        // its last stderr lines are logged within the backup they belong to
        tail.await();
        return CaptureResult.builder(new SourceInfo("command", "n/a", Map.of("program", Path.of(command.get(0)).getFileName().toString())))
                .attribute("bytes", Long.toString(bytes))
                .build();
    }

    @Override
    public String toString() {
        return "CommandSource[" + command.get(0) + "]";
    }

    /**
     * Keeps the last {@value #TAIL_BYTES} bytes a process writes to stderr, read on a daemon
     * thread so the process never blocks on a full pipe; {@link #logged} also logs each line.
     * Public for other process sources (pg_dump, pg_restore); thread-safe.
     */
    public static final class StderrTail {
        /** Where {@link #logged} tools' lines go, with the key {@code tool}. */
        private static final Logger TOOLS = LoggerFactory.getLogger("dev.backstop.tools");
        /** A longer line is logged in pieces of this many bytes. */
        private static final int LINE_BYTES = 8192;
        private final Deque<Byte> tail = new ArrayDeque<>();
        private final Thread thread;

        private StderrTail(InputStream err, String name, Level level) {
            this.thread = DaemonThreads.named("backstop-stderr-" + name).newThread(LogContext.propagate(() -> {
                Lines lines = level == null ? null : new Lines(name, level);
                byte[] buf = new byte[4096];
                try (err) {
                    int n;
                    while ((n = err.read(buf)) >= 0) {
                        synchronized (tail) {
                            for (int i = 0; i < n; i++) {
                                tail.addLast(buf[i]);
                                if (tail.size() > TAIL_BYTES) {
                                    tail.removeFirst();
                                }
                            }
                        }
                        if (lines != null) {
                            lines.add(buf, n);
                        }
                    }
                } catch (IOException ignored) {
                    // the process went away; what we have is the tail
                }
                if (lines != null) {
                    lines.flush();
                }
            }));
        }

        /** Starts draining {@code err} into the tail only; {@code name} names the reading thread. */
        public static StderrTail start(InputStream err, String name) {
            return started(new StderrTail(err, name, null));
        }

        /**
         * Starts draining {@code err} like {@link #start}, and logs each line at WARN on the {@code
         * dev.backstop.tools} logger with the key {@code tool}, under the MDC of the calling thread:
         * what an external tool says on stderr is a warning or an error.
         */
        public static StderrTail logged(InputStream err, String tool) {
            return started(new StderrTail(err, tool, Level.WARN));
        }

        /** {@link #logged} at DEBUG, for a tool that reports its progress on stderr. */
        public static StderrTail loggedAtDebug(InputStream err, String tool) {
            return started(new StderrTail(err, tool, Level.DEBUG));
        }

        private static StderrTail started(StderrTail t) {
            t.thread.start();
            return t;
        }

        /** The tail once the process closed stderr (waits at most 5 s). */
        public String await() {
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return text();
        }

        /** What was read so far, decoded as UTF-8. */
        public String text() {
            synchronized (tail) {
                byte[] b = new byte[tail.size()];
                int i = 0;
                for (Byte x : tail) {
                    b[i++] = x;
                }
                return new String(b, java.nio.charset.StandardCharsets.UTF_8);
            }
        }
    }

    /** Cuts a stream's bytes into lines and logs each one. Used by one thread. */
    private static final class Lines {
        private final String tool;
        private final Level level;
        private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

        Lines(String tool, Level level) {
            this.tool = tool;
            this.level = level;
        }

        void add(byte[] b, int n) {
            for (int i = 0; i < n; i++) {
                if (b[i] == '\n') {
                    flush();
                } else {
                    line.write(b[i]);
                    if (line.size() >= StderrTail.LINE_BYTES) {
                        flush();
                    }
                }
            }
        }

        void flush() {
            String text = line.toString(java.nio.charset.StandardCharsets.UTF_8).strip();
            line.reset();
            if (!text.isEmpty()) {
                // PostgreSQL's tools start their lines with their name already
                StderrTail.TOOLS.atLevel(level).addKeyValue("event", "tool.stderr").addKeyValue("tool", tool)
                        .log(text.startsWith(tool + ":") ? text : tool + ": " + text);
            }
        }
    }

    /** Builder for {@link CommandSource}. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final List<String> command;
        private final Map<String, String> environment = new LinkedHashMap<>();
        private Path directory;
        private String streamName = "data";
        private BackupType type = BackupType.RAW;
        private Predicate<String> retryableWhen = stderr -> false;

        private Builder(List<String> command) {
            Objects.requireNonNull(command, "command");
            if (command.isEmpty()) {
                throw new IllegalArgumentException("command: got an empty list, need at least the program");
            }
            this.command = new ArrayList<>(command);
        }

        /** Adds an environment variable for the process (never logged or recorded). */
        /** Adds a variable to the command's environment; additive: each call adds one (a later one for the same name wins). */
        public Builder environment(String name, String value) {
            environment.put(name, value);
            return this;
        }

        public Builder directory(Path directory) {
            given.onceNullable("directory", this.directory, directory);
            this.directory = directory;
            return this;
        }

        /** The stream name in the backup ({@code data} by default). */
        public Builder streamName(String streamName) {
            this.streamName = given.once("streamName", this.streamName, streamName);
            return this;
        }

        public Builder type(BackupType type) {
            this.type = given.once("type", this.type, type);
            return this;
        }

        /**
         * Which failures are worth retrying, judged by the tail of the command's stderr (for
         * example {@code s -> s.contains("Connection refused")}); by default none is. The
         * predicate must not throw.
         */
        public Builder retryableWhen(Predicate<String> stderrTail) {
            this.retryableWhen = given.once("retryableWhen", this.retryableWhen, stderrTail);
            return this;
        }

        public CommandSource build() {
            return new CommandSource(this);
        }
    }
}
