package dev.backstop.postgres.internal;

import dev.backstop.core.internal.stream.ForwardingOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * A pg_dump directory as one tar stream and back, so a parallel dump flows through the same
 * transforms as a single-file one. Flat directories only: pg_dump's directory format has no
 * subdirectories.
 */
public final class TarStreams {
    private TarStreams() {
    }

    /**
     * Writes the regular files of {@code dir} (sorted by name, {@code toc.dat} first so a reader
     * learns the archive's shape early) as a tar into {@code out}, which stays open. Returns the
     * number of files.
     */
    public static int write(Path dir, OutputStream out) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(Files::isRegularFile)
                    .sorted((a, b) -> {
                        boolean ta = a.getFileName().toString().equals("toc.dat");
                        boolean tb = b.getFileName().toString().equals("toc.dat");
                        return ta == tb ? a.getFileName().toString().compareTo(b.getFileName().toString()) : ta ? -1 : 1;
                    }).toList();
        }
        TarArchiveOutputStream tar = new TarArchiveOutputStream(new NonClosing(out));
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        for (Path f : files) {
            TarArchiveEntry e = new TarArchiveEntry(f.getFileName().toString());
            e.setSize(Files.size(f));
            e.setModTime(0);
            tar.putArchiveEntry(e);
            try (InputStream in = Files.newInputStream(f)) {
                in.transferTo(tar);
            }
            tar.closeArchiveEntry();
        }
        tar.finish();
        tar.close();
        return files.size();
    }

    /**
     * Extracts a tar written by {@link #write} into the empty directory {@code dir}. Entries that
     * are not plain files directly in {@code dir} are refused. Returns the number of files.
     */
    public static int extract(InputStream in, Path dir) throws IOException {
        TarArchiveInputStream tar = new TarArchiveInputStream(in);
        int n = 0;
        TarArchiveEntry e;
        while ((e = tar.getNextEntry()) != null) {
            String name = e.getName();
            if (!e.isFile() || name.isEmpty() || name.contains("/") || name.equals(".") || name.equals("..")) {
                throw new IOException("tar entry '" + name + "': expected a plain file name as pg_dump writes, refusing it");
            }
            try (OutputStream out = Files.newOutputStream(dir.resolve(name))) {
                tar.transferTo(out);
            }
            n++;
        }
        // read to the end so the caller's verifying stream sees every byte
        in.transferTo(OutputStream.nullOutputStream());
        return n;
    }

    /** Keeps the tar writer from closing the caller's stream. */
    private static final class NonClosing extends ForwardingOutputStream {
        NonClosing(OutputStream out) {
            super(out);
        }

        @Override
        public void close() throws IOException {
            out.flush();
        }
    }
}
