package dev.backstop.postgres.physical;

import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureFailedException;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.PgTools;
import dev.backstop.postgres.internal.ServerFailures;
import dev.backstop.postgres.internal.ToolProcess;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A physical backup of a whole PostgreSQL cluster with {@code pg_basebackup -D - -Ft -X fetch},
 * streamed as one tar ({@value #STREAM}) through the pipeline.
 *
 * <pre>{@code
 * CaptureSource source = BaseBackupSource.builder(PgEndpoint.of("127.0.0.1", 5432, "replicator", password)).build();
 * Manifest m = BackupPipeline.builder().source(source).compress(ZstdTransform.builder().level(3).workers(2).build())
 *     .encrypt(Encryption.with(kek)).repository(repo).build().run();
 * }</pre>
 *
 * <p><b>Guarantees.</b> The tar holds the data directory, the WAL needed to make it consistent
 * ({@code -X fetch}) and pg_basebackup's {@code backup_manifest}, which {@link PointInTimeRecovery}
 * checks with {@code pg_verifybackup} before starting a server on it. The result records the
 * system identifier, the timeline and the start and stop LSN (read from {@code backup_label} and
 * the manifest's WAL ranges as the tar streams by), and {@code requiredLogs} =
 * {@code wal/<system-id>} from start to stop LSN. If pg_basebackup exits non-zero the capture
 * throws {@link CaptureFailedException} with its stderr tail and nothing is published.
 *
 * <p><b>Restrictions.</b> A cluster with tablespaces besides {@code pg_default} and {@code
 * pg_global} is refused before anything runs (pg_basebackup cannot stream several tablespaces to
 * stdout). The role needs the REPLICATION attribute and a {@code pg_hba.conf} line for
 * replication connections. {@code -X stream} is not used: it cannot write a tar to stdout.
 *
 * <p><b>Threading.</b> Immutable; one {@link #capture} at a time per cluster (PostgreSQL allows
 * concurrent base backups, but they compete for the same disk).
 */
public final class BaseBackupSource implements CaptureSource {
    /** The name of the one stream a base backup writes. */
    public static final String STREAM = "base.tar";
    /** Consistency point keys. */
    public static final String SYSTEM_IDENTIFIER = "system_identifier";
    public static final String TIMELINE = "timeline";
    public static final String START_LSN = "start_lsn";
    public static final String STOP_LSN = "stop_lsn";
    public static final String START_WAL_FILE = "start_wal_file";
    public static final String START_TIME = "start_time";

    private static final Pattern WAL_RANGE = Pattern.compile(
            "\"Timeline\":\\s*(\\d+),\\s*\"Start-LSN\":\\s*\"([0-9A-Fa-f]+/[0-9A-Fa-f]+)\",\\s*\"End-LSN\":\\s*\"([0-9A-Fa-f]+/[0-9A-Fa-f]+)\"");

    private final PgEndpoint endpoint;
    private final PgTools tools;
    private final String label;
    private final boolean fastCheckpoint;
    private final int maxRateKbps;

    private BaseBackupSource(Builder b) {
        this.endpoint = b.endpoint;
        this.tools = b.tools;
        this.label = b.label;
        this.fastCheckpoint = b.fastCheckpoint;
        this.maxRateKbps = b.maxRateKbps;
    }

    /** A source backing up the cluster at {@code endpoint}. */
    public static Builder builder(PgEndpoint endpoint) {
        return new Builder(endpoint);
    }

    @Override
    public BackupType type() {
        return BackupType.PHYSICAL;
    }

    @Override
    public CaptureResult capture(Streams streams) throws IOException {
        Path program;
        try {
            program = tools.tool("pg_basebackup");
        } catch (NoSuchFileException e) {
            throw new CaptureFailedException(e.getReason(), null, null, e);
        }
        Map<String, String> facts = PhysicalFacts.inspect(endpoint, "BaseBackupSource");
        List<String> args = new ArrayList<>(List.of("--pgdata=-", "--format=tar", "--wal-method=fetch",
                "--checkpoint=" + (fastCheckpoint ? "fast" : "spread"), "--label=" + label));
        if (maxRateKbps > 0) {
            args.add("--max-rate=" + maxRateKbps + "k");
        }
        TarSniffer sniffer;
        long bytes = 0;
        try (ToolProcess p = ToolProcess.start(program, args, endpoint, null, ProcessBuilder.Redirect.PIPE)) {
            try (OutputStream out = streams.open(STREAM); InputStream in = p.stdout()) {
                sniffer = new TarSniffer(out);
                byte[] buf = new byte[256 * 1024];
                int n;
                while ((n = in.read(buf)) >= 0) {
                    sniffer.write(buf, 0, n);
                    bytes += n;
                }
                sniffer.flush();
            }
            int exit = p.waitFor();
            if (exit != 0) {
                String stderr = p.stderrTail();
                throw new CaptureFailedException("pg_basebackup of " + endpoint + " failed after " + bytes + " bytes", exit,
                        stderr, null, ServerFailures.retryable(stderr));
            }
        }
        Map<String, String> point = consistency(sniffer, facts.get(SYSTEM_IDENTIFIER));
        return PhysicalFacts.result(endpoint, facts, point, bytes, sniffer.entries(), "basebackup");
    }

    /** Start and stop of the backup as pg_basebackup wrote them into the tar it streamed. */
    static Map<String, String> consistency(TarSniffer sniffer, String systemId) throws CaptureFailedException {
        Matcher range = WAL_RANGE.matcher(sniffer.manifestTail());
        String stopLsn = null;
        while (range.find()) {
            stopLsn = range.group(3);
        }
        if (stopLsn == null) {
            throw new CaptureFailedException("pg_basebackup's tar has no backup_manifest with WAL-Ranges; "
                    + "cannot record where the backup stops (was --no-manifest set?)", null, null, null);
        }
        return PhysicalFacts.point(systemId, sniffer.backupLabel(), stopLsn, "pg_basebackup's tar");
    }

    @Override
    public String toString() {
        return "BaseBackupSource[" + endpoint + ", label=" + label + "]";
    }

    /** Builder for {@link BaseBackupSource}; not thread-safe. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final PgEndpoint endpoint;
        private PgTools tools = PgTools.locate();
        private String label = "backstop";
        private boolean fastCheckpoint = true;
        private int maxRateKbps;

        private Builder(PgEndpoint endpoint) {
            this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
        }

        public Builder tools(PgTools tools) {
            this.tools = given.once("tools", this.tools, tools);
            return this;
        }

        /** The label pg_basebackup writes into backup_label (default {@code backstop}). */
        public Builder label(String label) {
            this.label = given.once("label", this.label, PhysicalFacts.checkedLabel(label));
            return this;
        }

        /** Whether to ask for an immediate checkpoint (default true) instead of a spread one. */
        public Builder fastCheckpoint(boolean fast) {
            given.onceNullable("fastCheckpoint", this.fastCheckpoint, fast);
            this.fastCheckpoint = fast;
            return this;
        }

        /** Caps pg_basebackup's transfer rate in kB/s (32..1048576); 0 (default) means no cap. */
        public Builder maxRateKbps(int kbps) {
            if (kbps != 0 && (kbps < 32 || kbps > 1048576)) {
                throw new IllegalArgumentException("maxRateKbps: got " + kbps + ", must be 0 or 32..1048576");
            }
            given.onceNullable("maxRateKbps", this.maxRateKbps, kbps);
            this.maxRateKbps = kbps;
            return this;
        }

        public BaseBackupSource build() {
            return new BaseBackupSource(this);
        }
    }
}
