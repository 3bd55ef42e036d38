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
import java.util.Optional;
import java.util.Random;
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
 * <p><b>Ticks.</b> Ticks a run lasted past are not made up: after each run the next tick is the
 * schedule's next one after the later of the tick and now. Ticks missed while no replica ran
 * (every daemon was down) follow the job's {@link MissedRuns}: {@link MissedRuns#SKIP} (the
 * default) waits for the next tick; {@link MissedRuns#RUN_ONCE} runs once at start, for the latest
 * missed tick, when the schedule had a tick between the newest tick lease in the repository and
 * now. A downtime that missed ten ticks runs the job once; the catch-up is leased by that tick
 * as any other, so a fleet restarting together catches up once and a restart right after it
 * does not catch up again. A job with no lease in the repository (a first deployment) has missed
 * nothing.
 * Jobs never overlap themselves; different jobs run one at a time if the executor has one thread.
 *
 * <p><b>Jitter.</b> A job with a jitter runs each tick after a random delay of up to that jitter
 * (drawn from the {@link Random} given to the builder), so that many daemons on one cron
 * expression do not hit the database and the storage at the same second. The tick's lease is
 * still named by its scheduled time, so replicas still agree on it.
 *
 * <p>Past 400 lines because jitter, the missed-run catch-up and the tick leases are one scheduling
 * loop over one lease protocol: split apart, each would have to re-derive the others' tick times.
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

    /** What a job does about ticks missed while no replica ran. */
    public enum MissedRuns {
        /** Nothing: the next tick comes as scheduled. */
        SKIP,
        /** One catch-up run at start, however many ticks were missed. */
        RUN_ONCE
    }

    /**
     * A job: a name (lower-case letters, digits, '-'), its schedule, what it does, the most a
     * tick is delayed at random ({@code jitter}, zero or more) and what is done about missed ticks.
     */
    public record Job(String name, Schedule schedule, Runnable action, Duration jitter, MissedRuns missedRuns) {
        public Job {
            Objects.requireNonNull(schedule, "schedule");
            Objects.requireNonNull(action, "action");
            Objects.requireNonNull(jitter, "jitter");
            Objects.requireNonNull(missedRuns, "missedRuns");
            if (name == null || !JOB_NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("job name: got \"" + name + "\", expected lower-case letters, digits and '-'");
            }
            if (jitter.isNegative()) {
                throw new IllegalArgumentException("jitter: got " + jitter + ", expected zero or more");
            }
        }

        /** A job without jitter that skips missed ticks. */
        public Job(String name, Schedule schedule, Runnable action) {
            this(name, schedule, action, Duration.ZERO, MissedRuns.SKIP);
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
    private final Random random;
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
        this.random = b.random;
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

    /**
     * Schedules every job's first tick: the schedule's next one after now, and before it, for a
     * {@link MissedRuns#RUN_ONCE} job that missed ticks, one catch-up run at once.
     */
    public synchronized Daemon start() {
        if (closed) {
            throw new IllegalStateException("daemon is closed");
        }
        Instant now = clock.instant();
        for (Job j : jobs.values()) {
            Optional<Instant> missed = j.missedRuns() == MissedRuns.RUN_ONCE ? missedTick(j, now) : Optional.empty();
            if (missed.isPresent()) {
                Instant tick = missed.get();
                LOG.info("{}: the tick at {} was missed; catching up once", j.name(), tick);
                pending.add(executor.schedule(() -> {
                    try {
                        runTick(j.name(), tick);
                    } finally {
                        scheduleAfter(j, clock.instant());
                    }
                }, 0, TimeUnit.MILLISECONDS));
            } else {
                scheduleAfter(j, now);
            }
        }
        companions.forEach(Companion::start);
        return this;
    }

    /**
     * The latest tick of {@code job} at or before {@code now} if the schedule had one after the
     * newest tick any replica leased; empty when none is due or nothing was ever leased (or the
     * leases cannot be read).
     */
    Optional<Instant> missedTick(Job job, Instant now) {
        Optional<Instant> newest;
        try {
            String prefix = RepositoryLayout.tickLeasePrefix(job.name());
            newest = sink.list(prefix).stream().map(o -> o.key().substring(prefix.length())).max(String::compareTo)
                    .flatMap(RepositoryLayout::tickOfLeaseName);
        } catch (IOException e) {
            LOG.warn("{}: could not list its tick leases, so no missed tick is caught up: {}", job.name(), e.toString());
            return Optional.empty();
        }
        return newest.filter(t -> !job.schedule().next(t).isAfter(now)).map(t -> latestAtOrBefore(job.schedule(), t, now));
    }

    /**
     * The schedule's latest tick in ({@code floor}, {@code now}], given that there is one: looks
     * back from now over doubling spans, so that a schedule of seconds after a week's downtime
     * does not walk every tick.
     */
    static Instant latestAtOrBefore(Schedule schedule, Instant floor, Instant now) {
        Instant t = schedule.next(floor);
        for (Duration back = Duration.ofSeconds(1); now.minus(back).isAfter(floor); back = back.multipliedBy(2)) {
            Instant candidate = schedule.next(now.minus(back));
            if (!candidate.isAfter(now)) {
                t = candidate;
                break;
            }
        }
        for (Instant n = schedule.next(t); !n.isAfter(now); n = schedule.next(n)) {
            t = n;
        }
        return t;
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
        long jitter = job.jitter().isZero() ? 0 : random.nextLong(job.jitter().toMillis() + 1);
        long delay = Math.max(0, Duration.between(clock.instant(), tick).toMillis()) + jitter;
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
        private Random random = new Random();
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

        /** Where the jobs' jitter is drawn from (a seeded one in tests); a new {@link Random} by default. */
        public Builder random(Random random) {
            this.random = Objects.requireNonNull(random, "random");
            return this;
        }

        /** A job without jitter that skips missed ticks. */
        public Builder job(String name, Schedule schedule, Runnable action) {
            return job(new Job(name, schedule, action));
        }

        public Builder job(Job j) {
            String name = j.name();
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
