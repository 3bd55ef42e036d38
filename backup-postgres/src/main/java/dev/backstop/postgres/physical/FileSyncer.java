package dev.backstop.postgres.physical;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.ThreadFactory;

/**
 * Makes extracted files durable while extraction goes on: each file is fsynced on a thread of
 * its own as soon as it is written, so the disk writes back one file while the next is being
 * decoded, rather than all at the end; then every directory,
 * deepest first, since a new file's name lives in its directory.
 */
final class FileSyncer implements AutoCloseable {
    private final java.util.concurrent.ExecutorService thread;
    private final java.util.concurrent.atomic.AtomicReference<IOException> failure = new java.util.concurrent.atomic.AtomicReference<>();

    /** Fsyncs on one thread of {@code threads}. */
    FileSyncer(ThreadFactory threads) {
        this.thread = java.util.concurrent.Executors.newSingleThreadExecutor(threads);
    }

    void sync(Path file) {
        thread.execute(() -> {
            if (failure.get() == null) {
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                    ch.force(true);
                } catch (IOException e) {
                    failure.compareAndSet(null, new IOException("could not fsync " + file + ": " + e.getMessage(), e));
                }
            }
        });
    }

    /** Waits for the files' fsyncs, then fsyncs the directories of {@code root} and its parent. */
    void finish(Path root) throws IOException {
        thread.shutdown();
        try {
            if (!thread.awaitTermination(30, java.util.concurrent.TimeUnit.MINUTES)) {
                throw new IOException("fsync of the restored files took over 30 minutes");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while syncing the restored files");
        }
        if (failure.get() != null) {
            throw failure.get();
        }
        List<Path> dirs = new java.util.ArrayList<>();
        try (java.util.stream.Stream<Path> all = Files.walk(root)) {
            all.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)).forEach(dirs::add);
        }
        java.util.Collections.reverse(dirs);
        Path parent = root.toAbsolutePath().getParent();
        if (parent != null) {
            dirs.add(parent);
        }
        for (Path d : dirs) {
            try (FileChannel ch = FileChannel.open(d, StandardOpenOption.READ)) {
                ch.force(true);
            }
        }
    }

    /** Fsyncs one file or directory now, on the calling thread. */
    static void force(Path fileOrDirectory) throws IOException {
        try (FileChannel ch = FileChannel.open(fileOrDirectory, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
