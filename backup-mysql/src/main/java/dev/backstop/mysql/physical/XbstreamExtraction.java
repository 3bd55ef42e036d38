package dev.backstop.mysql.physical;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Writes the files of an xbstream into a directory, as {@code mbstream -x} does: a file is created
 * when its first chunk arrives (so an empty file exists too), each payload chunk must continue its
 * file where the one before ended, and the file is closed at its end chunk. Unlike {@code mbstream},
 * it leaves the written pages in the page cache, where {@code --prepare} reads them next, and it
 * writes every file whole: {@code mbstream} leaves the unused tails of page-compressed tables'
 * pages as holes, here they are written as the zeros they read as.
 *
 * <p>Every path must name a place inside the directory: relative, without {@code .} or {@code ..}
 * segments or empty ones; a path that would leave it, a file the stream creates twice and a chunk
 * out of order fail with an {@link IOException} naming them. Files are created {@code rw-r-----}
 * and directories {@code rwxr-x---}, the modes {@code mbstream} gives them under the usual umask.
 *
 * <p>Single-threaded: driven by one {@link XbstreamTap}. {@link #close()} closes every file still
 * open; it deletes nothing: the caller deletes the directory of a failed extraction.
 */
final class XbstreamExtraction implements XbstreamTap.Files, Closeable {
    private static final FileAttribute<Set<PosixFilePermission>> FILE_MODE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r-----"));
    private static final FileAttribute<Set<PosixFilePermission>> DIRECTORY_MODE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-x---"));
    /** Files open at once at most: mariadb-backup streams one file after another, a few at a time with --parallel. */
    private static final int MAX_OPEN = 1024;

    private final Path dir;
    private final Map<String, Open> open = new HashMap<>();
    private Open current;
    private long bytes;
    private int files;

    /** A file being written and the offset its next chunk must start at. */
    private static final class Open {
        final String path;
        final FileChannel channel;
        long next;

        Open(String path, FileChannel channel) {
            this.path = path;
            this.channel = channel;
        }
    }

    /** Extracts into {@code dir}, an existing directory. */
    XbstreamExtraction(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
    }

    @Override
    public void chunk(String path, long offset) throws IOException {
        Open f = file(path);
        if (offset != f.next) {
            throw new IOException("xbstream: a chunk of " + path + " starts at file offset " + offset + ", expected "
                    + f.next + " (chunks out of order)");
        }
        current = f;
    }

    @Override
    public void data(byte[] b, int off, int len) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(b, off, len);
        while (buf.hasRemaining()) {
            current.channel.write(buf);
        }
        current.next += len;
        bytes += len;
    }

    @Override
    public void end(String path) throws IOException {
        Open f = file(path);
        open.remove(path);
        if (current == f) {
            current = null;
        }
        f.channel.close();
    }

    /** The open file of {@code path}, created if the stream names it for the first time. */
    private Open file(String path) throws IOException {
        Open f = open.get(path);
        if (f != null) {
            return f;
        }
        if (open.size() >= MAX_OPEN) {
            throw new IOException("xbstream: more than " + MAX_OPEN + " files open at once at " + path);
        }
        Path target = resolve(path);
        Path parent = target.getParent();
        if (!parent.equals(dir)) {
            Files.createDirectories(parent, DIRECTORY_MODE);
        }
        FileChannel ch;
        try {
            ch = FileChannel.open(target, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), FILE_MODE);
        } catch (FileAlreadyExistsException e) {
            throw new IOException("xbstream: file " + path + " appears twice in the stream", e);
        }
        f = new Open(path, ch);
        open.put(path, f);
        files++;
        return f;
    }

    /** {@code path} inside the directory, or an IOException if it is not a plain relative path. */
    Path resolve(String path) throws IOException {
        if (path.isEmpty() || path.startsWith("/") || path.indexOf('\0') >= 0 || path.indexOf('\\') >= 0) {
            throw new IOException("xbstream: refusing path '" + path + "': not a relative path inside the target");
        }
        for (String segment : path.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                throw new IOException("xbstream: refusing path '" + path + "': segment '" + segment + "' is not a name");
            }
        }
        Path p = dir.resolve(path).normalize();
        if (!p.startsWith(dir) || p.equals(dir)) {
            throw new IOException("xbstream: refusing path '" + path + "': it leaves the target directory");
        }
        return p;
    }

    /** Payload bytes written. */
    long bytes() {
        return bytes;
    }

    /** Files created. */
    int files() {
        return files;
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (Open f : open.values()) {
            try {
                f.channel.close();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        open.clear();
        current = null;
        if (first != null) {
            throw first;
        }
    }
}
