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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
    void everyDocumentedCode_isDistinct_isInTheHelpFooter_andMapsFromItsFailure() throws Exception {
        // docs/cli.md's table is what operators and Kubernetes Jobs act on: it must list exactly the codes the command uses
        String doc = Files.readString(Path.of("../docs/cli.md"));
        String section = doc.substring(doc.indexOf("## Exit codes"), doc.indexOf("## WAL archiving"));
        List<Integer> documented = new ArrayList<>();
        Matcher row = Pattern.compile("(?m)^\\| (\\d+) \\|").matcher(section);
        while (row.find()) {
            documented.add(Integer.parseInt(row.group(1)));
        }
        assertThat(documented).containsExactly(Backstop.OK, Backstop.FAILURE, Backstop.USAGE, Backstop.INTEGRITY,
                Backstop.RETRYABLE, Backstop.LOCKED, Backstop.NOT_REACHED, Backstop.STOPPED);
        assertThat(new HashSet<>(documented)).hasSameSizeAs(documented);
        StringWriter help = new StringWriter();
        Backstop.execute(new String[] {"--help"}, Map.of(), new PrintWriter(help), new PrintWriter(new StringWriter()));
        String footer = help.toString().substring(help.toString().indexOf("Exit codes:"));
        for (int code : documented) {
            assertThat(footer).as("help footer").containsPattern("(?m)^  " + code + "  \\S");
        }
        // each failure class to its code (143 is the JVM's on SIGTERM: DaemonIT's daemons exit with it)
        Map<Integer, Throwable> byCode = Map.of(
                Backstop.FAILURE, new StorageException("k", "access denied", null, false, ID),
                Backstop.USAGE, new ConfigException("backup.storage", "missing"),
                Backstop.INTEGRITY, new IntegrityException("backups/x", "sha256", "a", "b", null, ID),
                Backstop.RETRYABLE, new StorageException("k", "timeout", null, true, ID),
                Backstop.LOCKED, new BackupException(Stage.LOCK, "held by x", null, true, null));
        byCode.forEach((code, failure) -> assertThat(Backstop.exitCode(failure)).as("%s", failure).isEqualTo(code));
        assertThat(Backstop.execute(new String[] {"--version"}, Map.of(), new PrintWriter(new StringWriter()),
                new PrintWriter(new StringWriter()))).isEqualTo(Backstop.OK);
        assertThat(Backstop.STOPPED).isEqualTo(128 + 15);
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
