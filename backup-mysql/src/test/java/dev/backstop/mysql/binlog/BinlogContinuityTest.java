package dev.backstop.mysql.binlog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.IntegrityException;
import dev.backstop.core.Repository;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Continuity of an archive from its listing, on files shaped like binlogs (magic, format description event, server id). */
class BinlogContinuityTest {
    static final long SERVER_ID = 7;

    @TempDir
    Path tmp;

    BinlogArchive archive() {
        return BinlogArchive.builder(Repository.filesystem(tmp.resolve("repo")), "db1", SERVER_ID).build();
    }

    /** A file the archive takes as a binlog of {@code serverId}: the magic, a format description event header, a body. */
    Path binlog(String name, long serverId, int bodyBytes) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4 + 19 + bodyBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put(BinlogArchive.MAGIC);
        b.putInt(1_796_000_000).put((byte) BinlogArchive.FORMAT_DESCRIPTION_EVENT).putInt((int) serverId)
                .putInt(19 + bodyBytes).putInt(4 + 19 + bodyBytes).putShort((short) 0);
        for (int i = 0; i < bodyBytes; i++) {
            b.put((byte) (i * 31 + name.hashCode()));
        }
        Path f = tmp.resolve(serverId + "-" + name);
        Files.write(f, b.array());
        return f;
    }

    void put(BinlogArchive a, String... names) throws IOException {
        for (String n : names) {
            a.put(binlog(n, SERVER_ID, 100), n);
        }
    }

    @Test
    void continuousFrom_ofAnArchiveWithAGap_isTheFirstFileAfterIt() throws IOException {
        BinlogArchive a = archive();
        put(a, "binlog.000001", "binlog.000002", "binlog.000004", "binlog.000005");

        assertThat(a.continuousFrom("binlog")).hasValue("binlog.000004");
        assertThat(a.gaps()).singleElement().satisfies(g -> {
            assertThat(g.after().name()).isEqualTo("binlog.000002");
            assertThat(g.before().name()).isEqualTo("binlog.000004");
        });
    }

    @Test
    void continuousFrom_ofAGapFreeArchive_isItsFirstFile_andIgnoresOtherBaseNames() throws IOException {
        BinlogArchive a = archive();
        put(a, "binlog.000003", "binlog.000004", "binlog.000005", "other.000001", "other.000009");

        assertThat(a.continuousFrom("binlog")).hasValue("binlog.000003");
        assertThat(a.continuousFrom("other")).hasValue("other.000009");
    }

    @Test
    void continuousFrom_ofABaseNameWithNothingArchived_isEmpty() throws IOException {
        BinlogArchive a = archive();
        put(a, "binlog.000001");

        assertThat(a.continuousFrom("mariadb-bin")).isEmpty();
        assertThat(archive().continuousFrom("binlog")).hasValue("binlog.000001");
    }

    @Test
    void putDelta_pastOffsetZero_ofAFileOfAnotherServer_isRefusedAndStoresNothing() throws IOException {
        BinlogArchive a = archive();
        Path mine = binlog("binlog.000002", SERVER_ID, 200);
        assertThat(a.putDelta("binlog.000002", 0, 100, mine)).isPositive();
        // the same name from another server, as a receiver reconnected to it would spool it
        Path foreign = binlog("binlog.000002", SERVER_ID + 1, 300);

        assertThatThrownBy(() -> a.putDelta("binlog.000002", 100, 300, foreign)).isInstanceOf(IntegrityException.class)
                .hasMessageContaining("server id " + (SERVER_ID + 1)).hasMessageContaining("another server");
        assertThat(a.deltaEnd("binlog.000002")).isEqualTo(100);
    }
}
