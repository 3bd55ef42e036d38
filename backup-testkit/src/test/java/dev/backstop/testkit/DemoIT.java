package dev.backstop.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoIT {
    @TempDir
    Path tmp;

    @Test
    void demo_onASmallDatabase_provesTheRestore_andExitsZero() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();

        int code = Demo.run(new String[] {"--size=12MiB", "--dir=" + tmp}, new PrintStream(buf, true, StandardCharsets.UTF_8));

        String out = buf.toString(StandardCharsets.UTF_8);
        assertThat(code).as(out).isZero();
        assertThat(out).contains("ratio", "RTO", "pg_amcheck passed", "VERIFIED: the backup restores exactly");
    }

    @Test
    void demo_onASmallMariaDbDatabase_provesTheRestore_andExitsZero() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();

        int code = Demo.run(new String[] {"--mariadb", "--size=6MiB", "--jobs=3", "--dir=" + tmp}, new PrintStream(buf, true, StandardCharsets.UTF_8));

        String out = buf.toString(StandardCharsets.UTF_8);
        assertThat(code).as(out).isZero();
        assertThat(out).contains("throwaway MariaDB", "at binlog", "ratio", "RTO", "in 3 session(s)", "4 tables", "CHECK TABLE EXTENDED passed",
                "VERIFIED: the backup restores exactly");
    }

    @Test
    void demo_withAnUnknownOption_explainsAndExitsTwo() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();

        int code = Demo.run(new String[] {"--sise=1GiB"}, new PrintStream(buf, true, StandardCharsets.UTF_8));

        assertThat(code).isEqualTo(2);
        assertThat(buf.toString(StandardCharsets.UTF_8)).contains("unknown option '--sise=1GiB'");
    }

    @Test
    void demo_withJobsOutOfRange_explainsAndExitsTwo() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();

        int code = Demo.run(new String[] {"--mariadb", "--jobs=65"}, new PrintStream(buf, true, StandardCharsets.UTF_8));

        assertThat(code).isEqualTo(2);
        assertThat(buf.toString(StandardCharsets.UTF_8)).contains("--jobs: got '65', expected a number of sessions from 1 to 64");
    }
}
