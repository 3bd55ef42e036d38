package dev.backstop.postgres.wal;

import dev.backstop.core.BackupException;
import dev.backstop.core.Stage;
import dev.backstop.core.StorageException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The queue behind {@code archive-get}: recovery asks for one WAL file per {@code restore_command}
 * call, so while PostgreSQL replays segment N a background process fetches N+1..N+k into a local
 * directory and the next calls are served from disk instead of the repository.
 *
 * <p><b>Guarantees.</b> A queued file is served only if its size and SHA-256 equal those the
 * archive's metadata records for that name (one small metadata read per call): a file corrupted
 * on disk, a leftover from another timeline's recovery or anything else that does not match is
 * deleted and the file is fetched from the repository instead. Files land in the queue through
 * {@link WalArchive#get} (verified, temporary file, rename), never half-written under their name.
 * The queue holds at most {@code depth} segments: the window after the last request; anything
 * outside it is deleted by the next prefetch.
 *
 * <p>A segment held only as deltas (the end of a receiver's archive) is never queued: {@link
 * #serve} fetches it directly, assembled.
 *
 * <p><b>Restrictions.</b> One prefetcher at a time per queue (an OS lock on {@code prefetch.lock});
 * a request that finds one running starts none, and the next request catches up. Segments only:
 * history and backup files are always fetched directly.
 */
public final class WalPrefetcher {
    static final String LOCK_FILE = "prefetch.lock";

    /** Where a request was served from. */
    public enum Source {
        /** The prefetch queue, verified against the archive's metadata. */
        QUEUE,
        /** The repository. */
        REPOSITORY,
        /** Nowhere: the archive does not hold the file. */
        MISSING
    }

    private final WalArchive archive;
    private final Path queue;
    private final int depth;
    private final PrintStream log;

    /**
     * A prefetcher of up to {@code depth} segments of {@code archive} into the directory {@code
     * queue} (created if needed), logging to {@code log}.
     *
     * @throws BackupException if the queue's directory could not be created
     */
    public WalPrefetcher(WalArchive archive, Path queue, int depth, PrintStream log) {
        this.archive = archive;
        try {
            this.queue = Files.createDirectories(queue);
        } catch (IOException e) {
            throw new BackupException(Stage.CONFIGURE, "could not create the WAL prefetch queue " + queue + ": " + e, e);
        }
        this.depth = depth;
        this.log = log;
    }

    /** The queue's directory. */
    public Path queue() {
        return queue;
    }

    /**
     * Whether a prefetcher (in any process) is filling this queue right now.
     *
     * @throws StorageException if the queue's lock file cannot be opened
     */
    public boolean running() {
        try {
            return WalDrainer.Lock.held(queue, LOCK_FILE);
        } catch (IOException e) {
            throw StorageException.of(queue.resolve(LOCK_FILE).toString(), "could not check the prefetch lock: " + e, e, null);
        }
    }

    /**
     * Serves {@code name} into {@code target}: from the queue if the queued copy is verified, else from the repository.
     *
     * @throws StorageException if the queue or {@code target} cannot be written, or the repository fails
     */
    public Source serve(String name, Path target) {
        try {
            return serveFile(name, target);
        } catch (IOException e) {
            throw StorageException.of(queue.resolve(name).toString(), "could not serve " + name + " into " + target + ": " + e, e, null);
        }
    }

    private Source serveFile(String name, Path target) throws IOException {
        Path queued = queue.resolve(name);
        if (Files.exists(queued)) {
            if (archive.matches(name, queued)) {
                Files.move(queued, target, StandardCopyOption.REPLACE_EXISTING);
                return Source.QUEUE;
            }
            Files.deleteIfExists(queued);
            log.println("backstop: discarded queued " + name + ": it does not match the archived " + name + "; fetching it again");
        }
        return archive.get(name, target) ? Source.REPOSITORY : Source.MISSING;
    }

    /** The segments to fetch after {@code served}: the next {@code depth} on the same timeline. */
    List<String> window(WalFile served) {
        List<String> names = new ArrayList<>();
        WalFile next = served;
        for (int i = 0; i < depth; i++) {
            next = next.next();
            names.add(next.name());
        }
        return names;
    }

    /**
     * Fills the queue with the window after {@code served} (stopping at the first segment the
     * archive does not have) and deletes what lies outside it; returns the files fetched from the
     * repository. Returns -1 at once if another prefetcher holds the queue.
     *
     * @throws StorageException if the queue cannot be written, or the repository fails
     */
    public int prefetchAfter(WalFile served) {
        try {
            return fill(served);
        } catch (IOException e) {
            throw StorageException.of(queue.toString(), "could not prefetch after " + served.name() + ": " + e, e, null);
        }
    }

    private int fill(WalFile served) throws IOException {
        try (WalDrainer.Lock lock = WalDrainer.Lock.tryAcquire(queue, LOCK_FILE)) {
            if (lock == null) {
                return -1;
            }
            List<String> wanted = window(served);
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(queue)) {
                for (Path p : ds) {
                    String n = p.getFileName().toString();
                    if (!n.equals(LOCK_FILE) && !n.endsWith(".log") && !wanted.contains(n)) {
                        Files.deleteIfExists(p); // stale: before the request, another timeline, or a leftover temporary file
                    }
                }
            }
            int fetched = 0;
            for (String name : wanted) {
                Path target = queue.resolve(name);
                if (Files.exists(target)) {
                    continue;
                }
                // whole segments only: one held as deltas is the end of the archive and still growing,
                // and serve() checks queued files against whole segments' metadata
                if (!archive.contains(name) || !archive.get(name, target)) {
                    break;
                }
                fetched++;
                log.println("backstop: prefetched " + name);
            }
            return fetched;
        }
    }
}
