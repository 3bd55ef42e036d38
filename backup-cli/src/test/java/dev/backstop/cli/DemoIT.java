package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoIT {
    @TempDir
    Path tmp;

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    int backstop(String... args) {
        return Backstop.execute(args, Map.of(), new PrintWriter(out, true), new PrintWriter(err, true));
    }

    @Test
    void demo_onASmallDatabase_provesTheRestore_andExitsZero() {
        int code = backstop("demo", "--size=12MiB", "--dir=" + tmp);

        assertThat(code).as(out + "\n" + err).isZero();
        assertThat(out.toString()).contains("ratio", "RTO", "pg_amcheck passed", "VERIFIED: the backup restores exactly");
    }

    @Test
    void demo_onASmallMariaDbDatabase_provesTheRestore_andExitsZero() {
        int code = backstop("demo", "--mariadb", "--size=6MiB", "--jobs=3", "--dir=" + tmp);

        assertThat(code).as(out + "\n" + err).isZero();
        assertThat(out.toString()).contains("throwaway MariaDB", "at binlog", "ratio", "RTO", "in 3 session(s)", "4 tables",
                "CHECK TABLE EXTENDED passed", "VERIFIED: the backup restores exactly");
        // the demo logs as every command does: warnings to its stderr, not the JDBC driver's and tools' debug and info lines
        org.slf4j.LoggerFactory.getLogger(DemoIT.class).warn("after the demo");
        assertThat(err.toString()).contains("after the demo").doesNotContain(" DEBUG ", " INFO ");
    }

    @Test
    void demo_withAnUnknownOption_explainsAndExitsTwo() {
        int code = backstop("demo", "--sise=1GiB");

        assertThat(code).isEqualTo(Backstop.USAGE);
        assertThat(err.toString()).contains("Unknown option: '--sise=1GiB'");
    }

    @Test
    void demo_withJobsOutOfRange_explainsAndExitsTwo() {
        int code = backstop("demo", "--mariadb", "--jobs=65");

        assertThat(code).isEqualTo(Backstop.USAGE);
        assertThat(err.toString()).contains("--jobs: got '65', expected a number of sessions from 1 to 64");
    }

    @Test
    void demo_withABadSize_explainsAndExitsTwo() {
        int code = backstop("demo", "--size=lots");

        assertThat(code).isEqualTo(Backstop.USAGE);
        assertThat(err.toString()).contains("--size", "got 'lots', expected a size like 100MiB");
    }
}
