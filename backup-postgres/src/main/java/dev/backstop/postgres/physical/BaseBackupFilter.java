package dev.backstop.postgres.physical;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Turns the tar pg_basebackup streams into an increment's tar as it passes: every entry is copied
 * as it is, except the relation files {@link Increment#byPages} accepts, of which only the pages
 * {@link PageFilter#kept} selects are written, as {@link PageMap} entries. pg_basebackup's own
 * {@code backup_manifest} (the last entry) is kept unchanged: it lists every file of the cluster
 * with the size and CRC-32C the server sent, which is what the chain rebuilds, since a page left
 * out is byte for byte the one an older backup holds. {@code backup_label} and {@code
 * backup_manifest} are also kept in memory for the caller.
 *
 * <p>The server still reads and sends every page: filtering saves storage and upload, not the
 * read. Memory: one window of pages, one read buffer, the manifest. Never closes the streams it
 * is given. Not thread-safe; one use.
 */
final class BaseBackupFilter {
    private static final int BUFFER_BYTES = 256 * 1024;
    private static final int LABEL_MAX = 64 * 1024;

    private final Increment increment;
    private String label = "";
    private byte[] manifest = new byte[0];
    private long bytes;
    private int entries;

    BaseBackupFilter(Increment increment) {
        this.increment = increment;
    }

    /** Reads pg_basebackup's tar from {@code in} to its end and writes the increment's tar to {@code out}. */
    void copy(InputStream in, OutputStream out) throws IOException {
        LiveTar tar = new LiveTar(out, new ManifestWriter(), BUFFER_BYTES);
        TarArchiveInputStream t = new TarArchiveInputStream(in);
        TarArchiveEntry e;
        while ((e = t.getNextEntry()) != null) {
            String name = e.getName();
            Instant modified = e.getLastModifiedDate().toInstant();
            if (e.isDirectory()) {
                tar.directory(name.endsWith("/") ? name.substring(0, name.length() - 1) : name, modified);
            } else if (!e.isFile()) {
                throw new IOException("pg_basebackup's tar entry '" + name + "' is a link or special file; increments of "
                        + "clusters with tablespaces are not supported");
            } else if (name.equals("backup_label") || name.equals("backup_manifest")) {
                if (name.equals("backup_label") && e.getSize() > LABEL_MAX) {
                    throw new IOException("pg_basebackup's backup_label has " + e.getSize() + " bytes, more than " + LABEL_MAX);
                }
                byte[] content = t.readNBytes((int) e.getSize());
                if (content.length != e.getSize()) {
                    throw new IOException("tar entry " + name + " ended after " + content.length + " of " + e.getSize() + " bytes");
                }
                if (name.equals("backup_label")) {
                    label = new String(content, StandardCharsets.UTF_8);
                } else {
                    manifest = content;
                }
                tar.content(name, content, modified, false);
            } else if (increment.byPages(name, e.getSize())) {
                increment.streamPages(tar, name, t, e.getSize(), modified);
            } else {
                tar.copy(name, t, e.getSize(), modified);
            }
        }
        in.transferTo(OutputStream.nullOutputStream());
        tar.finish();
        bytes = tar.bytes();
        entries = tar.entries();
    }

    /** The backup_label pg_basebackup sent, or empty. */
    String label() {
        return label;
    }

    /** The backup_manifest pg_basebackup sent, or empty. */
    byte[] manifest() {
        return manifest;
    }

    /** Bytes of the increment's tar. */
    long bytes() {
        return bytes;
    }

    int entries() {
        return entries;
    }
}
