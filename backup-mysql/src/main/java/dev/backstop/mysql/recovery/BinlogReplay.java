package dev.backstop.mysql.recovery;

import dev.backstop.core.BackupId;
import dev.backstop.mysql.MariaDbEndpoint;
import dev.backstop.mysql.MariaDbTools;
import dev.backstop.mysql.physical.BinlogPoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The binlogs of one recovery, fetched and verified into a private directory, with the exact
 * range to replay: from the backup's point to the resolved target. Made by {@link
 * BinlogRecovery#prepare}; nothing has touched a server yet.
 *
 * <pre>{@code
 * try (BinlogReplay replay = recovery.prepare(backup, RecoveryTarget.gtid("0-1-4711"))) {
 *     // restore the backup onto the server at endpoint first (for a physical backup: toDataDirectory, start it)
 *     replay.applyTo(endpoint);
 * }
 * }</pre>
 *
 * <p><b>Guarantees.</b> {@link #applyTo} runs one {@code mariadb-binlog --verify-binlog-checksum
 * f1 f2 ... | mariadb} pipe: one client session for the whole range, so a temporary table made
 * in one transaction is there for the next, as on the source. The range starts at {@link #from()}
 * and ends after the last transaction of {@link #reached()}; transactions are replayed whole.
 * Unless the recovery was built with {@link BinlogRecovery.Builder#writeBinlog}, the session runs
 * with {@code sql_log_bin=0} ({@code --disable-log-bin}): the target does not log the replayed
 * transactions. A failing statement stops the replay there and is reported with the client's
 * error; transactions before it stay applied (the target is then a partial recovery: discard it).
 * {@link #close()} deletes the fetched files.
 *
 * <p><b>Restrictions.</b> The target server must hold exactly the backup's restored state: the
 * replay starts from the backup's point and does not look at what the target holds. The account
 * needs the right to replay binlog events ({@code BINLOG REPLAY} or {@code SUPER}) and, without
 * {@code writeBinlog}, to set {@code sql_log_bin}.
 *
 * <p><b>Threading.</b> Not thread-safe; one {@link #applyTo} at a time.
 */
public final class BinlogReplay implements AutoCloseable {
    private final Path dir;
    private final Plan plan;
    private final long stop;
    private final Duration fetch;
    private final MariaDbTools tools;
    private final String database;
    private final boolean writeBinlog;
    private final Duration timeout;
    private final BackupId backup;
    private boolean closed;

    /** What the planner found; the files are in replay order. */
    record Plan(BinlogPoint from, BinlogPoint reached, List<Path> files, long transactions, Instant lastCommit, long bytes) {
    }

    BinlogReplay(Path dir, Plan plan, long stop, Duration fetch, MariaDbTools tools, String database, boolean writeBinlog,
                 Duration timeout, BackupId backup) {
        this.dir = dir;
        this.plan = plan;
        this.stop = stop;
        this.fetch = fetch;
        this.tools = tools;
        this.database = database;
        this.writeBinlog = writeBinlog;
        this.timeout = timeout;
        this.backup = backup;
    }

    /** The backup whose point the replay starts at. */
    public BackupId backup() {
        return backup;
    }

    /** Where the replay starts: the backup's binlog file, position and GTID position. */
    public BinlogPoint from() {
        return plan.from();
    }

    /**
     * Where the replay ends: the file and position just past its last transaction (the backup's
     * point if there is none), and the GTID position the target holds afterwards.
     */
    public BinlogPoint reached() {
        return plan.reached();
    }

    /** The binlog files replayed, in order (their names as the server wrote them). */
    public List<String> files() {
        return plan.files().stream().map(p -> p.getFileName().toString()).toList();
    }

    /**
     * How many transactions (event groups, DDL statements included) lie in the range; for a
     * logical backup those of other databases are among them and are skipped by the replay.
     */
    public long transactions() {
        return plan.transactions();
    }

    /** The time stamped on the last transaction replayed (whole seconds); empty if there is none. */
    public Optional<Instant> lastTransactionTime() {
        return Optional.ofNullable(plan.lastCommit());
    }

    /** Bytes of binlog fetched. */
    public long bytes() {
        return plan.bytes();
    }

    /** The time taken to fetch, verify and scan the binlogs. */
    public Duration fetchTime() {
        return fetch;
    }

    /**
     * Replays the range onto the server at {@code endpoint}, which must hold the backup's restored
     * state; returns the time it took. With no transaction in the range nothing runs.
     *
     * @throws dev.backstop.core.BackupException naming the failing program and quoting its error
     * @throws IllegalStateException after {@link #close()}
     */
    public Duration applyTo(MariaDbEndpoint endpoint) {
        if (closed) {
            throw new IllegalStateException("binlog replay of " + backup + " is closed: its files are deleted");
        }
        if (plan.transactions() == 0) {
            return Duration.ZERO;
        }
        return ReplayPipe.run(tools, dir, endpoint, plan.files(), plan.from().position(), stop, database, writeBinlog, timeout,
                backup);
    }

    /** Deletes the fetched files; safe to call twice. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        deleteTree(dir);
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: private copies of archived binlogs, readable by their owner only
                }
            });
        } catch (IOException ignored) {
            // best effort, as above
        }
    }

    @Override
    public String toString() {
        return "BinlogReplay[" + backup + " from " + plan.from().file() + ":" + plan.from().position() + " to "
                + plan.reached().file() + ":" + plan.reached().position() + ", " + plan.transactions() + " transactions]";
    }
}
