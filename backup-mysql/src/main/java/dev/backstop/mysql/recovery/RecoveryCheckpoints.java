package dev.backstop.mysql.recovery;

import dev.backstop.core.BackupException;
import dev.backstop.core.Repository;
import dev.backstop.core.Stage;
import dev.backstop.core.StorageException;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.layout.PointRecord;
import dev.backstop.core.internal.layout.PointRecords;
import dev.backstop.core.internal.layout.RepositoryLayout;
import dev.backstop.mysql.MariaDbEndpoint;
import dev.backstop.mysql.binlog.BinlogArchive;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Named {@link RecoveryCheckpoint}s recorded in the repository, so that a drill run later, from
 * anywhere with the keys, recovers a backup to one and proves the result equal to the source there
 * ({@link MariaDbPitrDrill#builder(BinlogArchive, String)}).
 *
 * <pre>{@code
 * RecoveryCheckpoints checkpoints = RecoveryCheckpoints.builder(source, repository.withKeys(kek), archive).build();
 * RecoveryCheckpoint cp = checkpoints.record("before-release-42");
 * ValidationResult r = MariaDbPitrDrill.builder(archive, "before-release-42").build().validate(backup, restore);
 * }</pre>
 *
 * <p><b>Guarantees.</b> {@link #record} takes the checkpoint ({@link RecoveryCheckpoint#take}: the
 * fingerprints inside one consistent snapshot, at the binlog position and GTID MariaDB reports for
 * that snapshot) and writes it as one immutable record, {@code points/binlog/<server-uuid>/<name>.json}
 * (the archive's stream; core's point-record format, shared with PostgreSQL's restore points), which
 * a keyed view authenticates for its own key. {@link #read} refuses, naming the key, a record that
 * was edited, copied from another name or another server's archive, or is of an unknown format;
 * a name never recorded reads as empty. A name already recorded is refused before the source is read.
 *
 * <p><b>Restrictions.</b> The source must be the archive's server ({@code @@server_id} equal to
 * the archive's) and write a binary log. Names are 1..63 characters of {@code [A-Za-z0-9._-]},
 * starting with a letter or digit. Reads every row of the fingerprinted databases once, without
 * locks (see {@link RecoveryCheckpoint}).
 *
 * <p><b>Threading.</b> Immutable; thread-safe, though two checkpoints of one name race (one record wins).
 */
public final class RecoveryCheckpoints {
    static final String WHAT = "recovery checkpoint";
    private static final String SERVER_ID = "serverId";
    private static final List<String> SYSTEM_DATABASES = List.of("information_schema", "mysql", "performance_schema", "sys");

    private final MariaDbEndpoint source;
    private final Repository repository;
    private final BinlogArchive archive;
    private final List<String> databases;
    private final Clock clock;

    private RecoveryCheckpoints(Builder b) {
        this.source = b.source;
        this.repository = b.repository;
        this.archive = b.archive;
        this.databases = b.databases;
        this.clock = b.clock;
    }

    /**
     * Checkpoints of the server at {@code source}, whose binlogs {@code archive} holds, recorded in
     * {@code repository} (a keyed view authenticates them).
     */
    public static Builder builder(MariaDbEndpoint source, Repository repository, BinlogArchive archive) {
        return new Builder(source, repository, archive);
    }

    /**
     * Takes a checkpoint and records it as {@code name}.
     *
     * @throws IllegalArgumentException if the name is not 1..63 of {@code [A-Za-z0-9._-]}
     * @throws BackupException if the name is recorded already, the source is not the archive's
     *     server or cannot be read, or the record cannot be written
     */
    public RecoveryCheckpoint record(String name) {
        String stream = archive.stream();
        String key = RepositoryLayout.restorePointKey(stream, name);
        if (PointRecords.exists(repository, stream, name)) {
            throw new BackupException(Stage.CAPTURE, WHAT + " '" + name + "' is already recorded at " + key
                    + "; records are immutable, so take one with a new name", null, false, null);
        }
        List<String> names = databases.isEmpty() ? userDatabases() : databases;
        RecoveryCheckpoint cp = RecoveryCheckpoint.take(source, clock, names);
        if (cp.serverId() != archive.serverId()) {
            throw new BackupException(Stage.CAPTURE, "refusing to record " + WHAT + " '" + name + "': " + source + " is server id "
                    + cp.serverId() + ", archive " + stream + " holds server id " + archive.serverId() + " (another server)",
                    null, false, null);
        }
        try {
            PointRecords.put(repository, stream, toRecord(name, cp));
        } catch (StorageException e) {
            throw new StorageException(e.key(), WHAT + " '" + name + "' was taken but could not be recorded: " + e.getMessage(),
                    e, e.retryable(), null);
        }
        return cp;
    }

    /**
     * The checkpoint recorded as {@code name} for the server of {@code archive}, if any. In a keyed
     * view the record must be authenticated for its own key.
     *
     * @throws dev.backstop.core.IntegrityException naming the record's key if it is not authentic,
     *     was moved from another name or server, or is of an unknown format
     * @throws StorageException naming the key if the repository fails
     */
    public static Optional<RecoveryCheckpoint> read(Repository repository, BinlogArchive archive, String name) {
        return PointRecords.read(repository, archive.stream(), name, WHAT, owner(archive.serverId()))
                .map(RecoveryCheckpoints::fromRecord);
    }

    /** Where checkpoint {@code name} of {@code archive}'s server is recorded. */
    public static String keyOf(BinlogArchive archive, String name) {
        return RepositoryLayout.restorePointKey(archive.stream(), name);
    }

    private static Map<String, String> owner(long serverId) {
        return Map.of(SERVER_ID, Long.toString(serverId));
    }

    private static PointRecord toRecord(String name, RecoveryCheckpoint cp) {
        Map<String, String> fields = new LinkedHashMap<>(owner(cp.serverId()));
        fields.put("binlogFile", cp.file());
        fields.put("binlogPosition", Long.toString(cp.position()));
        fields.put("gtid", cp.gtid());
        return new PointRecord(name, fields, cp.takenAt(), cp.databases());
    }

    private static RecoveryCheckpoint fromRecord(PointRecord r) {
        return new RecoveryCheckpoint(r.field("binlogFile"), Long.parseLong(r.field("binlogPosition")), r.field("gtid"),
                Long.parseLong(r.field(SERVER_ID)), r.createdAt(), r.databases());
    }

    private List<String> userDatabases() {
        List<String> out = new ArrayList<>();
        try (Connection c = source.connect(null); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY 1")) {
            while (rs.next()) {
                if (!SYSTEM_DATABASES.contains(rs.getString(1))) {
                    out.add(rs.getString(1));
                }
            }
        } catch (SQLException e) {
            throw new BackupException(Stage.CAPTURE, "could not list the databases of " + source + ": " + e.getMessage()
                    + " (error " + e.getErrorCode() + ")", e, false, null);
        }
        if (out.isEmpty()) {
            throw new BackupException(Stage.CAPTURE, source + " has no database but the system ones to fingerprint", null, false, null);
        }
        return out;
    }

    @Override
    public String toString() {
        return "RecoveryCheckpoints[" + source + " -> " + repository.sink() + " " + archive.stream() + "]";
    }

    /** Builder for {@link RecoveryCheckpoints}; each setting at most once. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final MariaDbEndpoint source;
        private final Repository repository;
        private final BinlogArchive archive;
        private List<String> databases = List.of();
        private Clock clock = Clock.systemUTC();

        private Builder(MariaDbEndpoint source, Repository repository, BinlogArchive archive) {
            this.source = Objects.requireNonNull(source, "source");
            this.repository = Objects.requireNonNull(repository, "repository");
            this.archive = Objects.requireNonNull(archive, "archive");
        }

        /** The databases to fingerprint (default: every database but information_schema, mysql, performance_schema and sys). */
        public Builder databases(String... databases) {
            if (databases.length == 0) {
                throw new IllegalArgumentException("databases: got none; leave the setting out for every user database");
            }
            this.databases = List.copyOf(given.once("databases", this.databases, List.of(databases)));
            return this;
        }

        /** The clock stamping checkpoints. */
        public Builder clock(Clock clock) {
            this.clock = given.once("clock", this.clock, clock);
            return this;
        }

        public RecoveryCheckpoints build() {
            return new RecoveryCheckpoints(this);
        }
    }
}
