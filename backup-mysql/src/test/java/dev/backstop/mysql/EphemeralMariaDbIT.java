package dev.backstop.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class EphemeralMariaDbIT {

    @Test
    void start_runsABinloggingServerOnLoopback_andCloseRemovesEverything() throws Exception {
        EphemeralMariaDb db = EphemeralMariaDb.builder().serverId(4242).start();
        Path dir = db.directory();
        long pid = db.pid();
        try (Connection c = db.connect(null); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT @@log_bin, @@binlog_format, @@server_id, @@bind_address, CURRENT_USER()")) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(1);
            assertThat(rs.getString(2)).isEqualTo("ROW");
            assertThat(rs.getLong(3)).isEqualTo(4242);
            assertThat(rs.getString(4)).isEqualTo("127.0.0.1");
            assertThat(rs.getString(5)).isEqualTo("backstop@127.0.0.1");
        }
        assertThat(db.version()).contains("MariaDB");
        assertThat(db.endpoint().toString()).doesNotContain(db.endpoint().password());
        assertThat(dir.resolve("init.sql")).doesNotExist();

        db.close();
        db.close();

        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive)).isNotEqualTo(Optional.of(true));
        assertThat(dir).doesNotExist();
    }

    @Test
    void endpoint_withWrongPassword_isRefused() throws Exception {
        try (EphemeralMariaDb db = EphemeralMariaDb.start()) {
            MariaDbEndpoint wrong = MariaDbEndpoint.of("127.0.0.1", db.endpoint().port(), EphemeralMariaDb.USER, "wrong");
            assertThatThrownBy(() -> wrong.connect(null)).isInstanceOf(SQLException.class).hasMessageContaining("Access denied");
        }
    }

    @Test
    void aJvmKilledWithoutHooks_leavesNoServerAndNoDirectory() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                EphemeralMariaDbIT.class.getName() + "$Starter").redirectErrorStream(true).start();
        long serverPid;
        Path dir;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            String ready = null;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("READY ")) {
                    ready = line;
                    break;
                }
            }
            assertThat(ready).as("child JVM output").isNotNull();
            String[] parts = ready.split(" ", 3);
            serverPid = Long.parseLong(parts[1]);
            dir = Path.of(parts[2]);
            assertThat(ProcessHandle.of(serverPid)).isPresent();
            child.destroyForcibly();
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }
        ProcessHandle server = ProcessHandle.of(serverPid).orElse(null);
        if (server != null) {
            // the watchdog notices the dead JVM within a second or two
            assertThat(server.onExit().get(30, TimeUnit.SECONDS).isAlive()).isFalse();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (Files.exists(dir) && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(dir).doesNotExist();
    }

    /** Starts a server in a JVM the test then kills with SIGKILL. */
    public static final class Starter {
        public static void main(String[] args) throws Exception {
            EphemeralMariaDb db = EphemeralMariaDb.start();
            System.out.println("READY " + db.pid() + " " + db.directory());
            System.out.flush();
            // stays until the test kills this JVM
            new java.util.concurrent.CountDownLatch(1).await();
        }
    }
}
