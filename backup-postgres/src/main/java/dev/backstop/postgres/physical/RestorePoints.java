package dev.backstop.postgres.physical;

import dev.backstop.core.BackupException;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.Repository;
import dev.backstop.core.Stage;
import dev.backstop.core.StorageException;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.layout.PointRecords;
import dev.backstop.core.internal.layout.RepositoryLayout;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.internal.ServerFailures;
import dev.backstop.postgres.wal.WalArchive;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Named restore points whose fingerprints are recorded in the repository, so that a recovery to
 * one can be proven equal to the source at that point ({@link PhysicalRestoreDrill} with {@link
 * RecoveryTarget#restorePoint(String)}).
 *
 * <pre>{@code
 * RestorePoints points = RestorePoints.builder(endpoint, repository.withKeys(kek)).build();
 * RecordedRestorePoint p = points.create("before-release-42");
 * }</pre>
 *
 * <p><b>Guarantees.</b> {@link #create} writes the point with {@code pg_create_restore_point} on
 * the primary and records, in one authenticated record ({@code points/wal/<system-id>/<name>.json},
 * authenticated by the repository's metadata key in a keyed view, for its own key), the
 * fingerprints of every database (or those given) <em>exactly at that point</em>: while the
 * point is taken, a SHARE lock on every user table holds writers back (readers go on) for the
 * few milliseconds between the fingerprints' snapshot and the point; the fingerprints are
 * computed afterwards in that snapshot, with writers running again. A table created or dropped
 * meanwhile fails the attempt (before the point is written it is retried, up to three times;
 * after, nothing is recorded and the exception says so). A name already recorded is refused before
 * anything is written to the server. See docs/security.md for what a drill against such a point
 * proves.
 *
 * <p><b>Restrictions.</b> A primary (restore points cannot be created on a standby), {@code
 * wal_level} replica or logical, and a role that may run {@code pg_create_restore_point} (a
 * superuser, or EXECUTE granted) and read and lock every table. Names are 1..63 characters of
 * {@code [A-Za-z0-9._-]}, unique per cluster: PostgreSQL recovers to the first point of a name
 * after the backup. Writers wait at most the lock timeout (default 10 s) for the locks; a lock
 * that cannot be had in that time (a long writing transaction) fails the attempt, retryable.
 * Object proofs follow {@link dev.backstop.postgres.logical.PgFingerprints}; unlogged tables
 * are left out and sequence positions are compared as at-or-after (see {@link
 * PhysicalRestoreDrill}).
 *
 * <p><b>Threading.</b> Immutable; thread-safe, though two points of one name race (one record wins).
 */
public final class RestorePoints {
    private static final int ATTEMPTS = 3;

    private final PgEndpoint endpoint;
    private final Repository repository;
    private final List<String> databases;
    private final Duration lockTimeout;
    private final Clock clock;

    private RestorePoints(Builder b) {
        this.endpoint = b.endpoint;
        this.repository = b.repository;
        this.databases = b.databases;
        this.lockTimeout = b.lockTimeout;
        this.clock = b.clock;
    }

    /** Points on the cluster at {@code endpoint}, recorded in {@code repository} (a keyed view authenticates them). */
    public static Builder builder(PgEndpoint endpoint, Repository repository) {
        return new Builder(endpoint, repository);
    }

    /**
     * Creates restore point {@code name} and records the fingerprints at it.
     *
     * @throws IllegalArgumentException if the name is not 1..63 of {@code [A-Za-z0-9._-]}
     * @throws BackupException if the name is already recorded, the server refused, the locks could
     *     not be had in time (retryable), or the record could not be written
     */
    public RecordedRestorePoint create(String name) {
        long systemId = systemId(endpoint);
        String stream = WalArchive.streamOf(systemId);
        if (PointRecords.exists(repository, stream, name)) {
            throw new BackupException(Stage.CAPTURE, "restore point '" + name + "' is already recorded at "
                    + RepositoryLayout.restorePointKey(stream, name)
                    + "; PostgreSQL recovers to the first point of a name, so take one with a new name", null, false, null);
        }
        Map.Entry<Long, Map<String, Fingerprints>> taken = null;
        for (int attempt = 1; taken == null; attempt++) {
            try {
                taken = PointCapture.take(endpoint, databases.isEmpty() ? allDatabases() : databases, name, lockTimeout);
            } catch (PointCapture.Changed e) {
                if (attempt == ATTEMPTS) {
                    throw new BackupException(Stage.CAPTURE, "restore point '" + name + "' not created: " + e.getMessage()
                            + " in " + ATTEMPTS + " attempts; take it when no migration runs", null, true, null);
                }
            } catch (SQLException e) {
                boolean lock = "55P03".equals(e.getSQLState());
                throw new BackupException(Stage.CAPTURE, "restore point '" + name + "' on " + endpoint + " failed: "
                        + (lock ? "the tables could not be locked within " + lockTimeout + " (a long writing transaction?): " : "")
                        + e.getMessage() + " (SQLSTATE " + e.getSQLState() + ")", e, lock || ServerFailures.retryable(e), null);
            }
        }
        RecordedRestorePoint point = new RecordedRestorePoint(name, systemId, taken.getKey(), clock.instant(), taken.getValue());
        try {
            PointRecords.put(repository, stream, RestorePointFormat.toRecord(point));
        } catch (StorageException e) {
            throw new StorageException(e.key(), "restore point '" + name + "' was created at the server but could not be "
                    + "recorded: " + e.getMessage(), e, e.retryable(), null);
        }
        return point;
    }

    /**
     * The recorded point {@code name} of the cluster {@code systemId}, if any. In a keyed view the
     * record must be authenticated for its own key.
     *
     * @throws dev.backstop.core.IntegrityException naming the record if it is not authentic, was
     *     moved from another name or cluster, or is of an unknown format
     */
    public static Optional<RecordedRestorePoint> read(Repository repository, long systemId, String name) {
        return PointRecords.read(repository, WalArchive.streamOf(systemId), name, RestorePointFormat.WHAT,
                        RestorePointFormat.owner(systemId))
                .map(r -> RestorePointFormat.fromRecord(r, systemId));
    }

    private List<String> allDatabases() throws SQLException {
        List<String> out = new ArrayList<>();
        try (Connection c = endpoint.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT datname FROM pg_catalog.pg_database WHERE datallowconn AND NOT datistemplate "
                     + "ORDER BY 1")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    private static long systemId(PgEndpoint endpoint) {
        try (Connection c = endpoint.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT system_identifier FROM pg_catalog.pg_control_system()")) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new BackupException(Stage.CAPTURE, "could not read the system identifier of " + endpoint + ": "
                    + e.getMessage(), e, ServerFailures.retryable(e), null);
        }
    }

    @Override
    public String toString() {
        return "RestorePoints[" + endpoint + " -> " + repository.sink() + "]";
    }

    /** Builder for {@link RestorePoints}; each setting at most once. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final PgEndpoint endpoint;
        private final Repository repository;
        private List<String> databases = List.of();
        private Duration lockTimeout = Duration.ofSeconds(10);
        private Clock clock = Clock.systemUTC();

        private Builder(PgEndpoint endpoint, Repository repository) {
            this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
            this.repository = Objects.requireNonNull(repository, "repository");
        }

        /** The databases to fingerprint (default: every database that allows connections, templates aside). */
        public Builder databases(List<String> databases) {
            if (databases.isEmpty()) {
                throw new IllegalArgumentException("databases: got none; leave the setting out for every database");
            }
            this.databases = List.copyOf(given.once("databases", this.databases, databases));
            return this;
        }

        /** How long to wait for the table locks (1 ms..5 min, default 10 s); writers wait as long at most. */
        public Builder lockTimeout(Duration lockTimeout) {
            if (lockTimeout.toMillis() < 1 || lockTimeout.compareTo(Duration.ofMinutes(5)) > 0) {
                throw new IllegalArgumentException("lockTimeout: got " + lockTimeout + ", must be 1 ms..5 min");
            }
            this.lockTimeout = given.once("lockTimeout", this.lockTimeout, lockTimeout);
            return this;
        }

        /** The clock stamping records. */
        public Builder clock(Clock clock) {
            this.clock = given.once("clock", this.clock, clock);
            return this;
        }

        public RestorePoints build() {
            return new RestorePoints(this);
        }
    }
}
