package dev.backstop.core.internal.layout;

import dev.backstop.core.BackupId;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Every key name of a Backstop repository, the same on every sink, and the one timestamp format
 * used inside key names. Other classes ask this one for keys and never build them from literals,
 * so the layout can be read, changed and documented in one place:
 *
 * <pre>
 *   backups/&lt;id&gt;/manifest.json                               written last; its presence = the backup exists
 *   backups/&lt;id&gt;/&lt;stream&gt;                                      data objects
 *   backups/&lt;id&gt;/validations/&lt;stamp&gt;-&lt;validator&gt;.json        validation records
 *   backups/&lt;id&gt;/replicas/&lt;stamp&gt;-&lt;replica&gt;-&lt;what&gt;.json    replica records
 *   backups/probe-&lt;id&gt;                                         a backup's write probe (removed at once)
 *   keys/&lt;id&gt;.dek                                             a backup's wrapped data key
 *   keys/&lt;log-stream&gt;/&lt;key-id&gt;.dek                              a log archive's wrapped data keys
 *   keys/metadata.key                                          the wrapped metadata-authentication key
 *   locks/&lt;name&gt;/&lt;sequence, 19 digits&gt;                         lease objects of a repository lock
 *   state/backups/&lt;id&gt;/{pin,legal-hold,tier}                  holds and recorded tiers
 *   state/expiry/&lt;stamp&gt;-&lt;random&gt;                            expiry journals
 *   audit/&lt;yyyy&gt;/&lt;MM&gt;/&lt;stamp&gt;-&lt;random&gt;.json                  audit log entries
 *   schedule/&lt;job&gt;/&lt;tick&gt;                                    the daemon's tick leases (tick to the second)
 *   points/&lt;log-stream&gt;/&lt;name&gt;.json                            recorded points and their fingerprints ({@link PointRecords})
 *   wal/&lt;system-id&gt;/...                                        PostgreSQL's WAL archive ({@link #walStream})
 *   binlog/&lt;server-uuid&gt;/...                                    MariaDB/MySQL binlog archive ({@link #binlogStream})
 * </pre>
 *
 * <p>A {@code <stamp>} is {@link #STAMP}: UTC to the millisecond, so names sort by time.
 *
 * <p><b>Log archives.</b> A log stream is named {@code <root><id>} with a root of {@link
 * #LOG_ROOTS}; its objects and metadata live below {@code <stream>/} and its wrapped data keys
 * below {@code keys/<stream>/} ({@link #logKeyRecord}). The names of files, deltas and metadata
 * below a stream are the log archive's ({@code dev.backstop.core.log}).
 *
 * <p><b>Threading.</b> Stateless; thread-safe.
 */
public final class RepositoryLayout {
    /** Root of every backup's objects and records. */
    public static final String BACKUPS = "backups/";
    /** Root of wrapped keys; never plaintext keys. */
    public static final String KEYS = "keys/";
    /** Root of repository locks. */
    public static final String LOCKS = "locks/";
    /** Root of the mutable per-backup state: pins, legal holds, recorded tiers. */
    public static final String HOLDS = "state/backups/";
    /** Root of expiry journals. */
    public static final String EXPIRY_JOURNALS = "state/expiry/";
    /** Root of the audit log. */
    public static final String AUDIT = "audit/";
    /** Root of the daemon's tick leases, one directory per scheduled job. */
    public static final String SCHEDULE = "schedule/";
    /** Root of PostgreSQL WAL archives, one stream per system id. */
    public static final String WAL = "wal/";
    /** Root of MariaDB/MySQL binlog archives, one stream per server UUID. */
    public static final String BINLOG = "binlog/";
    /** Root of recorded points (restore points, recovery checkpoints), one directory per log stream. */
    public static final String RESTORE_POINTS = "points/";
    /** What a recorded restore point may be called: key-safe, and short enough for PostgreSQL's restore point names. */
    public static final Pattern RESTORE_POINT_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    /** Every root a log stream may have. */
    public static final List<String> LOG_ROOTS = List.of(WAL, BINLOG);
    /** The repository's wrapped metadata-authentication key. */
    public static final String METADATA_KEY = KEYS + "metadata.key";
    /** Objects that storage-class lifecycle rules move between tiers: backup data. */
    public static final String TIERED = BACKUPS;

    /** A backup's manifest: its presence means the backup exists. */
    public static final String MANIFEST = "manifest.json";
    /** Directory of a backup's validation records. */
    public static final String VALIDATIONS = "validations";
    /** Directory of a backup's replica records. */
    public static final String REPLICAS = "replicas";
    /** The hold names below {@code state/backups/<id>/}. */
    public static final String PIN = "pin";
    public static final String LEGAL_HOLD = "legal-hold";
    public static final String TIER = "tier";

    /** What a data stream of a backup may be called; names of {@link #RESERVED_NAMES} are not allowed. */
    public static final Pattern STREAM_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    /** Names inside a backup's directory that are not data streams. */
    public static final Set<String> RESERVED_NAMES = Set.of(MANIFEST, VALIDATIONS, REPLICAS);

    /** The timestamp inside key names: UTC, millisecond, sortable ({@code 20261121T031500.000Z}). */
    public static final DateTimeFormatter STAMP =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);

    // a schedule's ticks are whole seconds; its lease names keep the shorter stamp they always had
    private static final DateTimeFormatter TICK = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter MONTH = DateTimeFormatter.ofPattern("yyyy/MM", Locale.ROOT).withZone(ZoneOffset.UTC);
    private static final Pattern RECORD_NAME = Pattern.compile("[A-Za-z0-9._-]+\\.json");
    private static final Pattern REPLICA_RECORD =
            Pattern.compile("\\d{8}T\\d{6}\\.\\d{3}Z-([A-Za-z0-9._-]{1,64})-(copy|verify)\\.json");
    private static final Pattern LEASE_NAME = Pattern.compile("\\d{19}");
    private static final String DATA_KEY_SUFFIX = ".dek";
    private static final String PROBE = "probe-";

    private RepositoryLayout() {
    }

    /** {@code instant} as {@link #STAMP}. */
    public static String stamp(Instant instant) {
        return STAMP.format(instant);
    }

    /**
     * The instant of a {@link #STAMP}.
     *
     * @throws java.time.format.DateTimeParseException if {@code text} is not one
     */
    public static Instant parseStamp(String text) {
        return Instant.from(STAMP.parse(text));
    }

    /** {@code backups/<id>/}: every object and record of one backup. */
    public static String backupPrefix(BackupId id) {
        return BACKUPS + id.value() + "/";
    }

    public static String manifestKey(BackupId id) {
        return backupPrefix(id) + MANIFEST;
    }

    /** Whether {@code name} may name a data stream: it matches {@link #STREAM_NAME} and is not reserved. */
    public static boolean isStreamName(String name) {
        return name != null && STREAM_NAME.matcher(name).matches() && !RESERVED_NAMES.contains(name);
    }

    /**
     * Where data stream {@code name} of backup {@code id} is stored.
     *
     * @throws IllegalArgumentException if {@code name} is not a {@linkplain #isStreamName stream name}
     */
    public static String dataKey(BackupId id, String name) {
        if (!isStreamName(name)) {
            throw new IllegalArgumentException("stream name: got '" + name + "', expected " + STREAM_NAME.pattern()
                    + " other than " + RESERVED_NAMES.stream().sorted().toList());
        }
        return backupPrefix(id) + name;
    }

    /** Where the wrapped data key of backup {@code id} is stored. */
    public static String dataKeyObject(BackupId id) {
        return wrappedKey(id.value());
    }

    /** {@code keys/<name>.dek}: a wrapped data key, of a backup (its id) or a log archive (a path). */
    public static String wrappedKey(String name) {
        return KEYS + name + DATA_KEY_SUFFIX;
    }

    /** The {@code name} of {@link #wrappedKey}, or empty if {@code key} is no wrapped data key. */
    public static Optional<String> wrappedKeyName(String key) {
        if (!key.startsWith(KEYS) || !key.endsWith(DATA_KEY_SUFFIX) || key.length() <= KEYS.length() + DATA_KEY_SUFFIX.length()) {
            return Optional.empty();
        }
        return Optional.of(key.substring(KEYS.length(), key.length() - DATA_KEY_SUFFIX.length()));
    }

    /** {@code backups/<id>/validations/}. */
    public static String validationsPrefix(BackupId id) {
        return backupPrefix(id) + VALIDATIONS + "/";
    }

    /** A validation record of {@code validator} finished at {@code finishedAt}; the name is made key-safe. */
    public static String validationKey(BackupId id, Instant finishedAt, String validator) {
        return validationsPrefix(id) + stamp(finishedAt) + "-" + validator.replaceAll("[^A-Za-z0-9._-]", "_") + ".json";
    }

    /** {@code backups/<id>/replicas/}. */
    public static String replicasPrefix(BackupId id) {
        return backupPrefix(id) + REPLICAS + "/";
    }

    /** A replica record: {@code what} happened to backup {@code id} on {@code replica} at {@code at}. */
    public static String replicaRecordKey(BackupId id, Instant at, String replica, String what) {
        return replicasPrefix(id) + stamp(at) + "-" + replica + "-" + what + ".json";
    }

    /**
     * The replica a replica record of backup {@code id} is about, read from its key, or empty if
     * {@code key} is no copy or verify record of {@code id}.
     */
    public static Optional<String> replicaOf(String key, BackupId id) {
        String prefix = replicasPrefix(id);
        if (!key.startsWith(prefix)) {
            return Optional.empty();
        }
        Matcher m = REPLICA_RECORD.matcher(key.substring(prefix.length()));
        return m.matches() ? Optional.of(m.group(1)) : Optional.empty();
    }

    /**
     * The object a backup writes and removes first, to prove the repository takes writes before
     * any capture starts. It sits beside, not inside, the backup's directory, so it can never be
     * taken for one of its objects.
     */
    public static String writeProbeKey(BackupId id) {
        return BACKUPS + PROBE + id.value();
    }

    /**
     * The backup id of a key below {@code backups/<id>/}, or empty for any other key (the write
     * probe, a directory that is not a backup id, a key outside {@code backups/}).
     */
    public static Optional<BackupId> backupOf(String key) {
        if (!key.startsWith(BACKUPS)) {
            return Optional.empty();
        }
        String rest = key.substring(BACKUPS.length());
        int slash = rest.indexOf('/');
        if (slash < 0 || !BackupId.isValid(rest.substring(0, slash))) {
            return Optional.empty();
        }
        return Optional.of(BackupId.parse(rest.substring(0, slash)));
    }

    /**
     * Whether {@code key} is named like a manifest: {@code backups/<dir>/manifest.json} for any
     * one directory (a backup id or not; the catalog reports those that are not) or {@code
     * backups/manifest.json}.
     */
    public static boolean isManifestKey(String key) {
        if (!key.startsWith(BACKUPS) || !(key.endsWith("/" + MANIFEST) || key.equals(BACKUPS + MANIFEST))) {
            return false;
        }
        String rest = key.substring(BACKUPS.length());
        return rest.indexOf('/') == rest.lastIndexOf('/');
    }

    /**
     * Whether Backstop writes objects under {@code key} below {@code backups/}: the manifest, a
     * data stream, a validation or replica record of a backup id.
     */
    public static boolean isBackupObject(String key) {
        Optional<BackupId> id = backupOf(key);
        if (id.isEmpty()) {
            return false;
        }
        String inside = key.substring(backupPrefix(id.get()).length());
        // any stream-like name: a backup may hold a stream named before a name was reserved
        if (STREAM_NAME.matcher(inside).matches()) {
            return true;
        }
        int slash = inside.indexOf('/');
        return slash > 0 && (inside.startsWith(VALIDATIONS + "/") || inside.startsWith(REPLICAS + "/"))
                && RECORD_NAME.matcher(inside.substring(slash + 1)).matches();
    }

    /** {@code state/backups/<id>/}: the holds and recorded tier of one backup. */
    public static String holdsPrefix(BackupId id) {
        return HOLDS + id.value() + "/";
    }

    /** The {@code what} ({@link #PIN}, {@link #LEGAL_HOLD}, {@link #TIER}) record of backup {@code id}. */
    public static String holdKey(BackupId id, String what) {
        return holdsPrefix(id) + what;
    }

    /** The backup id of a {@link #holdKey} for {@code what}, or empty if {@code key} is none. */
    public static Optional<BackupId> holdOwner(String key, String what) {
        if (!key.startsWith(HOLDS)) {
            return Optional.empty();
        }
        String rest = key.substring(HOLDS.length());
        int slash = rest.indexOf('/');
        if (slash < 0 || !rest.substring(slash + 1).equals(what) || !BackupId.isValid(rest.substring(0, slash))) {
            return Optional.empty();
        }
        return Optional.of(BackupId.parse(rest.substring(0, slash)));
    }

    /** An expiry journal begun at {@code at}; {@code unique} keeps two runs of one millisecond apart. */
    public static String expiryJournalKey(Instant at, String unique) {
        return EXPIRY_JOURNALS + stamp(at) + "-" + unique;
    }

    /** {@code locks/<name>/}: the leases of one lock. */
    public static String lockPrefix(String name) {
        return LOCKS + name + "/";
    }

    /** Lease {@code seq} of lock {@code name}; zero-padded so that keys sort by sequence. */
    public static String leaseKey(String name, long seq) {
        return lockPrefix(name) + String.format(Locale.ROOT, "%019d", seq);
    }

    /** The sequence number of a lease key, or empty if {@code key} is none. */
    public static Optional<Long> leaseSequence(String key) {
        if (!key.startsWith(LOCKS)) {
            return Optional.empty();
        }
        String rest = key.substring(LOCKS.length());
        int slash = rest.indexOf('/');
        String tail = slash > 0 ? rest.substring(slash + 1) : "";
        return LEASE_NAME.matcher(tail).matches() ? Optional.of(Long.parseLong(tail)) : Optional.empty();
    }

    /** The lock name of a lease key; call only with a key {@link #leaseSequence} accepts. */
    public static String leaseLock(String key) {
        String rest = key.substring(LOCKS.length());
        return rest.substring(0, rest.indexOf('/'));
    }

    /** An audit log entry at {@code at}; {@code unique} (hex) tells entries of one millisecond apart. */
    public static String auditKey(Instant at, String unique) {
        return AUDIT + MONTH.format(at) + "/" + stamp(at) + "-" + unique + ".json";
    }

    /** When the audit entry {@code key} was written, from its name; empty if it is not named like one. */
    public static Optional<Instant> auditInstant(String key) {
        String name = key.substring(key.lastIndexOf('/') + 1);
        int dash = name.indexOf('-');
        if (!key.startsWith(AUDIT) || dash < 0) {
            return Optional.empty();
        }
        try {
            return Optional.of(parseStamp(name.substring(0, dash)));
        } catch (java.time.format.DateTimeParseException e) {
            return Optional.empty();
        }
    }

    /** {@code schedule/<job>/}: the tick leases of one scheduled job. */
    public static String tickLeasePrefix(String job) {
        return SCHEDULE + job + "/";
    }

    /** The lease of {@code job}'s tick at {@code tick}; names sort as the ticks do. */
    public static String tickLeaseKey(String job, Instant tick) {
        return tickLeasePrefix(job) + TICK.format(tick);
    }

    /** The tick a lease's name (its key after {@link #tickLeasePrefix}) stands for; empty for any other name. */
    public static Optional<Instant> tickOfLeaseName(String name) {
        try {
            return Optional.of(TICK.parse(name, Instant::from));
        } catch (java.time.format.DateTimeParseException e) {
            return Optional.empty();
        }
    }

    /** {@code wal/<system-id>}: the log stream of a PostgreSQL cluster's WAL. */
    public static String walStream(long systemId) {
        return WAL + Long.toUnsignedString(systemId);
    }

    /** {@code binlog/<server-uuid>}: the log stream of a MariaDB/MySQL server's binlog. */
    public static String binlogStream(String serverUuid) {
        Objects.requireNonNull(serverUuid, "serverUuid");
        if (serverUuid.isEmpty() || serverUuid.contains("/")) {
            throw new IllegalArgumentException("binlog stream: got server UUID '" + serverUuid
                    + "', expected one non-empty path segment");
        }
        return BINLOG + serverUuid;
    }

    /** Whether {@code stream} ({@code <root><id>}) starts with one of {@link #LOG_ROOTS}. */
    public static boolean isLogStream(String stream) {
        return stream != null && LOG_ROOTS.stream().anyMatch(r -> stream.startsWith(r) && stream.length() > r.length());
    }

    /** {@code keys/<stream>/}: where the wrapped data keys of log stream {@code stream} live. */
    public static String logKeyRecordPrefix(String stream) {
        return KEYS + stream + "/";
    }

    /** {@code keys/<record>.dek}: the object of a log archive's key record {@code <stream>/<key-id>}. */
    public static String logKeyRecord(String record) {
        return KEYS + record + DATA_KEY_SUFFIX;
    }

    /** Whether {@code key} is a log archive's wrapped data key (kept with its stream, not a backup). */
    public static boolean isLogKeyRecord(String key) {
        return key != null && LOG_ROOTS.stream().anyMatch(r -> key.startsWith(KEYS + r));
    }

    /**
     * {@code points/<stream>/<name>.json}: the record of point {@code name} in log stream {@code
     * stream}: PostgreSQL's restore points in {@code wal/<system-id>}, MariaDB's recovery
     * checkpoints in {@code binlog/<server-uuid>} ({@link PointRecords}).
     *
     * @throws IllegalArgumentException if {@code stream} is no log stream or {@code name} does not
     *     match {@link #RESTORE_POINT_NAME}
     */
    public static String restorePointKey(String stream, String name) {
        if (!isLogStream(stream)) {
            throw new IllegalArgumentException("log stream: got '" + stream + "', need one of " + LOG_ROOTS + " and an id");
        }
        if (name == null || !RESTORE_POINT_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("restore point name: got '" + name + "', need 1..63 of [A-Za-z0-9._-] "
                    + "starting with a letter or digit");
        }
        return RESTORE_POINTS + stream + "/" + name + ".json";
    }
}
