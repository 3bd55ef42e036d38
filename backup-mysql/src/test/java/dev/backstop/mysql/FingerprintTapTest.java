package dev.backstop.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.TableFingerprint;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FingerprintTapTest {
    private final ExecutorService executor = Executors.newCachedThreadPool();

    @AfterEach
    void shutdown() {
        executor.shutdownNow();
    }

    private static byte[] dump(int rows) {
        StringBuilder s = new StringBuilder("--\n-- Dumping data for table `t`\n--\n\nINSERT INTO `t` VALUES ");
        for (int i = 0; i < rows; i++) {
            s.append(i == 0 ? "" : ",").append('(').append(i).append(",'row ").append(i).append("',0x0A0B)");
        }
        return s.append(";\n").toString().getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void finish_afterMoreBytesThanEveryChunkHolds_givesWhatDumpRowsGivesOnOneThread() throws IOException {
        byte[] dump = dump(5000);
        DumpRows direct = new DumpRows();
        direct.write(dump, 0, dump.length);
        FingerprintTap tap = new FingerprintTap(executor, 1000, 2);

        for (int off = 0; off < dump.length; off += 777) {
            tap.write(dump, off, Math.min(777, dump.length - off));
        }

        Map<String, TableFingerprint> tables = tap.finish();
        assertThat(tables).isEqualTo(direct.finish());
        assertThat(tables.get("t").rows()).isEqualTo(5000);
    }

    @Test
    void aParseFailure_letsTheWriterGoOn_andFinishNamesIt() throws IOException {
        byte[] bad = "--\n-- Dumping data for table `t`\n--\nINSERT INTO `t` VALUES (1,?);\n".getBytes(StandardCharsets.UTF_8);
        byte[] more = dump(5000);
        FingerprintTap tap = new FingerprintTap(executor, 100, 2);

        tap.write(bad, 0, bad.length);
        for (int i = 0; i < 20; i++) {
            tap.write(more, 0, more.length);
        }

        assertThatThrownBy(tap::finish).isInstanceOf(IOException.class)
                .hasMessageContaining("could not fingerprint the rows of the dump")
                .hasMessageContaining("unexpected '?'").hasMessageContaining("table `t`");
    }
}
