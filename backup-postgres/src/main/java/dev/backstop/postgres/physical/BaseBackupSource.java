package dev.backstop.postgres.physical;

import dev.backstop.core.BackupId;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureFailedException;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.Restore;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.PgTools;
import dev.backstop.postgres.internal.ServerFailures;
import dev.backstop.postgres.internal.ToolProcess;
import dev.backstop.postgres.wal.WalFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
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
 * throws {@link CaptureFailedException} with its stderr tail and nothing is published. A copy of
 * the {@code backup_manifest} is stored beside the tar as the stream {@code backup_manifest}
 * (what a later increment reads of this backup), and the result carries the level attributes of
 * {@link DataDirectorySource}.
 *
 * <p><b>Increments.</b> With {@link Builder#level} {@link BackupLevel#DIFF} or {@link
 * BackupLevel#INCR} the tar pg_basebackup streams is filtered as it passes, with the rule and
 * format of {@link DataDirectorySource}'s increments: relation main forks the parent holds, no
 * larger, become page maps of the pages whose LSN is at or after the parent's start LSN;
 * everything else stays whole; pg_basebackup's {@code backup_manifest} lists the cluster as the
 * chain rebuilds it. Parents are chosen among both sources' backups of the same server, so a
 * chain may mix them and {@link PointInTimeRecovery} restores it. The server still reads and
 * sends every page (PostgreSQL 15's BASE_BACKUP has no incremental mode): an increment saves
 * storage and upload, not the server's read or the network from it. It needs data checksums on
 * the cluster (the server's checksum verification is what shows that a page left out was not
 * being written while it was read) and pg_basebackup's default checksum verification.
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
    /** The name of the stream holding the base backup's tar. */
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
    private final BackupLevel level;
    private final BackupId parent;
    private final int maxChainLength;
    private final Restore parents;

    private BaseBackupSource(Builder b) {
        this.endpoint = b.endpoint;
        this.tools = b.tools;
        this.label = b.label;
        this.fastCheckpoint = b.fastCheckpoint;
        this.maxRateKbps = b.maxRateKbps;
        this.level = b.level;
        this.parent = b.parent;
        this.maxChainLength = b.maxChainLength;
        this.parents = b.parents;
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
        Map<String, String> facts;
        Increment increment;
        // the parent's manifests are read from the repository while the server is connected to and checked
        try (ParentRead parentRead = Increment.readParent(endpoint, level, parent, parents);
                Connection c = endpoint.connect("postgres")) {
            c.setAutoCommit(true);
            facts = PhysicalFacts.inspect(c, endpoint, "BaseBackupSource");
            if (level != BackupLevel.FULL) {
                checkDataChecksums(c);
            }
            increment = Increment.prepare(c, endpoint, facts.get(SYSTEM_IDENTIFIER), level, parent, maxChainLength, parentRead);
        } catch (SQLException e) {
            throw new CaptureFailedException("could not inspect the cluster at " + endpoint + ": " + e.getMessage()
                    + " (SQLSTATE " + e.getSQLState() + ")", null, null, e, ServerFailures.retryable(e));
        }
        List<String> args = new ArrayList<>(List.of("--pgdata=-", "--format=tar", "--wal-method=fetch",
                "--checkpoint=" + (fastCheckpoint ? "fast" : "spread"), "--label=" + label));
        if (maxRateKbps > 0) {
            args.add("--max-rate=" + maxRateKbps + "k");
        }
        String backupLabel;
        byte[] backupManifest;
        long bytes;
        int entries;
        try (ToolProcess p = ToolProcess.start(program, args, endpoint, null, ProcessBuilder.Redirect.PIPE)) {
            Counted counted = new Counted();
            try (OutputStream out = streams.open(STREAM); InputStream in = p.stdout()) {
                if (increment.increments()) {
                    BaseBackupFilter filter = new BaseBackupFilter(increment);
                    filter.copy(counted.of(in), out);
                    backupLabel = filter.label();
                    backupManifest = filter.manifest();
                    bytes = filter.bytes();
                    entries = filter.entries();
                } else {
                    TarSniffer sniffer = new TarSniffer(out);
                    counted.of(in).transferTo(sniffer);
                    sniffer.flush();
                    backupLabel = sniffer.backupLabel();
                    backupManifest = sniffer.manifest();
                    bytes = counted.count;
                    entries = sniffer.entries();
                }
            } catch (IOException e) {
                // pg_basebackup's own failure explains a cut tar better than the tar does; alive, it waits on us
                if (p.exitsWithin(Duration.ofSeconds(2)) && p.waitFor() != 0) {
                    throw failed(p, p.waitFor(), counted.count);
                }
                throw e;
            }
            int exit = p.waitFor();
            if (exit != 0) {
                throw failed(p, exit, counted.count);
            }
        }
        Map<String, String> point = consistency(new String(backupManifest, StandardCharsets.UTF_8), backupLabel,
                facts.get(SYSTEM_IDENTIFIER));
        increment.checkStart(WalFile.parseLsn(point.get(START_LSN)));
        increment.checkTimeline(point.get(TIMELINE));
        // beside the tar, so that a later increment reads the file sizes without reading the tar
        try (OutputStream out = streams.open(ChainPlanner.MANIFEST_STREAM)) {
            out.write(backupManifest);
        }
        return increment.record(PhysicalFacts.result(endpoint, facts, point, bytes, entries, "basebackup"));
    }

    private CaptureFailedException failed(ToolProcess p, int exit, long read) {
        String stderr = p.stderrTail();
        return new CaptureFailedException("pg_basebackup of " + endpoint + " failed after " + read + " bytes", exit,
                stderr, null, ServerFailures.retryable(stderr));
    }

    /**
     * An increment leaves out pages it saw once; only the server's checksum verification (with a
     * re-read of a page that fails it) tells that such a page was not being written while read.
     */
    private void checkDataChecksums(Connection c) throws SQLException, CaptureFailedException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT current_setting('data_checksums')")) {
            rs.next();
            if (!"on".equals(rs.getString(1))) {
                throw new CaptureFailedException("cluster at " + endpoint + " has no data checksums: a " + level.label()
                        + " backup through pg_basebackup sees each page once and cannot tell a page being written from an "
                        + "unchanged one without the server's checksum verification; take full backups here, or use "
                        + "DataDirectorySource (which reads a page twice) with wal_log_hints = on", null, null, null);
            }
        }
    }

    /** Start and stop of the backup from pg_basebackup's {@code backup_manifest} and {@code backup_label}. */
    static Map<String, String> consistency(String manifest, String backupLabel, String systemId) throws CaptureFailedException {
        Matcher range = WAL_RANGE.matcher(manifest);
        String stopLsn = null;
        while (range.find()) {
            stopLsn = range.group(3);
        }
        if (stopLsn == null) {
            throw new CaptureFailedException("pg_basebackup's tar has no backup_manifest with WAL-Ranges; "
                    + "cannot record where the backup stops (was --no-manifest set?)", null, null, null);
        }
        return PhysicalFacts.point(systemId, backupLabel, stopLsn, "pg_basebackup's tar");
    }

    /** Counts the bytes pg_basebackup wrote, for the message when it fails. */
    private static final class Counted {
        long count;

        InputStream of(InputStream in) {
            return new java.io.FilterInputStream(in) {
                @Override
                public int read() throws IOException {
                    int b = super.read();
                    count += b < 0 ? 0 : 1;
                    return b;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    int n = super.read(b, off, len);
                    count += Math.max(n, 0);
                    return n;
                }

                @Override
                public void close() {
                    // the process's stream is closed by its owner
                }
            };
        }
    }

    @Override
    public String toString() {
        return "BaseBackupSource[" + endpoint + ", label=" + label + ", " + level.label() + (parent == null ? "" : " on " + parent)
                + "]";
    }

    /** Builder for {@link BaseBackupSource}; not thread-safe. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final PgEndpoint endpoint;
        private PgTools tools = PgTools.locate();
        private String label = "backstop";
        private boolean fastCheckpoint = true;
        private int maxRateKbps;
        private BackupLevel level = BackupLevel.FULL;
        private BackupId parent;
        private int maxChainLength = 7;
        private Restore parents;

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

        /**
         * What the backup keeps (default {@link BackupLevel#FULL}), as {@link
         * DataDirectorySource.Builder#level}: parents are found through {@link #parents(Restore)}
         * among this server's physical backups of either source; with nothing to build on, or
         * past {@link #maxChainLength}, the backup is full and says why. Increments need data
         * checksums on the cluster; otherwise the capture fails saying so.
         */
        public Builder level(BackupLevel level) {
            this.level = given.once("level", this.level, level);
            return this;
        }

        /** The parent of a {@link BackupLevel#DIFF} or {@link BackupLevel#INCR} backup, instead of the newest one. */
        public Builder parent(BackupId parent) {
            this.parent = given.once("parent", this.parent, parent);
            return this;
        }

        /** The most backups a restore may have to read, the full one included (1..100, default 7). */
        public Builder maxChainLength(int maxChainLength) {
            if (maxChainLength < 1 || maxChainLength > 100) {
                throw new IllegalArgumentException("maxChainLength: got " + maxChainLength + ", must be 1..100");
            }
            given.onceNullable("maxChainLength", this.maxChainLength, maxChainLength);
            this.maxChainLength = maxChainLength;
            return this;
        }

        /** Where parents are found and read, with their keys; required for {@link BackupLevel#DIFF} and {@link BackupLevel#INCR}. */
        public Builder parents(Restore parents) {
            this.parents = given.once("parents", this.parents, parents);
            return this;
        }

        public BaseBackupSource build() {
            if (level != BackupLevel.FULL && parents == null) {
                throw new IllegalStateException("level " + level + " needs parents(Restore): where the parent backup is read");
            }
            if (level == BackupLevel.FULL && parent != null) {
                throw new IllegalStateException("parent " + parent + " given for a full backup; set level(DIFF) or level(INCR)");
            }
            return new BaseBackupSource(this);
        }
    }
}
