package dev.backstop.mysql.recovery;

import dev.backstop.core.BackupException;
import dev.backstop.core.Digest;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.Stage;
import dev.backstop.core.TableFingerprint;
import dev.backstop.mysql.MariaDbEndpoint;
import dev.backstop.mysql.MariaDbFingerprints;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Fingerprints of databases of a live source taken at a known binlog position: what a recovery
 * to that position must reproduce exactly. {@link RecoveryCheckpoints} takes one and records it in
 * the repository under a name; {@link MariaDbPitrDrill} recovers a backup to {@link #target()} and
 * compares.
 *
 * <pre>{@code
 * RecoveryCheckpoint cp = RecoveryCheckpoints.builder(source, repository.withKeys(kek), archive).build()
 *         .record("before-release-42");
 * }</pre>
 *
 * <p><b>Guarantees.</b> {@link #take} opens {@code START TRANSACTION WITH CONSISTENT SNAPSHOT},
 * reads the binlog position MariaDB reports for that snapshot ({@code binlog_snapshot_file},
 * {@code binlog_snapshot_position}: every transaction committed before it is visible, none after
 * it), fingerprints the databases inside that snapshot ({@link MariaDbFingerprints}: rows and
 * content hash per table, definition hash per schema object), and records the GTID position of
 * that binlog position ({@code BINLOG_GTID_POS}). So the fingerprints are exactly those of the
 * source at {@link #target()}, however busy the source is.
 *
 * <p><b>Restrictions.</b> Reads every row of the named databases on the source (one consistent
 * read, no locks). Definitions are read as they are when read (DDL is not transactional): DDL
 * during {@link #take} makes a drill report that object. Needs a server that writes a binary log.
 *
 * @param file      binlog file of the snapshot
 * @param position  binlog position of the snapshot
 * @param gtid      the GTID position there (empty if the server has logged no GTID)
 * @param serverId  the source's {@code server_id}
 * @param takenAt   when the checkpoint was taken
 * @param databases per fingerprinted database, its fingerprints as {@link MariaDbFingerprints} takes
 *                  them: tables by table name, objects {@code <kind> <name>}, the database's schema hash
 */
public record RecoveryCheckpoint(String file, long position, String gtid, long serverId, Instant takenAt,
                                 Map<String, Fingerprints> databases) {
    public RecoveryCheckpoint {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(gtid, "gtid");
        Objects.requireNonNull(takenAt, "takenAt");
        databases = Collections.unmodifiableMap(new TreeMap<>(databases));
        if (databases.isEmpty()) {
            throw new IllegalArgumentException("databases: got none, need at least one database to fingerprint");
        }
        new RecoveryTarget.AtPosition(file, position); // validates the name and position
    }

    /**
     * Takes a checkpoint of {@code databases} on the server at {@code source} (see Guarantees).
     *
     * @throws BackupException (stage {@link Stage#VERIFY}) if the server cannot be read or writes no binary log
     */
    public static RecoveryCheckpoint take(MariaDbEndpoint source, Clock clock, String... databases) {
        return take(source, clock, Arrays.asList(databases));
    }

    static RecoveryCheckpoint take(MariaDbEndpoint source, Clock clock, List<String> names) {
        if (names.isEmpty()) {
            throw new IllegalArgumentException("databases: got none, need at least one database to fingerprint");
        }
        try (Connection c = source.connect(null); Statement st = c.createStatement()) {
            long serverId;
            try (ResultSet rs = st.executeQuery("SELECT @@server_id, @@log_bin")) {
                rs.next();
                serverId = rs.getLong(1);
                if (rs.getInt(2) != 1) {
                    throw new BackupException(Stage.VERIFY, "the server at " + source + " writes no binary log (log_bin=OFF): "
                            + "a checkpoint needs a binlog position", null);
                }
            }
            Instant at = clock.instant();
            st.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
            String file = null;
            long position = -1;
            try (ResultSet rs = st.executeQuery("SHOW STATUS LIKE 'binlog_snapshot_%'")) {
                while (rs.next()) {
                    if ("binlog_snapshot_file".equalsIgnoreCase(rs.getString(1))) {
                        file = rs.getString(2);
                    } else if ("binlog_snapshot_position".equalsIgnoreCase(rs.getString(1))) {
                        position = Long.parseLong(rs.getString(2));
                    }
                }
            }
            Map<String, Fingerprints> prints = perDatabase(c, names);
            st.execute("ROLLBACK");
            String gtid;
            try (PreparedStatement ps = c.prepareStatement("SELECT BINLOG_GTID_POS(?, ?)")) {
                ps.setString(1, file);
                ps.setLong(2, position);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    gtid = rs.getString(1) == null ? "" : rs.getString(1);
                }
            }
            return new RecoveryCheckpoint(file, position, gtid, serverId, at, prints);
        } catch (SQLException e) {
            throw new BackupException(Stage.VERIFY, "could not take a recovery checkpoint of " + names + " on " + source + ": "
                    + e.getMessage() + " (error " + e.getErrorCode() + ")", e);
        }
    }

    /** The recovery target of this checkpoint: its binlog position. */
    public RecoveryTarget target() {
        return RecoveryTarget.position(file, position);
    }

    /** The fingerprinted databases, in name order. */
    public List<String> databaseNames() {
        return List.copyOf(databases.keySet());
    }

    /**
     * The fingerprints of all its databases as one, the form a drill compares: tables keyed {@code
     * <database>.<table>}, objects {@code <kind> <database>.<name>}, one schema hash over the
     * databases' own.
     */
    public Fingerprints fingerprints() {
        return merged(databases);
    }

    /**
     * The fingerprints of {@code databases} as one {@link Fingerprints}, read inside the
     * connection's current transaction; the checkpoint and the drill compute them the same way.
     */
    static Fingerprints fingerprints(Connection c, Collection<String> databases) throws SQLException {
        return merged(perDatabase(c, databases));
    }

    private static Map<String, Fingerprints> perDatabase(Connection c, Collection<String> databases) throws SQLException {
        Map<String, Fingerprints> out = new TreeMap<>();
        for (String database : databases) {
            MariaDbFingerprints.Result r = MariaDbFingerprints.compute(c, database);
            Map<String, String> objects = new TreeMap<>();
            r.objects().forEach((k, h) -> {
                int colon = k.indexOf(':');
                objects.put(k.substring(0, colon) + " " + k.substring(colon + 1), "definition:" + h);
            });
            out.put(database, new Fingerprints(r.fingerprints().schemaHash(), r.fingerprints().tables(), objects));
        }
        return out;
    }

    private static Fingerprints merged(Map<String, Fingerprints> databases) {
        Map<String, TableFingerprint> tables = new TreeMap<>();
        Map<String, String> objects = new TreeMap<>();
        StringBuilder schemas = new StringBuilder();
        new TreeMap<>(databases).forEach((database, f) -> {
            f.tables().forEach((t, tf) -> tables.put(database + "." + t, tf));
            f.objects().forEach((k, h) -> {
                int space = k.indexOf(' ');
                objects.put(k.substring(0, space) + " " + database + "." + k.substring(space + 1), h);
            });
            schemas.append(database).append('=').append(f.schemaHash()).append('\n');
        });
        String schemaHash = "sha256:" + Digest.sha256(schemas.toString().getBytes(StandardCharsets.UTF_8)).hex();
        return new Fingerprints(schemaHash, tables, objects);
    }

    @Override
    public String toString() {
        return "RecoveryCheckpoint[" + file + ":" + position + " (" + gtid + ") of " + databases.keySet() + " on server id " + serverId
                + ", taken " + takenAt + "]";
    }
}
