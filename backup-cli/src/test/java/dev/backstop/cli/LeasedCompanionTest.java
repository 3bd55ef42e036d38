package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.Repository;
import dev.backstop.core.lock.RepositoryLock;
import dev.backstop.testkit.MutableClock;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two replicas' leased services on one filesystem repository, ticked by hand on a manual clock. */
class LeasedCompanionTest {
    static final Duration TTL = Duration.ofSeconds(30);

    @TempDir
    Path repo;

    final MutableClock clock = new MutableClock(Instant.parse("2026-12-07T10:00:00Z"));
    Service a;
    Service b;
    LeasedCompanion replicaA;
    LeasedCompanion replicaB;

    /** A service that records whether it runs and how often it was started; refuses a start while running. */
    static final class Service implements LeasedCompanion.Service {
        boolean running;
        boolean closed;
        int starts;

        @Override
        public void start() {
            assertThat(running).as("started while running").isFalse();
            running = true;
            starts++;
        }

        @Override
        public void suspend() {
            running = false;
        }

        @Override
        public void close() {
            running = false;
            closed = true;
        }
    }

    LeasedCompanion replica(String holder, Service s) {
        RepositoryLock lock = RepositoryLock.builder(Repository.filesystem(repo).sink()).name("binlog-server-1").holder(holder)
                .ttl(TTL).clock(clock).build();
        return new LeasedCompanion("binlog stream binlog/server-1", lock, s, Executors.newSingleThreadScheduledExecutor(), clock);
    }

    @BeforeEach
    void replicas() {
        a = new Service();
        b = new Service();
        replicaA = replica("a", a);
        replicaB = replica("b", b);
    }

    @Test
    void theFirstReplicaStreams_theSecondStandsBy_andRenewalKeepsItSoPastTheTtl() {
        assertThat(replicaA.tick()).isEqualTo(LeasedCompanion.State.HOLDING);
        assertThat(replicaB.tick()).isEqualTo(LeasedCompanion.State.STANDING_BY);
        for (int i = 0; i < 6; i++) {
            clock.advance(TTL.dividedBy(3));
            assertThat(replicaA.tick()).isEqualTo(LeasedCompanion.State.HOLDING);
            assertThat(replicaB.tick()).isEqualTo(LeasedCompanion.State.STANDING_BY);
        }

        assertThat(a.running).isTrue();
        assertThat(a.starts).isEqualTo(1);
        assertThat(b.starts).isZero();
    }

    @Test
    void whenTheHolderCloses_itReleasesTheLease_andTheOtherTakesOverAtItsNextTick() {
        replicaA.tick();
        replicaB.tick();

        replicaA.close();
        assertThat(a.closed).isTrue();
        assertThat(replicaB.tick()).isEqualTo(LeasedCompanion.State.HOLDING);

        assertThat(b.running).isTrue();
        assertThat(replicaA.tick()).isEqualTo(LeasedCompanion.State.CLOSED);
        assertThat(a.running).isFalse();
    }

    @Test
    void whenTheHolderStopsTicking_theOtherTakesOverOnlyOnceTheLeaseExpired_andTheOldHolderSuspends() {
        replicaA.tick();

        clock.advance(TTL.minusSeconds(1));
        assertThat(replicaB.tick()).isEqualTo(LeasedCompanion.State.STANDING_BY);
        clock.advance(Duration.ofSeconds(1));
        assertThat(replicaB.tick()).isEqualTo(LeasedCompanion.State.HOLDING);
        assertThat(b.running).isTrue();

        // the paused holder wakes up: its lease is gone, so it stops and stands by
        assertThat(replicaA.tick()).isEqualTo(LeasedCompanion.State.STANDING_BY);
        assertThat(a.running).isFalse();
        clock.advance(TTL.dividedBy(3));
        assertThat(replicaA.tick()).isEqualTo(LeasedCompanion.State.STANDING_BY);
        assertThat(replicaB.tick()).isEqualTo(LeasedCompanion.State.HOLDING);
        assertThat(a.starts + b.starts).isEqualTo(2);
    }

    @Test
    void aRenewalThatFindsTheLeaseTakenOver_suspendsTheService() {
        replicaA.tick();
        clock.advance(TTL);
        // the other replica took the expired lease; the holder's clock lags a second, so its lease looks unexpired to it
        assertThat(replicaB.tick()).isEqualTo(LeasedCompanion.State.HOLDING);
        clock.set(clock.instant().minusSeconds(1));

        assertThat(replicaA.tick()).isEqualTo(LeasedCompanion.State.STANDING_BY);
        assertThat(a.running).isFalse();
        assertThat(b.running).isTrue();
    }
}
