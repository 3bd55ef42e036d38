package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.postgres.wal.WalSpool;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** backstop wal archive-push, archive-get and drain against a filesystem repository with a keyset. */
class WalCommandTest {
    static final long SYSID = WalFiles.SYSID;
    static final String SEG = "000000010000000000000003";

    @TempDir
    Path tmp;
    WalFiles files;

    @BeforeEach
    void setUp() {
        files = new WalFiles(tmp);
    }

    @Test
    void archivePushWithSpool_onlyQueues_andDrainUploads() throws Exception {
        Path cfg = files.config("\"spool\": \"" + tmp.resolve("spool") + "\", \"drainer\": \"external\"");
        Path seg = WalFiles.segment(tmp, SEG, SYSID, 1);

        assertThat(files.wal(cfg, "archive-push", seg.toString(), SEG)).as(files.said()).isZero();
        assertThat(files.archive.contains(SEG)).as("not uploaded before a drain").isFalse();
        assertThat(WalSpool.at(tmp.resolve("spool")).queued()).containsExactly(SEG);

        assertThat(files.wal(cfg, "drain")).as(files.said()).isZero();

        assertThat(files.archive.contains(SEG)).isTrue();
        assertThat(WalSpool.at(tmp.resolve("spool")).queued()).isEmpty();
    }

    @Test
    void archivePushTwice_isIdempotent_andArchiveGetRestoresIt() throws Exception {
        Path cfg = files.config("");
        Path seg = WalFiles.segment(tmp, SEG, SYSID, 1);

        assertThat(files.wal(cfg, "archive-push", seg.toString(), SEG)).as(files.said()).isZero();
        assertThat(files.wal(cfg, "archive-push", seg.toString(), SEG)).as(files.said()).isZero();
        assertThat(files.wal(cfg, "archive-get", SEG, tmp.resolve("RECOVERYXLOG").toString())).as(files.said()).isZero();

        assertThat(Files.mismatch(seg, tmp.resolve("RECOVERYXLOG"))).isEqualTo(-1);
    }

    @Test
    void archiveGetOfAMissingFile_exitsOne_soPostgresEndsRecovery() throws Exception {
        assertThat(files.wal(files.config(""), "archive-get", "00000002.history", tmp.resolve("x").toString())).isEqualTo(1);
    }

    @Test
    void archivePushOfDifferentContent_exitsThree_andSaysWhy() throws Exception {
        Path cfg = files.config("");
        files.wal(cfg, "archive-push", WalFiles.segment(tmp, SEG, SYSID, 1).toString(), SEG);

        assertThat(files.wal(cfg, "archive-push", WalFiles.segment(tmp, SEG, SYSID, 2).toString(), SEG)).isEqualTo(3);
        assertThat(files.said()).contains("already archived");
    }

    @Test
    void badSystemId_exitsTwo_namingTheSetting() throws Exception {
        Path cfg = files.config("");
        Files.writeString(cfg, Files.readString(cfg).replace(Long.toUnsignedString(SYSID), "abc"));

        assertThat(files.wal(cfg, "archive-get", SEG, tmp.resolve("x").toString())).isEqualTo(2);
        assertThat(files.said()).contains("backup.wal.systemId: got \"abc\"");
    }

    @Test
    void withoutAWalSection_exitsTwo_namingIt() throws Exception {
        Path cfg = files.config("");
        Files.writeString(cfg, Files.readString(cfg).replaceAll(", \"wal\": \\{[^}]*}", ""));

        assertThat(files.wal(cfg, "archive-push", WalFiles.segment(tmp, SEG, SYSID, 1).toString(), SEG)).isEqualTo(2);
        assertThat(files.said()).contains("backup.wal: missing");
    }

    @Test
    void archivePush_withAMissingKeyset_exitsTwo_andArchivesNothing() throws Exception {
        Path cfg = files.config("");
        Files.delete(tmp.resolve("kek.json"));

        assertThat(files.wal(cfg, "archive-push", WalFiles.segment(tmp, SEG, SYSID, 1).toString(), SEG)).isEqualTo(2);
        assertThat(files.said()).contains("backup.encryption.keyset");
        assertThat(files.archive.contains(SEG)).isFalse();
    }

    @Test
    void walWithoutASubcommand_exitsTwo_listingThem() {
        int code = Backstop.execute(new String[] {"wal"}, java.util.Map.of(), new java.io.PrintWriter(new java.io.StringWriter()),
                new java.io.PrintWriter(files.err, true));

        assertThat(code).isEqualTo(2);
        assertThat(files.said()).contains("archive-push", "archive-get", "drain");
    }

    @Test
    void receiveWithoutAWorkDirectory_hereOrInTheConfiguration_exitsTwo_namingBoth() throws Exception {
        assertThat(files.wal(files.config(""), "receive")).isEqualTo(2);
        assertThat(files.said()).contains("--work-dir: missing, and backup.wal.receive.workDir is not set");
    }
}
