package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.source.CommandSource;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** backstop copy and backstop keys erase on filesystem repositories with a real backup in them. */
class ReplicaCommandsTest {
    @TempDir
    Path tmp;
    LocalKeysetKek kek;
    Manifest backup;
    StringWriter out;
    StringWriter err;

    @BeforeEach
    void setUp() {
        kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        backup = BackupPipeline.builder().source(CommandSource.of("seq", "1", "100000"))
                .repository(Repository.filesystem(tmp.resolve("primary")).withKeys(kek)).encrypt(Encryption.with(kek)).build().run();
    }

    Path config(boolean withReplica) throws Exception {
        Path cfg = tmp.resolve("backstop.json");
        Files.writeString(cfg, "{\"backup\": {\"database\": {\"type\": \"postgres\", \"host\": \"127.0.0.1\", \"user\": \"postgres\", "
                + "\"name\": \"postgres\"}, \"storage\": {\"provider\": \"filesystem\", \"path\": \"" + tmp.resolve("primary") + "\"}, "
                + "\"encryption\": {\"keyset\": \"" + tmp.resolve("kek.json") + "\"}"
                + (withReplica ? ", \"replicas\": [{\"name\": \"dr\", \"provider\": \"filesystem\", \"path\": \"" + tmp.resolve("dr") + "\"}]"
                        : "") + "}}");
        return cfg;
    }

    int backstop(Path cfg, String... args) {
        out = new StringWriter();
        err = new StringWriter();
        String[] line = java.util.Arrays.copyOf(args, args.length + 2);
        line[args.length] = "--config";
        line[args.length + 1] = cfg.toString();
        return Backstop.execute(line, Map.of(), new PrintWriter(out, true), new PrintWriter(err, true));
    }

    @Test
    void copyLatest_putsTheBackupOnTheReplica_whereItRestoresExactly() throws Exception {
        Path cfg = config(true);

        assertThat(backstop(cfg, "copy", "--latest")).as(err.toString()).isZero();

        assertThat(out.toString()).contains("dr " + backup.id() + ": ok, ");
        Repository replica = Repository.filesystem(tmp.resolve("dr"));
        assertThat(replica.catalog().list()).extracting(Manifest::id).containsExactly(backup.id());
        assertThat(dev.backstop.core.Restore.builder().repository(replica).keys(kek).build().verify(backup).findings()).isEmpty();
    }

    @Test
    void copyAgain_copiesNothing_andSaysAllWasThere() throws Exception {
        Path cfg = config(true);
        backstop(cfg, "copy", backup.id().value());

        assertThat(backstop(cfg, "copy", backup.id().value())).as(err.toString()).isZero();

        assertThat(out.toString()).contains("ok, 0 objects copied");
    }

    @Test
    void copy_withoutReplicas_exitsTwo_namingTheKey() throws Exception {
        assertThat(backstop(config(false), "copy", "--latest")).isEqualTo(Backstop.USAGE);
        assertThat(err.toString()).contains("backup.replicas: missing");
    }

    @Test
    void keysErase_withoutConfirmation_exitsTwo_andErasesNothing() throws Exception {
        Path cfg = config(false);

        assertThat(backstop(cfg, "keys", "erase", backup.id().value())).isEqualTo(Backstop.USAGE);

        assertThat(err.toString()).contains("--confirm " + backup.id());
        assertThat(backstop(cfg, "verify", "--full", backup.id().value())).as(err.toString()).isZero();
    }

    @Test
    void keysErase_ofACopiedBackup_makesItUndecryptableOnThePrimaryAndTheReplica() throws Exception {
        Path cfg = config(true);
        assertThat(backstop(cfg, "copy", "--latest")).isZero();

        assertThat(backstop(cfg, "keys", "erase", backup.id().value(), "--confirm", backup.id().value())).as(err.toString()).isZero();

        assertThat(out.toString()).contains("on dr and on the primary");
        assertThat(backstop(cfg, "verify", "--full", backup.id().value())).isNotZero();
        assertThat(readable(Repository.filesystem(tmp.resolve("dr")))).as("the replica's copy").isFalse();
    }

    boolean readable(Repository repo) {
        try {
            return dev.backstop.core.Restore.builder().repository(repo).keys(kek).build().verify(backup).passed();
        } catch (RuntimeException e) {
            return false;
        }
    }

    @Test
    void keysErase_ofACopiedBackup_withTheReplicaNoLongerConfigured_refusesAndErasesNothing() throws Exception {
        assertThat(backstop(config(true), "copy", "--latest")).isZero();
        Path cfg = config(false);

        assertThat(backstop(cfg, "keys", "erase", backup.id().value(), "--confirm", backup.id().value())).isNotZero();

        assertThat(err.toString()).contains("dr");
        assertThat(backstop(cfg, "verify", "--full", backup.id().value())).as(err.toString()).isZero();
    }
}
