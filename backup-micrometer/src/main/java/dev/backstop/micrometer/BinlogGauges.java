package dev.backstop.micrometer;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The {@code backstop.binlog.*} gauges over one supplier of {@link BinlogStatus}; NaN while it has no reading. */
final class BinlogGauges {
    private static final Logger LOG = LoggerFactory.getLogger(BinlogGauges.class);

    private final Supplier<Optional<BinlogStatus>> status;

    BinlogGauges(Supplier<Optional<BinlogStatus>> status) {
        this.status = status;
    }

    /** Registers the gauges, holding this strongly: nothing else may keep the reading alive (a daemon that only streams). */
    void register(MeterRegistry registry, Tags tags) {
        TimeGauge.builder(MicrometerListener.BINLOG_RPO, this, TimeUnit.SECONDS, g -> g.read(s -> s.rpo().toMillis() / 1000.0))
                .description("how long received binlog may have waited to be archived").tags(tags).strongReference(true)
                .register(registry);
        Gauge.builder(MicrometerListener.BINLOG_LAG_BYTES, this, g -> g.read(s -> (double) s.lagBytes())).baseUnit("bytes")
                .description("binlog bytes received but not yet archived").tags(tags).strongReference(true).register(registry);
        Gauge.builder(MicrometerListener.BINLOG_ARCHIVED_FILE, this, g -> g.read(s -> s.archivedFileNumber() < 0 ? Double.NaN
                : (double) s.archivedFileNumber())).description("sequence number of the newest archived binlog file").tags(tags)
                .strongReference(true).register(registry);
        Gauge.builder(MicrometerListener.BINLOG_ARCHIVED_POSITION, this, g -> g.read(s -> (double) s.archivedPosition()))
                .baseUnit("bytes").description("how far the newest archived binlog file is archived").tags(tags).strongReference(true).register(registry);
        Gauge.builder(MicrometerListener.BINLOG_RUNNING, this, g -> g.read(s -> s.running() ? 1 : 0))
                .description("1 while the binlog receiver runs, 0 once it stopped").tags(tags).strongReference(true).register(registry);
    }

    private double read(ToDoubleFunction<BinlogStatus> value) {
        try {
            return status.get().map(value::applyAsDouble).orElse(Double.NaN);
        } catch (RuntimeException e) {
            // a scrape must not fail: NaN says "unknown", the log says why
            LOG.warn("could not read the binlog receiver's status: {}", e.toString());
            return Double.NaN;
        }
    }
}
