package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.cli.config.ConfigException;
import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.Stage;
import dev.backstop.core.StorageException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ExitCodeTest {
    static final BackupId ID = BackupId.parse("20261207T010000Z-logical-abc123");

    @Test
    void failures_mapToDistinctDocumentedCodes() {
        assertThat(Backstop.exitCode(new ConfigException("backup.storage", "missing"))).isEqualTo(2);
        assertThat(Backstop.exitCode(new IntegrityException("backups/x", "sha256", "a", "b", null, ID))).isEqualTo(3);
        assertThat(Backstop.exitCode(new Commands.CheckFailed("restore-drill failed"))).isEqualTo(3);
        assertThat(Backstop.exitCode(new StorageException("k", "timeout", null, true, ID))).isEqualTo(4);
        assertThat(Backstop.exitCode(new StorageException("k", "access denied", null, false, ID))).isEqualTo(1);
        // a held lock is retryable too, but says more: someone else is working on the repository
        assertThat(Backstop.exitCode(new BackupException(Stage.LOCK, "held by x", null, true, null))).isEqualTo(5);
        assertThat(Backstop.exitCode(new UncheckedIOException(new IOException("disk")))).isEqualTo(1);
        assertThat(Backstop.exitCode(new RuntimeException(new StorageException("k", "timeout", null, true, ID)))).isEqualTo(4);
    }

    @Test
    void usageErrors_exitTwo_andHelpListsTheExitCodes() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        assertThat(Backstop.execute(new String[] {"frobnicate"}, Map.of(), new PrintWriter(out), new PrintWriter(err))).isEqualTo(2);
        assertThat(err.toString()).contains("Unmatched argument at index 0: 'frobnicate'");
        assertThat(Backstop.execute(new String[] {"verify", "--latest", "someid", "--config", "/nonexistent.json"}, Map.of(),
                new PrintWriter(out), new PrintWriter(err))).isEqualTo(2);
        assertThat(err.toString()).contains("configuration file /nonexistent.json does not exist");

        StringWriter help = new StringWriter();
        assertThat(Backstop.execute(new String[] {"--help"}, Map.of(), new PrintWriter(help), new PrintWriter(err))).isZero();
        assertThat(help.toString()).contains("Exit codes:", "  3  integrity failure", "  4  retryable failure", "  5  the repository lock is held");
    }
}
