package dev.backstop.postgres.wal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A local, durable queue between {@code archive_command} and the WAL archive, so PostgreSQL is
 * never blocked on the network: {@link #enqueue} copies a WAL file into {@code ready/} (temporary
 * file, fsync, atomic rename, fsync of the directory) and returns; {@link #drain} uploads queued
 * files to a {@link WalArchive} in name order and removes each only after the archive committed it.
 *
 * <p><b>Guarantees.</b> A file is in {@code ready/} complete or not at all. Enqueueing the same
 * name again with the same content is accepted; with different content it fails (as the
 * archive itself would). A drain failure leaves the file queued for the next drain.
 *
 * <p><b>Restrictions.</b> Until drained, the spool is the only copy of a WAL file that PostgreSQL
 * may already have recycled: put the spool on durable local disk, and run one drainer at a time.
 *
 * <p><b>Threading.</b> Enqueue may run from many processes; {@link #drain} from one thread.
 */
public final class WalSpool {
    private final Path ready;
    private final Path tmp;

    private WalSpool(Path dir) throws IOException {
        this.ready = Files.createDirectories(dir.resolve("ready"));
        this.tmp = Files.createDirectories(dir.resolve("tmp"));
    }

    /** A spool in {@code dir}, created if needed. */
    public static WalSpool at(Path dir) throws IOException {
        return new WalSpool(Objects.requireNonNull(dir, "dir"));
    }

    /** Queues {@code source} as {@code name}. */
    public void enqueue(Path source, String name) throws IOException {
        WalFile.parse(name);
        Path target = ready.resolve(name);
        if (Files.exists(target)) {
            if (Files.mismatch(source, target) == -1) {
                return;
            }
            throw new IOException("WAL file " + name + " is already queued in " + ready + " with different content; refusing to replace it");
        }
        Path t = Files.createTempFile(tmp, name, ".part");
        try {
            Files.copy(source, t, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel ch = FileChannel.open(t, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(t, target, StandardCopyOption.ATOMIC_MOVE);
            try (FileChannel ch = FileChannel.open(ready, StandardOpenOption.READ)) {
                ch.force(true);
            }
        } finally {
            Files.deleteIfExists(t);
        }
    }

    /** Names queued, in upload order (history files first, then segments by name). */
    public List<String> queued() throws IOException {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(ready)) {
            for (Path p : ds) {
                names.add(p.getFileName().toString());
            }
        }
        names.sort((a, b) -> {
            boolean ha = a.endsWith(".history");
            boolean hb = b.endsWith(".history");
            return ha == hb ? a.compareTo(b) : ha ? -1 : 1;
        });
        return names;
    }

    /**
     * Uploads every queued file to {@code archive}; returns how many were uploaded.
     *
     * @throws dev.backstop.core.BackupException from the archive; files not yet uploaded stay queued
     */
    public int drain(WalArchive archive) throws IOException {
        int n = 0;
        for (String name : queued()) {
            Path p = ready.resolve(name);
            archive.put(p, name);
            Files.delete(p);
            n++;
        }
        return n;
    }
}
