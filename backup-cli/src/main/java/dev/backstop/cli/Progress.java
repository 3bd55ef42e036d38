package dev.backstop.cli;

import dev.backstop.core.BackupId;
import dev.backstop.core.BackupType;
import dev.backstop.core.Restore;
import dev.backstop.core.event.ReadProgress;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.internal.stream.ForwardingOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.util.Locale;
import java.util.OptionalLong;

/**
 * Progress of long work on stderr: on a terminal one line with bytes, rate, ETA and percentage,
 * redrawn in place ({@code \r}) at most {@link #TERMINAL_EVERY}; elsewhere (asked for with
 * {@code --progress}) one {@code key=value} line every {@link #PLAIN_EVERY}, which a log keeps
 * readable. Fed with byte counts by the streams of a backup ({@link #counting}), or by the stored
 * bytes a restore or drill reads ({@link #reads}, against {@link #storedTotal}); the rate is the
 * average since the start, the ETA what is left of the expected size at that rate.
 *
 * <p>Thread-safe: the streams of a parallel dump report from their own threads. Never throws
 * into the work it watches: a failed write to stderr is left to {@link PrintWriter}, which
 * swallows it.
 */
final class Progress {
    /** The most often a terminal line is redrawn: a few times a second reads as live without flicker. */
    static final Duration TERMINAL_EVERY = Duration.ofMillis(250);
    /** How often a plain line is written: a log line every 10 s of a long backup is enough to see it move. */
    static final Duration PLAIN_EVERY = Duration.ofSeconds(10);
    /** Nothing to show. */
    static final Progress NONE = new Progress("", OptionalLong.empty(), Clock.systemUTC(), null, false);

    private final String what;
    private final OptionalLong expected;
    private final Clock clock;
    private final PrintWriter err;
    private final boolean terminal;
    private final long startMillis;
    private long bytes;
    private long shownAtMillis = Long.MIN_VALUE;
    private int width;

    /**
     * @param what the work's name, first on the line ({@code backup})
     * @param expected the size the work will likely reach (the newest backup's), for ETA and percentage
     * @param terminal a line redrawn in place; else key=value lines
     */
    Progress(String what, OptionalLong expected, Clock clock, PrintWriter err, boolean terminal) {
        this.what = what;
        this.expected = expected;
        this.clock = clock;
        this.err = err;
        this.terminal = terminal;
        this.startMillis = clock.millis();
    }

    /** Whether progress is shown: on a terminal, or when asked for. */
    static boolean wanted(boolean asked) {
        return asked || System.console() != null;
    }

    /**
     * The size a backup of {@code type} will likely reach: the newest one's; empty when there is
     * none or the repository cannot be listed (progress then shows no ETA, the backup reports the failure).
     */
    static OptionalLong expected(Context ctx, BackupType type) {
        try {
            return ctx.keyedRepository().catalog().list().stream().filter(m -> m.type() == type)
                    .max(java.util.Comparator.comparing(dev.backstop.core.manifest.Manifest::startedAt))
                    .map(m -> OptionalLong.of(m.plaintextBytes())).orElse(OptionalLong.empty());
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
    }

    /**
     * The stored bytes a restore or drill of {@code m} reads: its objects' and, for an increment,
     * those of every parent of its chain the catalog holds; empty if the catalog cannot be read
     * (progress then shows no ETA).
     */
    static OptionalLong storedTotal(Restore restore, Manifest m) {
        long total = 0;
        Manifest at = m;
        try {
            // a chain is at most 100 long (DataDirectorySource's bound): the limit guards a catalog that loops
            for (int i = 0; at != null && i < 100; i++) {
                total += at.storedBytes();
                java.util.Optional<BackupId> parent = at.parent();
                at = parent.isPresent() ? restore.repository().catalog().get(parent.get()).orElse(null) : null;
            }
            return OptionalLong.of(total);
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
    }

    /** Feeds this meter with the stored bytes a {@link Restore} reads. */
    ReadProgress reads() {
        return (id, object, n) -> add(n);
    }

    /** {@code n} more bytes done; shows a line if the last one is old enough. */
    synchronized void add(long n) {
        bytes += n;
        if (err == null) {
            return;
        }
        long now = clock.millis();
        long every = (terminal ? TERMINAL_EVERY : PLAIN_EVERY).toMillis();
        if (shownAtMillis != Long.MIN_VALUE && now - shownAtMillis < every) {
            return;
        }
        shownAtMillis = now;
        show(now, false);
    }

    /** The work ended: a last line (on a terminal, the line is finished with a newline). */
    synchronized void done() {
        if (err != null) {
            show(clock.millis(), true);
        }
    }

    synchronized long bytes() {
        return bytes;
    }

    private void show(long now, boolean last) {
        long elapsed = Math.max(0, now - startMillis);
        if (terminal) {
            String line = line(what, bytes, elapsed, expected, last);
            // blanks over the end of a longer previous line
            String pad = line.length() < width ? " ".repeat(width - line.length()) : "";
            width = line.length();
            err.print("\r" + line + pad + (last ? "\n" : ""));
        } else {
            err.print(keyValues(what, bytes, elapsed, expected, last) + "\n");
        }
        err.flush();
    }

    /** The terminal line: {@code backup  1.2 GiB  45.3 MiB/s  ETA 0:00:12  63 %}. */
    static String line(String what, long bytes, long elapsedMillis, OptionalLong expected, boolean last) {
        StringBuilder b = new StringBuilder(what).append("  ").append(Commands.size(bytes));
        long rate = rate(bytes, elapsedMillis);
        if (rate >= 0) {
            b.append("  ").append(Commands.size(rate)).append("/s");
        }
        if (last) {
            return b.append("  done in ").append(clockTime(elapsedMillis / 1000)).toString();
        }
        long eta = eta(bytes, rate, expected);
        b.append("  ETA ").append(eta < 0 ? "?" : clockTime(eta));
        if (expected.isPresent() && expected.getAsLong() > bytes) {
            b.append("  ").append(bytes * 100 / expected.getAsLong()).append(" %");
        }
        return b.toString();
    }

    /** The plain line: {@code progress=backup bytes=... rate_bytes_per_s=... elapsed_s=... eta_s=... percent=...}. */
    static String keyValues(String what, long bytes, long elapsedMillis, OptionalLong expected, boolean last) {
        long rate = rate(bytes, elapsedMillis);
        StringBuilder b = new StringBuilder("progress=").append(what).append(" bytes=").append(bytes)
                .append(" rate_bytes_per_s=").append(Math.max(0, rate)).append(" elapsed_s=").append(elapsedMillis / 1000);
        if (last) {
            return b.append(" done=true").toString();
        }
        long eta = eta(bytes, rate, expected);
        if (eta >= 0) {
            b.append(" eta_s=").append(eta);
        }
        if (expected.isPresent() && expected.getAsLong() > bytes) {
            b.append(" percent=").append(bytes * 100 / expected.getAsLong());
        }
        return b.toString();
    }

    /** Bytes per second since the start; -1 before a rate means anything. */
    private static long rate(long bytes, long elapsedMillis) {
        return elapsedMillis < 100 ? -1 : bytes * 1000 / elapsedMillis;
    }

    /** Seconds left at {@code rate}; -1 when unknown (no rate, no expected size, or past it). */
    private static long eta(long bytes, long rate, OptionalLong expected) {
        if (rate <= 0 || expected.isEmpty() || expected.getAsLong() <= bytes) {
            return -1;
        }
        return (expected.getAsLong() - bytes + rate - 1) / rate;
    }

    private static String clockTime(long seconds) {
        return String.format(Locale.ROOT, "%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60);
    }

    /** {@code source} whose streams report the bytes written into them to {@code progress}. */
    static CaptureSource counting(CaptureSource source, Progress progress) {
        return new CaptureSource() {
            @Override
            public BackupType type() {
                return source.type();
            }

            @Override
            public CaptureResult capture(Streams streams) throws IOException {
                return source.capture(name -> new Counting(streams.open(name), progress));
            }

            @Override
            public String toString() {
                return source.toString();
            }
        };
    }

    /** Passes bytes on and counts them. */
    private static final class Counting extends ForwardingOutputStream {
        private final Progress progress;

        Counting(OutputStream out, Progress progress) {
            super(out);
            this.progress = progress;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            progress.add(len);
        }
    }
}
