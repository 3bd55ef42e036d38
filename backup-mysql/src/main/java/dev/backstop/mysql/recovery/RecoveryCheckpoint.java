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
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Fingerprints of databases of a live source taken at a known binlog position: what a recovery
 * to that position must reproduce exactly. {@link MariaDbPitrDrill} recovers a backup to {@link
 * #target()} and compares.
 *
 * <pre>{@code
 * RecoveryCheckpoint cp = RecoveryCheckpoint.take(source, Clock.systemUTC(), "shop");
 * Map<String, String> stored = cp.toMap();                 // keep it anywhere; fromMap(stored) reads it back
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
 * @param file         binlog file of the snapshot
 * @param position     binlog position of the snapshot
 * @param gtid         the GTID position there (empty if the server has logged no GTID)
 * @param serverId     the source's {@code server_id}
 * @param takenAt      when the checkpoint was taken
 * @param databases    the fingerprinted databases
 * @param fingerprints tables keyed {@code <database>.<table>}, objects {@code <kind> <database>.<name>}
 */
public record RecoveryCheckpoint(String file, long position, String gtid, long serverId, Instant takenAt, List<String> databases,
                                 Fingerprints fingerprints) {
    private static final int FORMAT = 1;

    public RecoveryCheckpoint {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(gtid, "gtid");
        Objects.requireNonNull(takenAt, "takenAt");
        Objects.requireNonNull(fingerprints, "fingerprints");
        databases = List.copyOf(databases);
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
        List<String> names = Arrays.asList(databases);
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
            Fingerprints prints = fingerprints(c, names);
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
            return new RecoveryCheckpoint(file, position, gtid, serverId, at, names, prints);
        } catch (SQLException e) {
            throw new BackupException(Stage.VERIFY, "could not take a recovery checkpoint of " + names + " on " + source + ": "
                    + e.getMessage() + " (error " + e.getErrorCode() + ")", e);
        }
    }

    /** The recovery target of this checkpoint: its binlog position. */
    public RecoveryTarget target() {
        return RecoveryTarget.position(file, position);
    }

    /** The checkpoint as flat text entries, for storing it; {@link #fromMap} reads them back. */
    public Map<String, String> toMap() {
        Map<String, String> m = new TreeMap<>();
        m.put("format", Integer.toString(FORMAT));
        m.put("binlog_file", file);
        m.put("binlog_position", Long.toString(position));
        m.put("gtid", gtid);
        m.put("server_id", Long.toString(serverId));
        m.put("taken_at", takenAt.toString());
        m.put("databases", String.join(",", databases));
        m.put("schema_hash", fingerprints.schemaHash());
        fingerprints.tables().forEach((t, f) -> m.put("table " + t, f.rows() + " " + f.contentHash()));
        fingerprints.objects().forEach((o, h) -> m.put("object " + o, h));
        return m;
    }

    /**
     * Reads a checkpoint written by {@link #toMap}.
     *
     * @throws IllegalArgumentException naming the entry that is missing or malformed
     */
    public static RecoveryCheckpoint fromMap(Map<String, String> m) {
        if (!Integer.toString(FORMAT).equals(m.get("format"))) {
            throw new IllegalArgumentException("recovery checkpoint: format " + m.get("format") + ", this version reads " + FORMAT);
        }
        Map<String, TableFingerprint> tables = new TreeMap<>();
        Map<String, String> objects = new TreeMap<>();
        m.forEach((k, v) -> {
            if (k.startsWith("table ")) {
                int space = v.indexOf(' ');
                if (space < 1) {
                    throw new IllegalArgumentException("recovery checkpoint: entry '" + k + "' is '" + v + "', need '<rows> <hash>'");
                }
                tables.put(k.substring(6), new TableFingerprint(Long.parseLong(v.substring(0, space)), v.substring(space + 1)));
            } else if (k.startsWith("object ")) {
                objects.put(k.substring(7), v);
            }
        });
        return new RecoveryCheckpoint(required(m, "binlog_file"), Long.parseLong(required(m, "binlog_position")), required(m, "gtid"),
                Long.parseLong(required(m, "server_id")), Instant.parse(required(m, "taken_at")),
                List.of(required(m, "databases").split(",")), new Fingerprints(required(m, "schema_hash"), tables, objects));
    }

    private static String required(Map<String, String> m, String key) {
        String v = m.get(key);
        if (v == null) {
            throw new IllegalArgumentException("recovery checkpoint: no entry '" + key + "'");
        }
        return v;
    }

    /**
     * The fingerprints of {@code databases} as one {@link Fingerprints}, read inside the
     * connection's current transaction; the checkpoint and the drill compute them the same way.
     */
    static Fingerprints fingerprints(Connection c, List<String> databases) throws SQLException {
        Map<String, TableFingerprint> tables = new TreeMap<>();
        Map<String, String> objects = new TreeMap<>();
        StringBuilder schemas = new StringBuilder();
        for (String database : databases) {
            MariaDbFingerprints.Result r = MariaDbFingerprints.compute(c, database);
            r.fingerprints().tables().forEach((t, f) -> tables.put(database + "." + t, f));
            r.objects().forEach((k, h) -> {
                int colon = k.indexOf(':');
                objects.put(k.substring(0, colon) + " " + database + "." + k.substring(colon + 1), "definition:" + h);
            });
            schemas.append(database).append('=').append(r.fingerprints().schemaHash()).append('\n');
        }
        String schemaHash = "sha256:" + Digest.sha256(schemas.toString().getBytes(StandardCharsets.UTF_8)).hex();
        return new Fingerprints(schemaHash, tables, objects);
    }

    @Override
    public String toString() {
        return "RecoveryCheckpoint[" + file + ":" + position + " (" + gtid + ") of " + databases + " on server id " + serverId
                + ", taken " + takenAt + "]";
    }
}
