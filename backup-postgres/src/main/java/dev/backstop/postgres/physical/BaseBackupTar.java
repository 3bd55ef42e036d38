package dev.backstop.postgres.physical;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Unpacks the tar of a {@link BaseBackupSource} backup into a data directory: directories and
 * regular files only, each inside the directory, large files through {@link DirectFileWriter}.
 */
final class BaseBackupTar {
    private BaseBackupTar() {
    }

    /**
     * Unpacks pg_basebackup's tar: directories and regular files only, each inside {@code data}.
     * Reads to the end so the verifying stream sees every byte and checks the digests.
     */
    static int extract(InputStream in, Path data) throws IOException {
        return extract(in, data, new java.util.HashMap<>(), p -> { }, true);
    }

    /**
     * As {@link #extract(InputStream, Path)}, recording each file's size and CRC-32C under its tar
     * name and handing each file to {@code written} once it is closed; {@code directIo} as {@link
     * PointInTimeRecovery.Builder#directIo}.
     */
    static int extract(InputStream in, Path data, Map<String, long[]> crcs, java.util.function.Consumer<Path> written,
            boolean directIo) throws IOException {
        TarArchiveInputStream tar = new TarArchiveInputStream(in);
        int n = 0;
        TarArchiveEntry e;
        Path root = data.toAbsolutePath().normalize();
        DirectFileWriter files = new DirectFileWriter(root, directIo);
        while ((e = tar.getNextEntry()) != null) {
            Path p = root.resolve(e.getName()).normalize();
            if (!p.startsWith(root) || p.equals(root) && !e.isDirectory()) {
                throw new IOException("tar entry '" + e.getName() + "' points outside the data directory; refusing it");
            }
            if (e.isDirectory()) {
                Files.createDirectories(p);
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
            } else if (e.isFile()) {
                Files.createDirectories(p.getParent());
                java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
                long size = files.write(p, tar, crc, e.getSize());
                crcs.put(e.getName(), new long[] {size, crc.getValue()});
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-------"));
                written.accept(p);
                n++;
            } else {
                throw new IOException("tar entry '" + e.getName() + "' is a link or special file; base backups with "
                        + "tablespaces are not supported");
            }
        }
        in.transferTo(OutputStream.nullOutputStream());
        return n;
    }
}
