package dev.backstop.postgres.wal;

import dev.backstop.core.IntegrityException;
import dev.backstop.core.StorageException;
import dev.backstop.core.log.LogFile;
import dev.backstop.core.log.LogStore;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes one archived WAL file to a local path for {@link WalArchive#get}: the whole file if it is
 * archived, else a segment assembled from its deltas and zero-filled to 16 MiB, through a temporary
 * file beside the target that is synced and renamed, so the target is complete or absent.
 */
final class WalFetch {
    private WalFetch() {
    }

    /**
     * Fetches {@code file} (named {@code name}, data object {@code key}) from {@code logs} into {@code target}.
     *
     * @return false if it is archived neither whole nor as deltas
     */
    static boolean into(LogStore logs, WalFile file, String name, String key, Path target) {
        LogFile lf = file.logFile();
        Path tmp = target.resolveSibling(target.getFileName() + ".backstop-tmp");
        try {
            for (int attempt = 0; ; attempt++) {
                try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 64 * 1024)) {
                    if (logs.read(lf, out)) {
                        break;
                    }
                    if (file.kind() != WalFile.Kind.SEGMENT) {
                        return false;
                    }
                    long end = logs.readDeltas(lf, out);
                    if (end < 0) {
                        return false;
                    }
                    byte[] zeros = new byte[64 * 1024];
                    for (long left = WalFile.SEGMENT_BYTES - end; left > 0; left -= zeros.length) {
                        out.write(zeros, 0, (int) Math.min(left, zeros.length));
                    }
                    break;
                } catch (StorageException e) {
                    if (!(e.getCause() instanceof NoSuchFileException)) {
                        throw e;
                    }
                    // the receiver archived the whole segment and removed its deltas while we read them
                    if (attempt > 0) {
                        throw new IntegrityException(key, "deltas of " + name, "delta objects that stay until the whole "
                                + "segment is archived", "one vanished while it was read (" + e.getMessage() + ") and no whole "
                                + "segment appeared", e, null);
                    }
                }
            }
            try (var ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return true;
        } catch (IOException e) {
            throw StorageException.of(key, "could not fetch " + name + " into " + target + ": " + e, e, null);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // a leftover temporary file next to the target is harmless: it is never read
            }
        }
    }
}
