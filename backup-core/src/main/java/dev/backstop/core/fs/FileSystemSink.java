package dev.backstop.core.fs;

import dev.backstop.core.IncompleteWrite;
import dev.backstop.core.IncompleteWrites;
import dev.backstop.core.ObjectExistsException;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Sink;
import dev.backstop.core.StorageException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.FileVisitResult;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@link Sink} in a local directory.
 *
 * <p><b>Guarantees.</b> Bytes go to a hidden temporary file next to the target ({@code
 * .<name>.<random>.tmp}); commit forces the file to disk, publishes it atomically and forces the
 * directory, so after a crash an object is either wholly there or not listed. Immutable kinds are
 * published with a hard link, which fails atomically if the key is taken; replaceable kinds with
 * an atomic rename. Temporary files are never listed; {@link #incompleteWrites} finds those a
 * crashed writer left, and {@link #discard} removes one.
 *
 * <p><b>Writes.</b> An object larger than 1 MiB is written with direct I/O ({@code O_DIRECT})
 * where the file system allows it, bypassing the page cache; smaller ones, and every object on a
 * file system that refuses direct I/O, are written through it. Either way the commit forces the
 * file before publishing it.
 *
 * <p><b>Restrictions.</b> The directory must be on a filesystem with hard links and atomic rename
 * (any local Linux filesystem, NFSv3+).
 */
public final class FileSystemSink implements Sink, IncompleteWrites {
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]*");
    /** {@code .<object file name>.<random, base 36>.tmp}: the only temporary files this sink makes. */
    private static final Pattern TEMPORARY = Pattern.compile("\\.([A-Za-z0-9_-][A-Za-z0-9._-]*)\\.([0-9a-z]{1,13})\\.tmp");

    private final Path root;
    /** The block size direct writes align to, or 0 where the file system has none to offer. */
    private final int directBlock;
    private final DirectUploadStream.Buffers buffers = new DirectUploadStream.Buffers();

    private FileSystemSink(Path root) {
        this.root = root;
        int block = 0;
        try {
            block = DirectUploadStream.usableBlock(Files.getFileStore(root).getBlockSize());
        } catch (IOException | UnsupportedOperationException e) {
            // no block size: ordinary writes
        }
        this.directBlock = block;
    }

    /** A sink rooted at {@code root}, which is created if missing. */
    public static FileSystemSink open(Path root) {
        Objects.requireNonNull(root, "root");
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new UncheckedIOException("repository directory " + root + " cannot be created: " + e.getMessage(), e);
        }
        return new FileSystemSink(root.toAbsolutePath().normalize());
    }

    public Path root() {
        return root;
    }

    /** The file an object is (or would be) published as. */
    public Path pathOf(String key) {
        if (!keyIsValid(key)) {
            throw new IllegalArgumentException("object key: got '" + key
                    + "', segments must match [A-Za-z0-9_-][A-Za-z0-9._-]* and be separated by single '/'");
        }
        return root.resolve(key);
    }

    @Override
    public Upload create(String key, ObjectKind kind) throws IOException {
        Path target = pathOf(key);
        Files.createDirectories(target.getParent());
        Path temp = target.resolveSibling("." + target.getFileName() + "."
                + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + ".tmp");
        FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        return new FsUpload(key, kind, target, temp, ch, directBlock, buffers);
    }

    @Override
    public InputStream open(String key) throws IOException {
        Path p = pathOf(key);
        if (!Files.isRegularFile(p)) {
            throw new NoSuchFileException(key, null, "no object under this key in " + root);
        }
        return Files.newInputStream(p);
    }

    @Override
    public List<ObjectInfo> list(String prefix) throws IOException {
        List<ObjectInfo> out = new ArrayList<>();
        // walk only the deepest directory the prefix names, not the whole repository
        int slash = prefix.lastIndexOf('/');
        Path start = slash < 0 ? root : root.resolve(prefix.substring(0, slash));
        if (!Files.isDirectory(start)) {
            return out;
        }
        // other writers publish (temp file, rename) and delete while this lists: an entry or a
        // directory that vanishes between reading its directory and reading its attributes was
        // not there, so it is skipped rather than failing the listing
        try {
            Files.walkFileTree(start, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path p, BasicFileAttributes attrs) {
                    if (attrs.isRegularFile() && !p.getFileName().toString().startsWith(".")) {
                        String key = root.relativize(p).toString().replace(p.getFileSystem().getSeparator(), "/");
                        if (key.startsWith(prefix)) {
                            out.add(new ObjectInfo(key, attrs.size(), attrs.lastModifiedTime().toInstant()));
                        }
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path p, IOException e) throws IOException {
                    if (e instanceof NoSuchFileException) {
                        return FileVisitResult.CONTINUE;
                    }
                    throw e;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                    if (e != null && !(e instanceof NoSuchFileException)) {
                        throw e;
                    }
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (NoSuchFileException gone) {
            // the directory itself went away while listing: nothing under it
        }
        out.sort((a, b) -> a.key().compareTo(b.key()));
        return out;
    }

    @Override
    public void delete(String key) throws IOException {
        Path p = pathOf(key);
        if (Files.deleteIfExists(p)) {
            forceDirectory(p.getParent());
        }
    }

    /**
     * The temporary files under {@code prefix} that writers of this sink left: crashed processes,
     * or writers still running (their {@link IncompleteWrite#lastActivity()} keeps moving while
     * they write). The handle is the file's path relative to the root.
     */
    @Override
    public List<IncompleteWrite> incompleteWrites(String prefix) throws IOException {
        List<IncompleteWrite> out = new ArrayList<>();
        int slash = prefix.lastIndexOf('/');
        Path start = slash < 0 ? root : root.resolve(prefix.substring(0, slash));
        if (!Files.isDirectory(start)) {
            return out;
        }
        try {
            Files.walkFileTree(start, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path p, BasicFileAttributes attrs) {
                    Matcher m = TEMPORARY.matcher(p.getFileName().toString());
                    if (attrs.isRegularFile() && m.matches()) {
                        String handle = root.relativize(p).toString().replace(p.getFileSystem().getSeparator(), "/");
                        String key = handle.substring(0, handle.length() - p.getFileName().toString().length()) + m.group(1);
                        if (key.startsWith(prefix)) {
                            out.add(new IncompleteWrite(key, handle, attrs.size(), attrs.lastModifiedTime().toInstant()));
                        }
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path p, IOException e) throws IOException {
                    if (e instanceof NoSuchFileException) {
                        return FileVisitResult.CONTINUE;
                    }
                    throw e;
                }
            });
        } catch (NoSuchFileException gone) {
            // the directory went away while listing: nothing under it
        }
        out.sort((a, b) -> a.key().compareTo(b.key()));
        return out;
    }

    /**
     * Deletes the temporary file of {@code write}; a file already gone is not an error.
     *
     * @throws IllegalArgumentException if the handle does not name a temporary file of this sink
     */
    @Override
    public void discard(IncompleteWrite write) throws IOException {
        String handle = write.handle();
        int slash = handle.lastIndexOf('/');
        String name = handle.substring(slash + 1);
        if (!TEMPORARY.matcher(name).matches() || (slash >= 0 && !keyIsValid(handle.substring(0, slash)))) {
            throw new IllegalArgumentException("incomplete write: got handle '" + handle
                    + "', expected the root-relative path of a temporary file .<name>.<random>.tmp");
        }
        Path p = root.resolve(handle);
        if (Files.deleteIfExists(p)) {
            forceDirectory(p.getParent());
        }
    }

    private static boolean keyIsValid(String key) {
        for (String p : key.split("/", -1)) {
            if (!SEGMENT.matcher(p).matches() || p.equals(".") || p.equals("..")) {
                return false;
            }
        }
        return true;
    }

    /**
     * Temporary files last modified before {@code olderThan}, left by crashed writers; they are never listed and
     * hold nothing a reader can see, so removing them is always safe once their writer is gone.
     * {@link dev.backstop.core.Repository#orphans} finds them too, and also checks the repository's leases.
     *
     * @throws StorageException if the directory cannot be walked
     */
    public List<Path> staleTemporaryFiles(java.time.Instant olderThan) {
        List<Path> out = new ArrayList<>();
        try {
            for (IncompleteWrite w : incompleteWrites("")) {
                if (w.lastActivity().isBefore(olderThan)) {
                    out.add(root.resolve(w.handle()));
                }
            }
        } catch (IOException e) {
            throw StorageException.of(null, "could not list the temporary files under " + root + ": " + e, e, null);
        }
        return out;
    }

    /**
     * Deletes what {@link #staleTemporaryFiles} finds; returns what was deleted.
     *
     * @throws StorageException naming the first file that could not be deleted
     */
    public List<Path> removeStaleTemporaryFiles(java.time.Instant olderThan) {
        List<Path> stale = staleTemporaryFiles(olderThan);
        for (Path p : stale) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                throw StorageException.of(p.toString(), "could not delete the stale temporary file: " + e, e, null);
            }
        }
        return stale;
    }

    static void forceDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    @Override
    public String toString() {
        return "FileSystemSink[" + root + "]";
    }

    private static final class FsUpload implements Upload {
        private final String key;
        private final ObjectKind kind;
        private final Path target;
        private final Path temp;
        private final FileChannel channel;
        private final DirectUploadStream stream;
        private boolean committed;
        private boolean closed;

        FsUpload(String key, ObjectKind kind, Path target, Path temp, FileChannel channel, int directBlock,
                 DirectUploadStream.Buffers buffers) {
            this.key = key;
            this.kind = kind;
            this.target = target;
            this.temp = temp;
            this.channel = channel;
            // closing the stream ends the bytes; the channel stays open for force() at commit
            this.stream = new DirectUploadStream(channel, temp, directBlock, buffers);
        }

        @Override
        public OutputStream stream() {
            if (closed) {
                throw new IllegalStateException("upload of " + key + " is closed");
            }
            return stream;
        }

        @Override
        public void commit() throws IOException {
            if (closed || committed) {
                throw new IllegalStateException("upload of " + key + " is " + (committed ? "already committed" : "closed"));
            }
            stream.finish();
            stream.release();
            channel.force(true);
            channel.close();
            if (kind.replaceable()) {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } else {
                try {
                    Files.createLink(target, temp);
                } catch (FileAlreadyExistsException e) {
                    throw new ObjectExistsException(key);
                }
                Files.delete(temp);
            }
            forceDirectory(target.getParent());
            committed = true;
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            stream.release();
            try {
                channel.close();
            } catch (IOException ignored) {
                // the file is deleted next; nothing of it can be used
            }
            try {
                Files.deleteIfExists(temp);
            } catch (IOException ignored) {
                // a leftover temporary file is never listed and is removed as stale later
            }
        }
    }
}
