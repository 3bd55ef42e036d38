package dev.backstop.core.event;

import dev.backstop.core.internal.repo.RepositoryStore;
import dev.backstop.core.crypto.MetadataKey;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.DamagedObject;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Repository;
import dev.backstop.core.StorageException;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.layout.FormatVersion;
import dev.backstop.core.internal.layout.RepositoryLayout;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An append-only, authenticated record of who did what to a repository: backups, restores,
 * drills, expiry deletions with their reasons, copies, key operations and hold changes, each with
 * its time, host, operating-system user and principal.
 *
 * <p><b>Guarantees.</b> Each entry is one immutable object, {@code
 * audit/<yyyy>/<mm>/<timestamp>-<random>.json}, authenticated with the repository's {@link
 * MetadataKey} for its own key, so an edited, forged or moved entry is named by {@link #read} as
 * {@linkplain Read#tampered() tampered}. Entries are never replaced; the entries of one {@code
 * AuditLog} have strictly increasing times (a millisecond apart at least), so names sort in the
 * order of appending. Backup expiry and {@link
 * Repository#orphans} never touch {@code audit/}; entries go only by the audit log's own
 * retention, {@link #expireBefore}.
 *
 * <p><b>Restrictions.</b> Needs a keyed repository view ({@link Repository#withKeys}): an entry
 * nobody can authenticate is no evidence. A deleted entry leaves no trace by itself; put the
 * repository under object lock (backup-s3) to make deletion impossible. Appending is a write to
 * the repository: {@link #listener()} swallows and logs a failed append rather than failing the
 * backup it describes.
 *
 * <p><b>Threading.</b> Thread-safe.
 */
public final class AuditLog {
    /** Where entries live. */
    public static final String PREFIX = RepositoryLayout.AUDIT;

    /** The entry format this code writes and reads. */
    static final int FORMAT_VERSION = 1;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String OWNER = "audit";
    private static final Logger LOG = LoggerFactory.getLogger(AuditLog.class);

    /** What was done. */
    public enum Action {
        BACKUP, BACKUP_FAILED, RESTORE, DRILL, EXPIRY_DELETION, COPY, KEY_ROTATION, KEY_REWRAP, KEY_ERASE, HOLD_CHANGE
    }

    /**
     * One entry: when, what, on what ({@code subject}: a backup id, a key id, a repository), the
     * details (an expiry's reasons, a drill's outcome), and who: host, OS user, principal.
     */
    public record Entry(Instant at, Action action, String subject, String detail, String host, String osUser,
                        String principal) {
        public Entry {
            Objects.requireNonNull(at, "at");
            Objects.requireNonNull(action, "action");
            Objects.requireNonNull(subject, "subject");
            Objects.requireNonNull(detail, "detail");
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(osUser, "osUser");
            Objects.requireNonNull(principal, "principal");
        }
    }

    /** What {@link #read} found: authenticated entries oldest first, and the objects that failed. */
    public record Read(List<Entry> entries, List<DamagedObject> tampered) {
        public Read {
            entries = List.copyOf(entries);
            tampered = List.copyOf(tampered);
        }
    }

    private final Repository repository;
    private final Clock clock;
    private final String host;
    private final String osUser;
    private final String principal;
    private final RandomGenerator random;
    private final AtomicReference<Instant> last =
            new AtomicReference<>(Instant.EPOCH);

    private AuditLog(Builder b) {
        this.repository = b.repository;
        this.clock = b.clock;
        this.host = b.host != null ? b.host : localHost();
        this.osUser = b.osUser != null ? b.osUser : System.getProperty("user.name", "unknown");
        this.principal = b.principal;
        this.random = b.random;
    }

    /** A builder over {@code repository}, which must be a keyed view. */
    public static Builder builder(Repository repository) {
        return new Builder(repository);
    }

    /**
     * Appends one entry now and returns it.
     *
     * @throws StorageException (retryable) when the entry could not be written
     */
    public Entry append(Action action, String subject, String detail) {
        Instant now = clock.instant().truncatedTo(ChronoUnit.MILLIS);
        // names order entries: within one log, each gets a later millisecond than the one before
        Instant at = last.accumulateAndGet(now, (prev, t) -> t.isAfter(prev) ? t : prev.plusMillis(1));
        Entry e = new Entry(at, action, subject, detail, host, osUser, principal);
        byte[] suffix = new byte[6];
        random.nextBytes(suffix);
        String key = RepositoryLayout.auditKey(e.at(), HexFormat.of().formatHex(suffix));
        ObjectNode n = JSON.createObjectNode();
        n.put(FormatVersion.FIELD, FORMAT_VERSION);
        n.put("at", e.at().toString());
        n.put("action", e.action().name());
        n.put("subject", e.subject());
        n.put("detail", e.detail());
        n.put("host", e.host());
        n.put("osUser", e.osUser());
        n.put("principal", e.principal());
        try {
            RepositoryStore.putRecord(repository, key, OWNER, ObjectKind.AUDIT, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(n));
        } catch (IOException ex) {
            throw StorageException.of(key, "could not append to the audit log: " + ex, ex, null);
        }
        return e;
    }

    /**
     * The entries at or after {@code from} and before {@code to}, each authenticated; an entry
     * that does not authenticate or parse is left out and named in {@link Read#tampered()}.
     */
    public Read read(Instant from, Instant to) {
        List<Entry> entries = new ArrayList<>();
        List<DamagedObject> tampered = new ArrayList<>();
        try {
            for (ObjectInfo o : repository.sink().list(PREFIX)) {
                try {
                    Entry e = parse(RepositoryStore.readRecord(repository, o.key(), OWNER, "audit entry"), o.key());
                    if (!e.at().isBefore(from) && e.at().isBefore(to)) {
                        entries.add(e);
                    }
                } catch (IntegrityException | IllegalArgumentException | DateTimeException | IOException e) {
                    tampered.add(new DamagedObject(o.key(), e.getMessage() == null ? e.toString() : e.getMessage()));
                }
            }
        } catch (IOException e) {
            throw StorageException.of(PREFIX, "could not list the audit log: " + e, e, null);
        }
        entries.sort(Comparator.comparing(Entry::at));
        return new Read(entries, tampered);
    }

    /**
     * The audit log's own retention: deletes entries whose name says they were written before
     * {@code cutoff}, and returns how many. Backup expiry never does this.
     */
    public int expireBefore(Instant cutoff) {
        int n = 0;
        try {
            for (ObjectInfo o : repository.sink().list(PREFIX)) {
                Instant written = writtenAt(o.key());
                if (written != null && written.isBefore(cutoff)) {
                    repository.sink().delete(o.key());
                    n++;
                }
            }
        } catch (IOException e) {
            throw StorageException.of(PREFIX, "could not expire the audit log: " + e, e, null);
        }
        return n;
    }

    /** The time in an entry's name, or null for a name the audit log did not write (left alone). */
    private static Instant writtenAt(String key) {
        return RepositoryLayout.auditInstant(key).orElse(null);
    }

    /**
     * A listener that appends an entry for every backup (succeeded or failed for good), restore,
     * validation ({@link Action#DRILL}) and expiry deletion it hears of. A failed append is
     * logged and does not fail the operation.
     */
    public BackupListener listener() {
        return new BackupListener() {
            @Override
            public void backupSucceeded(Manifest m) {
                quietly(Action.BACKUP, m.id().value(), m.plaintextBytes() + " bytes in, " + m.storedBytes()
                        + " stored, in " + m.duration());
            }

            @Override
            public void backupFailed(BackupId id, BackupException failure) {
                quietly(Action.BACKUP_FAILED, id.value(), "at " + failure.stage() + ": " + failure.getMessage());
            }

            @Override
            public void restoreFinished(BackupId id, long plaintextBytes, Duration elapsed) {
                quietly(Action.RESTORE, id.value(), plaintextBytes + " bytes in " + elapsed);
            }

            @Override
            public void validated(ValidationResult r) {
                quietly(Action.DRILL, r.backupId().value(), r.validator() + " " + (r.passed() ? "passed"
                        : "failed: " + String.join("; ", r.findings())) + " in " + r.elapsed());
            }

            @Override
            public void backupExpired(BackupId id, long storedBytes, List<String> reasons) {
                quietly(Action.EXPIRY_DELETION, id.value(), String.join("; ", reasons));
            }
        };
    }

    private void quietly(Action action, String subject, String detail) {
        try {
            append(action, subject, detail);
        } catch (RuntimeException e) {
            LOG.warn("could not append {} of {} to the audit log: {}", action, subject, e.toString());
        }
    }

    /** Reads an entry; one without a {@code formatVersion} is format 1, a newer one is refused naming it. */
    private static Entry parse(byte[] json, String key) throws IOException {
        JsonNode n = JSON.readTree(json);
        if (n == null || !n.isObject()) {
            throw new IllegalArgumentException("not an audit entry: no JSON object");
        }
        FormatVersion.of(n, key, "audit entry", FORMAT_VERSION, null);
        return new Entry(Instant.parse(text(n, "at")), Action.valueOf(text(n, "action")), text(n, "subject"),
                text(n, "detail"), text(n, "host"), text(n, "osUser"), text(n, "principal"));
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException("audit entry: \"" + field + "\" is missing or not a string");
        }
        return v.asText();
    }

    private static String localHost() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "unknown";
        }
    }

    /** Builder for {@link AuditLog}. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final Repository repository;
        private Clock clock = Clock.systemUTC();
        private String host;
        private String osUser;
        private String principal = "unknown";
        private RandomGenerator random = new SecureRandom();

        private Builder(Repository repository) {
            Objects.requireNonNull(repository, "repository");
            if (!repository.keyed()) {
                throw new IllegalArgumentException("audit log: the repository must be a keyed view, "
                        + "Repository.withKeys(kek); unauthenticated entries are no evidence");
            }
            this.repository = repository;
        }

        public Builder clock(Clock clock) {
            this.clock = given.once("clock", this.clock, clock);
            return this;
        }

        /** Who acts, as your system knows them (an operator's login, a service account); default {@code unknown}. */
        public Builder principal(String principal) {
            this.principal = given.once("principal", this.principal, principal);
            return this;
        }

        /** The host name recorded; default this machine's. */
        public Builder host(String host) {
            this.host = given.once("host", this.host, host);
            return this;
        }

        /** The operating-system user recorded; default {@code user.name}. */
        public Builder osUser(String osUser) {
            this.osUser = given.once("osUser", this.osUser, osUser);
            return this;
        }

        /** The source of entry names' random suffixes; default a {@link SecureRandom}. */
        public Builder random(RandomGenerator random) {
            this.random = given.once("random", this.random, random);
            return this;
        }

        public AuditLog build() {
            return new AuditLog(this);
        }
    }
}
