package dev.backstop.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class BinlogGaugesTest {
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final AtomicReference<Optional<BinlogStatus>> status = new AtomicReference<>(Optional.empty());

    MicrometerListener bound() {
        MicrometerListener l = MicrometerListener.builder().binlog(status::get).tags(Tags.of("repository", "shop")).build();
        l.bindTo(registry);
        return l;
    }

    double gauge(String name) {
        return registry.get(name).tag("repository", "shop").gauge().value();
    }

    @Test
    void binlogGauges_showTheReceiversLatestReading_onEveryScrape() {
        bound();
        status.set(Optional.of(new BinlogStatus("mariadb-bin.000042", 81_920, 4_096, Duration.ofMillis(350), true)));

        assertThat(registry.get(MicrometerListener.BINLOG_RPO).tag("repository", "shop").timeGauge().value(TimeUnit.MILLISECONDS))
                .isEqualTo(350.0);
        assertThat(gauge(MicrometerListener.BINLOG_LAG_BYTES)).isEqualTo(4_096.0);
        assertThat(gauge(MicrometerListener.BINLOG_ARCHIVED_FILE)).isEqualTo(42.0);
        assertThat(gauge(MicrometerListener.BINLOG_ARCHIVED_POSITION)).isEqualTo(81_920.0);
        assertThat(gauge(MicrometerListener.BINLOG_RUNNING)).isEqualTo(1.0);

        status.set(Optional.of(new BinlogStatus("mariadb-bin.000043", 256, 0, Duration.ofMinutes(20), false)));

        assertThat(registry.get(MicrometerListener.BINLOG_RPO).timeGauge().value(TimeUnit.SECONDS)).isEqualTo(1200.0);
        assertThat(gauge(MicrometerListener.BINLOG_ARCHIVED_FILE)).isEqualTo(43.0);
        assertThat(gauge(MicrometerListener.BINLOG_ARCHIVED_POSITION)).isEqualTo(256.0);
        assertThat(gauge(MicrometerListener.BINLOG_RUNNING)).isZero();
    }

    @Test
    void binlogGauges_withoutAReading_orWhenTheReadingThrows_areNaN() {
        bound();

        assertThat(gauge(MicrometerListener.BINLOG_RPO)).isNaN();
        assertThat(gauge(MicrometerListener.BINLOG_RUNNING)).isNaN();

        status.set(null); // the supplier's Optional.get() below throws: a scrape must still answer
        assertThat(gauge(MicrometerListener.BINLOG_LAG_BYTES)).isNaN();
    }

    @Test
    void binlogArchivedFile_beforeAnyFileIsArchived_isNaN() {
        bound();
        status.set(Optional.of(new BinlogStatus(null, 0, 120, Duration.ofSeconds(3), true)));

        assertThat(gauge(MicrometerListener.BINLOG_ARCHIVED_FILE)).isNaN();
        assertThat(gauge(MicrometerListener.BINLOG_LAG_BYTES)).isEqualTo(120.0);
    }

    @Test
    void binlogGauges_ofAListenerNothingElseHolds_keepReadingAfterAGarbageCollection() {
        bound(); // the listener itself is dropped here, as a daemon without jobs drops it
        status.set(Optional.of(new BinlogStatus("binlog.000007", 10, 0, Duration.ZERO, true)));

        System.gc();

        assertThat(gauge(MicrometerListener.BINLOG_ARCHIVED_FILE)).isEqualTo(7.0);
    }

    @Test
    void binlog_givenTwice_isRefused() {
        MicrometerListener.Builder b = MicrometerListener.builder().binlog(status::get);

        assertThatThrownBy(() -> b.binlog(status::get)).isInstanceOf(IllegalStateException.class).hasMessageContaining("binlog");
    }

    @Test
    void binlogGauges_areOnlyRegisteredWhenABinlogReadingIsGiven() {
        MicrometerListener.builder().build().bindTo(registry);

        assertThat(registry.find(MicrometerListener.BINLOG_RPO).meter()).isNull();
    }
}
