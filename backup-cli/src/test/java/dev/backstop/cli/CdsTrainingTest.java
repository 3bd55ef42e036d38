package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CdsTrainingTest {
    @Test
    void theTrainingRun_backsUpAndRestoresItsSample_withoutADatabase(@TempDir Path tmp) throws Exception {
        assertThat(CdsTraining.train(tmp)).isEqualTo(Backstop.OK);

        Path restored = tmp.resolve("restored").resolve("dump.sql");
        assertThat(restored).isRegularFile();
        assertThat(Files.readAllLines(restored)).hasSize(40_000)
                .startsWith("INSERT INTO training VALUES (0, 'row 0');")
                .endsWith("INSERT INTO training VALUES (39999, 'row " + (39_999 * 7919 % 10007) + "');");
        assertThat(tmp.resolve("kek.json")).isRegularFile();
    }
}
