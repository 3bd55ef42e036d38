package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.testkit.MutableClock;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class ProgressTest {
    static final long MIB = 1024 * 1024;

    final MutableClock clock = new MutableClock(Instant.parse("2026-12-07T02:30:00Z"));
    final StringWriter err = new StringWriter();

    @Test
    void terminal_redrawsOneLineWithRateEtaAndPercent_atMostFourTimesASecond() {
        Progress p = new Progress("backup", OptionalLong.of(100 * MIB), clock, new PrintWriter(err), true);
        p.add(MIB);
        assertThat(err.toString()).isEqualTo("\rbackup  1.0 MiB  ETA ?  1 %");
        clock.advance(Duration.ofMillis(100));
        p.add(MIB);
        assertThat(err.toString()).as("not redrawn within 250 ms").isEqualTo("\rbackup  1.0 MiB  ETA ?  1 %");
        clock.advance(Duration.ofMillis(1900));
        p.add(18 * MIB);
        // 20 MiB in 2 s: 10 MiB/s, 80 MiB left: 8 s
        assertThat(err.toString()).endsWith("\rbackup  20.0 MiB  10.0 MiB/s  ETA 0:00:08  20 %");
        clock.advance(Duration.ofSeconds(8));
        p.add(80 * MIB);
        p.done();
        assertThat(err.toString()).endsWith("\rbackup  100.0 MiB  10.0 MiB/s  done in 0:00:10\n");
    }

    @Test
    void terminal_blanksTheRestOfALongerPreviousLine() {
        Progress p = new Progress("backup", OptionalLong.of(100 * MIB), clock, new PrintWriter(err), true);
        clock.advance(Duration.ofSeconds(1));
        p.add(50 * MIB);
        String first = "\rbackup  50.0 MiB  50.0 MiB/s  ETA 0:00:01  50 %";
        assertThat(err.toString()).isEqualTo(first);
        clock.advance(Duration.ofSeconds(1));
        p.add(100 * MIB); // past the expected size: no ETA, no percentage
        assertThat(err.toString()).isEqualTo(first + "\rbackup  150.0 MiB  75.0 MiB/s  ETA ?" + " ".repeat(first.length() - 37));
    }

    @Test
    void plain_writesKeyValueLinesEveryTenSeconds_andALastOne() {
        Progress p = new Progress("backup", OptionalLong.empty(), clock, new PrintWriter(err), false);
        p.add(0);
        clock.advance(Duration.ofSeconds(5));
        p.add(5 * MIB);
        clock.advance(Duration.ofSeconds(5));
        p.add(5 * MIB);
        clock.advance(Duration.ofSeconds(1));
        p.done();
        assertThat(err.toString().lines()).containsExactly(
                "progress=backup bytes=0 rate_bytes_per_s=0 elapsed_s=0",
                "progress=backup bytes=10485760 rate_bytes_per_s=1048576 elapsed_s=10",
                "progress=backup bytes=10485760 rate_bytes_per_s=953250 elapsed_s=11 done=true");
    }

    @Test
    void none_countsButShowsNothing() {
        Progress.NONE.add(5);
        Progress.NONE.done();
        assertThat(Progress.keyValues("restore", 3 * MIB, 1000, OptionalLong.of(4 * MIB), false))
                .isEqualTo("progress=restore bytes=3145728 rate_bytes_per_s=3145728 elapsed_s=1 eta_s=1 percent=75");
    }

    @Test
    void restore_feedsTheSameLineFromTheStoredBytesItReads_withTheManifestsStoredSizeAsTheTotal(
            @org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        dev.backstop.core.Repository repo = dev.backstop.core.Repository.filesystem(tmp.resolve("repo"));
        byte[] data = new byte[3 * 1024 * 1024];
        new java.util.Random(7).nextBytes(data);
        dev.backstop.core.manifest.Manifest m = dev.backstop.core.BackupPipeline.builder().source(new dev.backstop.core.CaptureSource() {
            @Override
            public dev.backstop.core.BackupType type() {
                return dev.backstop.core.BackupType.RAW;
            }

            @Override
            public dev.backstop.core.CaptureResult capture(Streams streams) throws java.io.IOException {
                try (java.io.OutputStream out = streams.open("data")) {
                    out.write(data);
                }
                return dev.backstop.core.CaptureResult.builder(dev.backstop.core.SourceInfo.of("test", "1")).build();
            }
        }).repository(repo).noEncryption().build().run();
        dev.backstop.core.Restore plain = dev.backstop.core.Restore.builder().repository(repo).allowUnencrypted().build();
        OptionalLong total = Progress.storedTotal(plain, m);
        assertThat(total).hasValue(m.storedBytes());
        Progress p = new Progress("restore", total, clock, new PrintWriter(err), false);
        dev.backstop.core.Restore metered = dev.backstop.core.Restore.builder().repository(repo).allowUnencrypted()
                .progress(p.reads()).build();

        clock.advance(Duration.ofSeconds(2));
        metered.copyTo(m, "data", java.io.OutputStream.nullOutputStream());
        p.done();

        assertThat(p.bytes()).isEqualTo(m.storedBytes());
        assertThat(err.toString().lines()).first().asString().startsWith("progress=restore bytes=").contains("percent=");
        assertThat(err.toString().lines()).last()
                .isEqualTo("progress=restore bytes=" + m.storedBytes() + " rate_bytes_per_s=" + m.storedBytes() / 2
                        + " elapsed_s=2 done=true");
    }
}
