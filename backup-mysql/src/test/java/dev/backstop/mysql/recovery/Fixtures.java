package dev.backstop.mysql.recovery;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.mysql.MariaDbInstance;
import dev.backstop.mysql.EphemeralMariaDb;
import dev.backstop.mysql.binlog.BinlogArchive;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Servers, backups and archives shared by the recovery tests. */
final class Fixtures {
    private Fixtures() {
    }

    static void sql(MariaDbInstance db, String... statements) throws Exception {
        try (Connection c = db.connect(null); Statement st = c.createStatement()) {
            for (String s : statements) {
                st.execute(s);
            }
        }
    }

    static List<String> strings(MariaDbInstance db, String query) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = db.connect(null); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(query)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    static long count(MariaDbInstance db, String table) throws Exception {
        return Long.parseLong(strings(db, "SELECT COUNT(*) FROM " + table).get(0));
    }

    /** {@code SHOW MASTER STATUS}: file, position. */
    static String[] masterStatus(MariaDbInstance db) throws Exception {
        try (Connection c = db.connect(null); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SHOW MASTER STATUS")) {
            rs.next();
            return new String[] {rs.getString(1), rs.getString(2)};
        }
    }

    static String gtidBinlogPos(MariaDbInstance db) throws Exception {
        return strings(db, "SELECT @@gtid_binlog_pos").get(0);
    }

    /** The server's binlog files, oldest first; the last one is the file it is writing. */
    static List<String> serverFiles(MariaDbInstance db) throws Exception {
        return strings(db, "SHOW BINARY LOGS");
    }

    static Path serverFile(EphemeralMariaDb db, String name) {
        return db.directory().resolve("data").resolve(name);
    }

    /**
     * Archives every file of {@code db} but the one it is writing whole, and that one as two
     * deltas (so its tail is only in deltas).
     */
    static void archiveAll(EphemeralMariaDb db, BinlogArchive archive) throws Exception {
        List<String> files = serverFiles(db);
        for (String f : files.subList(0, files.size() - 1)) {
            archive.put(serverFile(db, f), f);
            archive.deleteDeltas(f);
        }
        String active = files.get(files.size() - 1);
        Path p = serverFile(db, active);
        long size = Files.size(p);
        long from = archive.deltaEnd(active);
        long half = Math.max(from + 64, size / 2);
        if (half < size) {
            archive.putDelta(active, from, half, p);
            from = half;
        }
        if (from < size) {
            archive.putDelta(active, from, size, p);
        }
    }

    static Manifest backup(CaptureSource source, Path root, KeyEncryptionKey kek) {
        return BackupPipeline.builder()
                .source(source)
                .compress(ZstdTransform.level(3))
                .encrypt(Encryption.with(kek))
                .repository(Repository.filesystem(root))
                .build().run();
    }

    static Restore restore(Path root, KeyEncryptionKey kek) {
        return Restore.builder().repository(Repository.filesystem(root)).keys(kek).build();
    }

    static BinlogArchive archive(Path root, String uuid, long serverId, KeyEncryptionKey kek) {
        return BinlogArchive.builder(Repository.filesystem(root), uuid, serverId).keys(kek).build();
    }

    /** Copies the directory tree {@code from} to {@code to}. */
    static void copyTree(Path from, Path to) throws Exception {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
    }

    /** Directories a replay left behind in {@code dir}. */
    static List<Path> replayLeftovers(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith("backstop-binlog-replay-")).toList();
        }
    }
}
