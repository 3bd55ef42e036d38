package dev.backstop.cli;

import dev.backstop.core.ObjectExistsException;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.schedule.Schedule;
import dev.backstop.core.Sink;
import dev.backstop.core.StorageException;
import dev.backstop.core.internal.layout.RepositoryLayout;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs named jobs (backup, drill, expiry) on their {@link Schedule}s, with one runner per tick
 * across every replica that shares the repository.
 *
 * <p><b>One runner across replicas.</b> Before a job runs for a tick, the daemon writes a tick
 * lease {@code schedule/<job>/<tick>} into the repository, named by the tick's scheduled time
 * (UTC, to the second) with a conditional create ({@link ObjectKind#LOCK}, never replaceable).
 * Exactly one replica's create succeeds; the others get {@link ObjectExistsException}, log it at
 * info and skip that tick: no failure, no alert, no duplicate run. Replicas must agree on the
 * schedule (the same configuration) and keep their clocks in NTP sync; a replica whose clock is
 * so far behind that it reaches a tick after its lease was cleaned up ({@link #LEASE_KEPT}) would
 * run it again. Leases older than {@link #LEASE_KEPT} are deleted by the winner of a later tick.
 *
 * <p><b>Ticks.</b> Missed ticks (the daemon was down or a run lasted past them) are not made up:
 * after each run the next tick is the schedule's next one after the later of the tick and now.
 * Jobs never overlap themselves; different jobs run one at a time if the executor has one thread.
 *
 * <p><b>Threading.</b> Uses the executor it is given and never shuts it down; {@link #close()}
 * cancels future ticks and lets a running job go on (shut the executor down to interrupt it).
 */
public final class Daemon implements AutoCloseable {
    /** How long tick leases are kept before a later winner deletes them. */
    public static final Duration LEASE_KEPT = Duration.ofDays(7);
    static final String PREFIX = RepositoryLayout.SCHEDULE;
    private static final Logger LOG = LoggerFactory.getLogger(Daemon.class);
    private static final Pattern JOB_NAME = Pattern.compile("[a-z][a-z0-9-]{0,30}");

    /** What became of one job's tick. */
    public enum Outcome {
        /** This daemon held the tick's lease and the job ran to the end. */
        RAN,
        /** Another replica holds the tick's lease: skipped quietly. */
        NOT_OURS,
        /** The job threw (reported by its own listeners), or the tick's lease could not be written. */
        FAILED,
        /** The daemon was closed before the tick ran. */
        STOPPED
    }

    /** A job: a name (lower-case letters, digits, '-'), its schedule, and what it does. */
    public record Job(String name, Schedule schedule, Runnable action) {
        public Job {
            Objects.requireNonNull(schedule, "schedule");
            Objects.requireNonNull(action, "action");
            if (name == null || !JOB_NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("job name: got \"" + name + "\", expected lower-case letters, digits and '-'");
            }
        }
    }

    /** A service that runs beside the jobs: started by {@link #start()}, stopped by {@link #close()}. */
    public interface Companion {
        /** Starts the service; called once. */
        void start();

        /** Stops the service; must not throw. */
        void close();
    }

    private final Sink sink;
    private final List<Companion> companions;
    private final ScheduledExecutorService executor;
    private final Clock clock;
    private final String holder;
    private final Map<String, Job> jobs;
    private final Map<String, AtomicLong> ran = new LinkedHashMap<>();
    private final Map<String, AtomicLong> notOurs = new LinkedHashMap<>();
    private final List<ScheduledFuture<?>> pending = new ArrayList<>();
    private volatile boolean closed;

    private Daemon(Builder b) {
        this.sink = b.sink;
        this.executor = b.executor;
        this.clock = b.clock;
        this.holder = b.holder;
        this.jobs = Map.copyOf(b.jobs);
        this.companions = List.copyOf(b.companions);
        for (String name : jobs.keySet()) {
            ran.put(name, new AtomicLong());
            notOurs.put(name, new AtomicLong());
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Schedules every job's first tick: the schedule's next one after now. */
    public synchronized Daemon start() {
        if (closed) {
            throw new IllegalStateException("daemon is closed");
        }
        Instant now = clock.instant();
        jobs.values().forEach(j -> scheduleAfter(j, now));
        companions.forEach(Companion::start);
        return this;
    }

    /** The jobs, by name. */
    public Map<String, Job> jobs() {
        return jobs;
    }

    /** How many ticks of {@code job} this daemon ran (held the lease for), failed or not. */
    public long ran(String job) {
        return counter(ran, job).get();
    }

    /** How many ticks of {@code job} this daemon skipped because another replica held them. */
    public long notOurs(String job) {
        return counter(notOurs, job).get();
    }

    private AtomicLong counter(Map<String, AtomicLong> m, String job) {
        AtomicLong c = m.get(job);
        if (c == null) {
            throw new IllegalArgumentException("job: got \"" + job + "\", configured: " + jobs.keySet());
        }
        return c;
    }

    private synchronized void scheduleAfter(Job job, Instant after) {
        if (closed) {
            return;
        }
        Instant tick = job.schedule().next(after);
        long delay = Math.max(0, Duration.between(clock.instant(), tick).toMillis());
        pending.removeIf(ScheduledFuture::isDone);
        pending.add(executor.schedule(() -> {
            try {
                runTick(job.name(), tick);
            } finally {
                Instant now = clock.instant();
                scheduleAfter(job, now.isAfter(tick) ? now : tick);
            }
        }, delay, TimeUnit.MILLISECONDS));
    }

    /**
     * Runs {@code job}'s tick scheduled at {@code tick} if this daemon wins its lease. The
     * scheduler calls this; it is public so that a service with its own timer can use the lease.
     */
    public Outcome runTick(String job, Instant tick) {
        Job j = jobs.get(job);
        if (j == null) {
            throw new IllegalArgumentException("job: got \"" + job + "\", configured: " + jobs.keySet());
        }
        if (closed) {
            return Outcome.STOPPED;
        }
        boolean ours;
        try {
            ours = claim(j, tick);
        } catch (RuntimeException e) {
            // the repository is unreachable: the job could not have run either; the next tick tries again
            LOG.warn("{} at {}: could not write the tick's lease, skipped: {}", job, tick, e.getMessage());
            return Outcome.FAILED;
        }
        if (!ours) {
            notOurs.get(job).incrementAndGet();
            LOG.info("{} at {}: another replica holds this tick; skipped", job, tick);
            return Outcome.NOT_OURS;
        }
        ran.get(job).incrementAndGet();
        try {
            LOG.info("{} at {}: running", job, tick);
            j.action().run();
            return Outcome.RAN;
        } catch (RuntimeException e) {
            // the job's listeners (alerts, audit) have heard of it; the schedule goes on
            LOG.warn("{} at {} failed: {}", job, tick, e.getMessage());
            return Outcome.FAILED;
        }
    }

    /** Writes the tick's lease; false when another replica wrote it first. */
    private boolean claim(Job job, Instant tick) {
        String key = leaseKey(job.name(), tick);
        try (Sink.Upload up = sink.create(key, ObjectKind.LOCK)) {
            try (OutputStream out = up.stream()) {
                // never read back (its existence is the claim); versioned like every stored object
                out.write(("formatVersion=1\nholder=" + holder + "\nclaimedAt=" + clock.instant() + "\n").getBytes(StandardCharsets.UTF_8));
            }
            up.commit();
        } catch (ObjectExistsException e) {
            return false;
        } catch (IOException e) {
            throw StorageException.of(key, "could not write the schedule lease " + key + ": " + e, e, null);
        }
        cleanupBefore(job.name(), tick.minus(LEASE_KEPT));
        return true;
    }

    static String leaseKey(String job, Instant tick) {
        return RepositoryLayout.tickLeaseKey(job, tick);
    }

    private void cleanupBefore(String job, Instant cutoff) {
        String oldest = leaseKey(job, cutoff);
        try {
            for (ObjectInfo o : sink.list(RepositoryLayout.tickLeasePrefix(job))) {
                // the names sort as the ticks do
                if (o.key().compareTo(oldest) < 0) {
                    sink.delete(o.key());
                }
            }
        } catch (IOException e) {
            LOG.debug("old schedule leases of {} not cleaned up: {}", job, e.toString());
        }
    }

    /** Cancels every future tick; a job already running goes on. */
    @Override
    public synchronized void close() {
        closed = true;
        companions.forEach(Companion::close);
        pending.forEach(f -> f.cancel(false));
        pending.clear();
    }

    /** Builder for {@link Daemon}; the sink, the executor and at least one job or companion are required. */
    public static final class Builder {
        private Sink sink;
        private ScheduledExecutorService executor;
        private Clock clock = Clock.systemUTC();
        private String holder = "pid" + ProcessHandle.current().pid();
        private final Map<String, Job> jobs = new LinkedHashMap<>();
        private final List<Companion> companions = new ArrayList<>();

        private Builder() {
        }

        /** A service started and stopped with the daemon, such as its health checks. */
        public Builder companion(Companion companion) {
            companions.add(Objects.requireNonNull(companion, "companion"));
            return this;
        }

        /** Where the tick leases live: the repository's sink, shared by every replica. */
        public Builder leases(Sink sink) {
            this.sink = Objects.requireNonNull(sink, "sink");
            return this;
        }

        /** Where ticks run; the daemon never shuts it down. */
        public Builder executor(ScheduledExecutorService executor) {
            this.executor = Objects.requireNonNull(executor, "executor");
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Who this replica is, written into the leases it wins (a host name; no secrets). */
        public Builder holder(String holder) {
            this.holder = Objects.requireNonNull(holder, "holder");
            return this;
        }

        public Builder job(String name, Schedule schedule, Runnable action) {
            Job j = new Job(name, schedule, action);
            if (jobs.putIfAbsent(name, j) != null) {
                throw new IllegalArgumentException("job: \"" + name + "\" given twice");
            }
            return this;
        }

        public Daemon build() {
            if (sink == null) {
                throw new IllegalStateException("leases(sink) is required");
            }
            if (executor == null) {
                throw new IllegalStateException("executor is required");
            }
            if (jobs.isEmpty() && companions.isEmpty()) {
                throw new IllegalStateException("at least one job or companion is required");
            }
            return new Daemon(this);
        }
    }
}
