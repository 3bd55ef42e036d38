package dev.backstop.cli;

import dev.backstop.cli.config.BackstopConfig;
import dev.backstop.core.BackupException;
import dev.backstop.core.Stage;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.core.lock.RepositoryLock;
import dev.backstop.postgres.wal.WalArchive;
import dev.backstop.postgres.wal.WalReceiver;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;

/**
 * The WAL receiver {@code backup.wal.receive} describes, streaming the configured PostgreSQL
 * server's WAL over a physical replication slot into the configured repository's WAL archive
 * ({@code wal/<systemId>}) with the configured keys: run beside the jobs by {@code backstop run},
 * as {@code backstop wal receive} runs it in the foreground.
 *
 * <p>Run under a {@link LeasedCompanion} with {@link #lock}, it streams only while its process
 * holds the archive's lease: {@link #suspend()} stops the receiver when the lease is lost (the
 * slot keeps what was not archived yet), and {@link #start()} starts a new one, which resumes
 * where the archive ends, when the lease is taken again. Replicas sharing the repository must
 * reach the same server and use the same slot.
 *
 * <p><b>Threading.</b> {@link #start()} and {@link #suspend()} alternate, {@link #close()} once,
 * from any thread; {@link #receiver()} may be read from any thread.
 */
final class WalStreaming implements LeasedCompanion.Service {
    /**
     * How long a daemon's lease on the receiving lasts without renewal: a standby replica takes
     * over within a third of it after the holder stops, and within it after the holder dies.
     */
    static final Duration LEASE_TTL = Duration.ofSeconds(30);

    private final Context ctx;
    private final BackstopConfig.Wal settings;
    private final BackstopConfig.Receive receive;
    private final Clock clock;
    private volatile WalReceiver receiver;
    private volatile boolean closed;

    private WalStreaming(Context ctx, BackstopConfig.Wal settings, BackstopConfig.Receive receive, Clock clock) {
        this.ctx = ctx;
        this.settings = settings;
        this.receive = receive;
        this.clock = clock;
    }

    /** The configured receiving, or empty when {@code backup.wal.receive} is not set. */
    static java.util.Optional<WalStreaming> of(Context ctx, Clock clock) {
        return ctx.config().wal().flatMap(w -> w.receive().map(r -> new WalStreaming(ctx, w, r, clock)));
    }

    /**
     * The lock that daemons sharing the repository take before receiving into the archive of
     * this system ({@code locks/wal-receive-<systemId>}), so that one of them streams at a time.
     */
    RepositoryLock lock() {
        return RepositoryLock.builder(ctx.repository().sink()).name("wal-receive-" + Long.toUnsignedString(systemId()))
                .holder(Context.holder() + "-pid" + ProcessHandle.current().pid()).ttl(LEASE_TTL).clock(clock).build();
    }

    private long systemId() {
        return settings.systemId().orElseThrow();
    }

    /** Builds and starts a receiver. */
    @Override
    public synchronized void start() {
        if (receiver != null || closed) {
            throw new IllegalStateException("wal receive: " + (closed ? "closed" : "started already"));
        }
        try {
            Files.createDirectories(receive.workDir());
        } catch (IOException e) {
            throw new BackupException(Stage.CONFIGURE, "backup.wal.receive.workDir: could not create " + receive.workDir() + ": " + e,
                    e, false, null);
        }
        WalArchive archive = WalCommands.archive(ctx, settings);
        WalReceiver r = WalReceiver.builder(ctx.endpoint(), archive).slot(receive.slot()).workDir(receive.workDir()).clock(clock)
                .threadFactory(DaemonThreads.named("backstop-wal-receive")).build();
        r.start();
        receiver = r;
    }

    /** The running receiver; null while standing by. */
    WalReceiver receiver() {
        return receiver;
    }

    /** What the health checks read: whether it runs (standing by counts as running) and why it stopped. */
    Watchdog.Streaming reading() {
        WalReceiver r = receiver;
        if (r == null) {
            return new Watchdog.Streaming(!closed, null, null, Duration.ZERO);
        }
        return new Watchdog.Streaming(r.isRunning() || closed, r.status().lastError(), null, Duration.ZERO);
    }

    /** What the log calls it: {@code wal receive wal/<systemId> over slot <slot>}. */
    String subject() {
        return "wal receive wal/" + Long.toUnsignedString(systemId()) + " over slot " + receive.slot();
    }

    /**
     * Stops the receiver, not the receiving: {@link #start()} may start a new one. What it
     * archived is in the repository; the slot holds the rest. Never throws.
     */
    @Override
    public synchronized void suspend() {
        if (receiver != null) {
            receiver.close();
            receiver = null;
        }
    }

    /** Stops the receiver. Idempotent; never throws. */
    @Override
    public synchronized void close() {
        closed = true;
        suspend();
    }
}
