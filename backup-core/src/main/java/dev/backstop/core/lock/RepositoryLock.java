package dev.backstop.core.lock;

import dev.backstop.core.BackupException;
import dev.backstop.core.ObjectExistsException;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Sink;
import dev.backstop.core.Stage;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.layout.FormatVersion;
import dev.backstop.core.internal.layout.RepositoryLayout;
import dev.backstop.core.internal.lock.LeaseRecord;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * A lock that lives in the repository, so that two hosts cannot expire and back up the same
 * repository at once (a host-local lock cannot see the other host). Works on any {@link Sink}.
 *
 * <p><b>How.</b> The lock is a sequence of immutable lease objects {@code locks/<name>/<seq>}
 * ({@link ObjectKind#LOCK}): a holder, a fencing token, an expiry, a released flag. Every acquire,
 * renewal and release writes the next sequence number, and writing it is a conditional create that
 * only one contender can win. After each write the holder lists the leases again and gives up if
 * its lease is not the newest, which makes the result safe even while old leases are cleaned up.
 *
 * <p><b>Guarantees.</b> At most one holder has an unexpired, unreleased lease at any instant of
 * the injected clock. Fencing tokens grow strictly with every acquisition, so a storage layer that
 * remembers the highest token it saw can refuse a holder that lost its lease. An expired lease can
 * be taken over by anyone; its old holder learns so at its next {@link Lease#renew()} or {@link
 * Lease#ensureHeld()}.
 *
 * <p><b>Restrictions.</b> Expiry compares instants of the holders' clocks: keep hosts in NTP sync
 * and the TTL much longer than the worst clock skew. The sink's conditional create must be atomic
 * (the filesystem sink's hard link, S3's {@code If-None-Match: *}).
 *
 * <p><b>Threading.</b> The lock is thread-safe; one {@link Lease} is used by one thread at a time.
 */
public final class RepositoryLock {
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
    private static final int ATTEMPTS = 3;

    private final Sink sink;
    private final String name;
    private final String holder;
    private final Duration ttl;
    private final Clock clock;

    private RepositoryLock(Builder b) {
        this.sink = b.sink;
        this.name = b.name;
        this.holder = b.holder != null ? b.holder
                : "pid" + ProcessHandle.current().pid() + "-" + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36);
        this.ttl = b.ttl;
        this.clock = b.clock;
    }

    /** A lock named {@code repository} in {@code sink}, 5 minute leases, the system UTC clock. */
    public static Builder builder(Sink sink) {
        return new Builder(sink);
    }

    public String holder() {
        return holder;
    }

    public Duration ttl() {
        return ttl;
    }

    /**
     * Takes the lock.
     *
     * @throws BackupException of stage {@link Stage#LOCK}, retryable, when someone else holds an
     *                         unexpired lease or wins a race for it
     */
    public Lease acquire() {
        BackupException last = null;
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            try {
                Optional<LeaseRecord> top = newest();
                Instant now = clock.instant();
                if (top.isPresent() && top.get().liveAt(now) && !top.get().holder().equals(holder)) {
                    throw held("held by " + top.get().holder() + " until " + top.get().expires() + " (token "
                            + top.get().token() + ")", null);
                }
                long seq = top.map(r -> r.seq() + 1).orElse(1L);
                LeaseRecord mine = new LeaseRecord(seq, holder, seq, now.plus(ttl), false);
                write(mine);
                Lease lease = new Lease(mine);
                cleanupBelow(seq);
                return lease;
            } catch (LostRace e) {
                last = held("lost the race for it: " + e.getMessage(), e);
            } catch (NoSuchFileException e) {
                // a lease vanished between list and read: it was cleaned up; look again
                last = held("leases changed while reading them: " + e.getMessage(), e);
            } catch (IOException e) {
                throw new BackupException(Stage.LOCK, "lock " + keyPrefix() + ": could not acquire: " + e, e, true, null);
            }
        }
        throw last;
    }

    /** The newest lease, if any: who holds or last held the lock. For messages and tests. */
    public Optional<String> describe() {
        try {
            return newest().map(LeaseRecord::toString);
        } catch (IOException e) {
            throw new BackupException(Stage.LOCK, "lock " + keyPrefix() + ": could not read: " + e, e, true, null);
        }
    }

    private BackupException held(String why, Throwable cause) {
        return new BackupException(Stage.LOCK, "lock " + keyPrefix() + " is not available to " + holder + ": " + why,
                cause, true, null);
    }

    private String keyPrefix() {
        return RepositoryLayout.lockPrefix(name);
    }

    private String key(long seq) {
        return RepositoryLayout.leaseKey(name, seq);
    }

    private Optional<LeaseRecord> newest() throws IOException {
        List<ObjectInfo> all = sink.list(keyPrefix());
        for (int i = all.size() - 1; i >= 0; i--) {
            String k = all.get(i).key();
            Optional<Long> seq = RepositoryLayout.leaseSequence(k);
            if (seq.isPresent()) {
                try (InputStream in = sink.open(k)) {
                    return Optional.of(LeaseRecord.parse(seq.get(), new String(in.readNBytes(4096), StandardCharsets.UTF_8), k));
                }
            }
        }
        return Optional.empty();
    }

    private void write(LeaseRecord r) throws IOException {
        try (Sink.Upload up = sink.create(key(r.seq()), ObjectKind.LOCK)) {
            try (OutputStream out = up.stream()) {
                out.write(r.format().getBytes(StandardCharsets.UTF_8));
            }
            up.commit();
        } catch (ObjectExistsException e) {
            throw new LostRace("lease " + key(r.seq()) + " was written by someone else first");
        }
        Optional<LeaseRecord> top = newest();
        if (top.isEmpty() || top.get().seq() != r.seq()) {
            // an older sequence number was reused after cleanup: someone newer exists; step back
            sink.delete(key(r.seq()));
            throw new LostRace("a newer lease " + top.map(t -> key(t.seq())).orElse("?") + " exists");
        }
    }

    private void cleanupBelow(long seq) {
        try {
            for (ObjectInfo o : sink.list(keyPrefix())) {
                Optional<Long> s = RepositoryLayout.leaseSequence(o.key());
                if (s.isPresent() && o.key().startsWith(keyPrefix()) && s.get() < seq) {
                    sink.delete(o.key());
                }
            }
        } catch (IOException e) {
            // old leases are harmless: the newest one decides; they are removed next time
        }
    }

    /**
     * A held lock. {@link #close()} releases it; safe to close twice, and closing a lease that was
     * taken over leaves the new holder alone.
     */
    public final class Lease implements AutoCloseable {
        private LeaseRecord current;
        private boolean closed;
        private boolean lost;

        private Lease(LeaseRecord current) {
            this.current = current;
        }

        /** The fencing token of this acquisition; greater than every earlier acquisition's. */
        public long token() {
            return current.token();
        }

        public Instant expiresAt() {
            return current.expires();
        }

        /**
         * Extends the lease by the TTL from now.
         *
         * @throws BackupException of stage {@link Stage#LOCK} if the lease was taken over or released
         */
        public void renew() {
            check();
            LeaseRecord next = new LeaseRecord(current.seq() + 1, holder, current.token(), clock.instant().plus(ttl), false);
            try {
                write(next);
                current = next;
                cleanupBelow(next.seq());
            } catch (LostRace e) {
                lost = true;
                throw new BackupException(Stage.LOCK, "lock " + keyPrefix() + ": lease of " + holder + " (token "
                        + current.token() + ") was taken over: " + e.getMessage(), e, false, null);
            } catch (IOException e) {
                throw new BackupException(Stage.LOCK, "lock " + keyPrefix() + ": could not renew: " + e, e, true, null);
            }
        }

        /**
         * Call before each step that must run under the lock: renews when more than half of the
         * TTL has passed, and fails if the lease expired (someone may have taken it over).
         */
        public void ensureHeld() {
            check();
            Instant now = clock.instant();
            if (!now.isBefore(current.expires())) {
                lost = true;
                throw new BackupException(Stage.LOCK, "lock " + keyPrefix() + ": lease of " + holder + " (token "
                        + current.token() + ") expired at " + current.expires() + ", now " + now, null, true, null);
            }
            if (Duration.between(now, current.expires()).compareTo(ttl.dividedBy(2)) < 0) {
                renew();
            }
        }

        private void check() {
            if (closed || lost) {
                throw new IllegalStateException("lease of " + keyPrefix() + " (token " + current.token() + ") is "
                        + (closed ? "released" : "lost"));
            }
        }

        /**
         * Releases the lock by writing a released lease; never throws. Also on an interrupted
         * thread (a job aborted because its daemon stops): the interrupt is set aside for the
         * write and set again afterwards.
         */
        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            if (lost) {
                return;
            }
            LeaseRecord released = new LeaseRecord(current.seq() + 1, holder, current.token(), clock.instant(), true);
            // an interrupted thread's FileChannel write fails at once: the lock would then stay held until its TTL
            boolean interrupted = Thread.interrupted();
            try {
                write(released);
                cleanupBelow(released.seq());
            } catch (IOException | RuntimeException e) {
                // taken over already, or the store is unreachable: the lease then ends by expiry
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        @Override
        public String toString() {
            return "Lease[" + keyPrefix() + " token " + current.token() + " held by " + holder + " until " + current.expires() + "]";
        }
    }

    private static final class LostRace extends IOException {
        private static final long serialVersionUID = 1L;

        LostRace(String message) {
            super(message);
        }
    }

    /** Builder for {@link RepositoryLock}; not thread-safe. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final Sink sink;
        private String name = "repository";
        private String holder;
        private Duration ttl = Duration.ofMinutes(5);
        private Clock clock = Clock.systemUTC();

        private Builder(Sink sink) {
            this.sink = Objects.requireNonNull(sink, "sink");
        }

        /** Which lock: {@code repository} unless you need several. Lower-case letters, digits, '-'. */
        public Builder name(String name) {
            if (name == null || !NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("lock name: got '" + name + "', expected [a-z0-9][a-z0-9-]{0,62}");
            }
            given.onceNullable("name", this.name, name);
            this.name = name;
            return this;
        }

        /** Who holds the lease, for messages (a host and process name); no secrets. Default: pid and random. */
        public Builder holder(String holder) {
            if (holder == null || holder.isBlank() || holder.contains("\n") || holder.length() > 200) {
                throw new IllegalArgumentException("lock holder: got '" + holder + "', expected 1-200 characters, one line");
            }
            given.onceNullable("holder", this.holder, holder);
            this.holder = holder;
            return this;
        }

        /** How long a lease lasts without renewal; between 1 second and 1 day, default 5 minutes. */
        public Builder ttl(Duration ttl) {
            Objects.requireNonNull(ttl, "ttl");
            if (ttl.compareTo(Duration.ofSeconds(1)) < 0 || ttl.compareTo(Duration.ofDays(1)) > 0) {
                throw new IllegalArgumentException("lock ttl: got " + ttl + ", must be between PT1S and P1D");
            }
            given.onceNullable("ttl", this.ttl, ttl);
            this.ttl = ttl;
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = given.once("clock", this.clock, clock);
            return this;
        }

        public RepositoryLock build() {
            return new RepositoryLock(this);
        }
    }
}
