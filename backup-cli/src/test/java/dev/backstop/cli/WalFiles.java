package dev.backstop.cli;

import dev.backstop.core.Repository;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.postgres.wal.WalArchive;
import dev.backstop.postgres.wal.WalFile;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

/** A filesystem repository with a keyset, a configuration whose backup.wal the test chooses, and WAL segments. */
final class WalFiles {
    static final long SYSID = 7312345678901234567L;

    final Path dir;
    final StringWriter err = new StringWriter();
    final WalArchive archive;

    WalFiles(Path dir) {
        this.dir = dir;
        archive = WalArchive.builder(Repository.filesystem(dir.resolve("repo")), SYSID)
                .keys(LocalKeysetKek.create(dir.resolve("kek.json"))).build();
    }

    /** A configuration file with {@code wal} as its {@code backup.wal} object (JSON members, without braces). */
    Path config(String wal) throws IOException {
        Path cfg = dir.resolve("backstop.json");
        Files.writeString(cfg, "{\"backup\": {\"database\": {\"type\": \"postgres\", \"host\": \"127.0.0.1\", \"user\": \"postgres\", "
                + "\"name\": \"postgres\"}, \"storage\": {\"provider\": \"filesystem\", \"path\": \"" + dir.resolve("repo") + "\"}, "
                + "\"encryption\": {\"keyset\": \"" + dir.resolve("kek.json") + "\"}, "
                + "\"wal\": {\"systemId\": \"" + Long.toUnsignedString(SYSID) + "\"" + (wal.isEmpty() ? "" : ", " + wal) + "}}}");
        return cfg;
    }

    /** Runs {@code backstop wal ARGS --config CFG}; returns the exit code, the messages go to {@link #err}. */
    int wal(Path cfg, String... args) {
        String[] line = new String[args.length + 3];
        line[0] = "wal";
        System.arraycopy(args, 0, line, 1, args.length);
        line[args.length + 1] = "--config";
        line[args.length + 2] = cfg.toString();
        return Backstop.execute(line, Map.of(), new PrintWriter(new StringWriter(), true), new PrintWriter(err, true));
    }

    String said() {
        return err.toString();
    }

    /** A 16 MiB segment whose long page header says {@code sysid}, its timeline and its start LSN, then seeded noise. */
    static Path segment(Path dir, String name, long sysid, long seed) throws IOException {
        WalFile f = WalFile.parse(name);
        byte[] b = new byte[(int) WalFile.SEGMENT_BYTES];
        Random r = new Random(seed);
        for (int i = 64; i < 256 * 1024; i++) {
            b[i] = (byte) r.nextInt(8);
        }
        ByteBuffer h = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        h.putShort(0, (short) 0xD110);
        h.putInt(4, f.timeline());
        h.putLong(8, f.startLsn());
        h.putLong(24, sysid);
        Path p = Files.createDirectories(dir).resolve(name + "-" + seed);
        Files.write(p, b);
        return p;
    }
}
