package dev.backstop.core.internal.concurrent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A set-up program runs to its end in its directory; a failure or overrun names it with its output. */
class SetupCommandTest {
    @TempDir
    Path dir;

    @Test
    void run_inADirectory_returnsTheOutputOfBothStreams() throws IOException {
        Files.writeString(dir.resolve("marker"), "here");

        String out = SetupCommand.run(List.of("sh", "-c", "cat marker; echo ' and there' >&2"), "cat", dir, Duration.ofSeconds(30));

        assertThat(out).isEqualTo("here and there\n");
    }

    @Test
    void run_ofAProgramExitingNonZero_namesItItsExitCodeAndItsOutput() {
        assertThatThrownBy(() -> SetupCommand.run(List.of("sh", "-c", "echo 'no space left'; exit 3"), "initdb", null,
                Duration.ofSeconds(30))).isInstanceOf(IOException.class).hasMessage("initdb exited 3: no space left");
    }

    @Test
    void run_ofAProgramOverrunningItsTimeout_killsIt_andNamesTheTimeout() {
        assertThatThrownBy(() -> SetupCommand.run(List.of("sh", "-c", "echo starting; exec sleep 600"), "pg_ctl stop", null,
                Duration.ofSeconds(1))).isInstanceOf(IOException.class).hasMessageStartingWith("pg_ctl stop did not finish within 1 s: ");
    }
}
