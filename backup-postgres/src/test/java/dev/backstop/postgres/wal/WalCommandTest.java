package dev.backstop.postgres.wal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.Repository;
import dev.backstop.core.crypto.LocalKeysetKek;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WalCommandTest {
    static final long SYSID = WalArchiveTest.SYSID;
    static final String SEG = "000000010000000000000003";

    @TempDir
    Path tmp;
    final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);

    Path config(boolean spool) throws Exception {
        LocalKeysetKek.create(tmp.resolve("kek.json"));
        Path cfg = tmp.resolve("wal.properties");
        Files.writeString(cfg, "repository=" + tmp.resolve("repo") + "\nsystem-id=" + Long.toUnsignedString(SYSID)
                + "\nkek=" + tmp.resolve("kek.json") + "\n" + (spool ? "spool=" + tmp.resolve("spool") + "\ndrainer=external\n" : ""));
        return cfg;
    }

    int run(String... args) {
        return WalCommand.run(args, err);
    }

    @Test
    void archivePushWithSpool_onlyQueues_andDrainUploads() throws Exception {
        Path cfg = config(true);
        Path seg = WalArchiveTest.segment(tmp, SEG, SYSID, 1);

        assertThat(run("archive-push", cfg.toString(), seg.toString(), SEG)).isZero();
        WalArchive archive = WalArchive.builder(Repository.filesystem(tmp.resolve("repo")), SYSID)
                .keys(LocalKeysetKek.load(tmp.resolve("kek.json"))).build();
        assertThat(archive.contains(SEG)).as("not uploaded before a drain").isFalse();
        assertThat(WalSpool.at(tmp.resolve("spool")).queued()).containsExactly(SEG);

        assertThat(run("drain", cfg.toString())).isZero();

        assertThat(archive.contains(SEG)).isTrue();
        assertThat(WalSpool.at(tmp.resolve("spool")).queued()).isEmpty();
    }

    @Test
    void archiveGet_ofASegmentHeldOnlyAsDeltas_servesItAssembled_andThePrefetcherNeverQueuesIt() throws Exception {
        Path cfg = config(false);
        Path seg = WalArchiveTest.segment(tmp, SEG, SYSID, 1);
        WalArchive archive = WalArchive.builder(Repository.filesystem(tmp.resolve("repo")), SYSID)
                .keys(LocalKeysetKek.load(tmp.resolve("kek.json"))).build();
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(seg)) {
            archive.putDelta(WalFile.parse(SEG), 0, 50_000, ch, null);
        }
        byte[] expected = new byte[(int) WalFile.SEGMENT_BYTES];
        System.arraycopy(Files.readAllBytes(seg), 0, expected, 0, 50_000);

        assertThat(run("archive-get", cfg.toString(), SEG, tmp.resolve("RECOVERYXLOG").toString())).isZero();
        assertThat(Files.readAllBytes(tmp.resolve("RECOVERYXLOG"))).isEqualTo(expected);

        WalPrefetcher prefetcher = new WalPrefetcher(archive, tmp.resolve("queue"), 4, err);
        assertThat(prefetcher.prefetchAfter(WalFile.parse("000000010000000000000002"))).as("never queued").isZero();
        assertThat(prefetcher.serve(SEG, tmp.resolve("served"))).isEqualTo(WalPrefetcher.Source.REPOSITORY);
        assertThat(Files.readAllBytes(tmp.resolve("served"))).isEqualTo(expected);
    }

    @Test
    void archivePushTwice_isIdempotent_andArchiveGetRestoresIt() throws Exception {
        Path cfg = config(false);
        Path seg = WalArchiveTest.segment(tmp, SEG, SYSID, 1);

        assertThat(run("archive-push", cfg.toString(), seg.toString(), SEG)).isZero();
        assertThat(run("archive-push", cfg.toString(), seg.toString(), SEG)).isZero();
        assertThat(run("archive-get", cfg.toString(), SEG, tmp.resolve("RECOVERYXLOG").toString())).isZero();

        assertThat(Files.mismatch(seg, tmp.resolve("RECOVERYXLOG"))).isEqualTo(-1);
    }

    @Test
    void archiveGetOfAMissingFile_exitsOne_soPostgresEndsRecovery() throws Exception {
        assertThat(run("archive-get", config(false).toString(), "00000002.history", tmp.resolve("x").toString())).isEqualTo(1);
    }

    @Test
    void archivePushOfDifferentContent_exitsThree_andSaysWhy() throws Exception {
        Path cfg = config(false);
        run("archive-push", cfg.toString(), WalArchiveTest.segment(tmp, SEG, SYSID, 1).toString(), SEG);

        assertThat(run("archive-push", cfg.toString(), WalArchiveTest.segment(tmp, SEG, SYSID, 2).toString(), SEG)).isEqualTo(3);
        assertThat(errBytes.toString(StandardCharsets.UTF_8)).contains("already archived");
    }

    @Test
    void badSystemId_exitsTwo_namingTheSetting() throws Exception {
        Path cfg = tmp.resolve("bad.properties");
        Files.writeString(cfg, "repository=" + tmp.resolve("repo") + "\nsystem-id=abc\n");

        assertThat(run("archive-get", cfg.toString(), SEG, tmp.resolve("x").toString())).isEqualTo(2);
        assertThat(errBytes.toString(StandardCharsets.UTF_8)).contains("system-id: got 'abc'");
    }

    @Test
    void spool_sameNameDifferentContent_isRefused() throws Exception {
        WalSpool spool = WalSpool.at(tmp.resolve("spool"));
        spool.enqueue(WalArchiveTest.segment(tmp, SEG, SYSID, 1), SEG);
        spool.enqueue(WalArchiveTest.segment(tmp, SEG, SYSID, 1), SEG);

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> spool.enqueue(WalArchiveTest.segment(tmp, SEG, SYSID, 2), SEG))
                .hasMessageContaining("different content");
    }
}
