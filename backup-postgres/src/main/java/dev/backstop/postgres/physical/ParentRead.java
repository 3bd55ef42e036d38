package dev.backstop.postgres.physical;

import dev.backstop.core.BackupId;
import dev.backstop.core.Restore;
import dev.backstop.core.manifest.Manifest;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * The repository's side of planning an increment, read on a thread of its own while the capture
 * connects to the server and checks it: the repository's manifests, the backup {@link
 * ChainPlanner#candidate} picks and, for that one, its authenticated manifest and the file sizes
 * of its {@code backup_manifest}. Neither side needs the other until the plan is made, and each
 * takes a tenth of a second or more (the repository's more when it is remote), so an increment
 * starts that much sooner. Whether the candidate is built on is decided afterwards, by {@link
 * ChainPlanner#plan} with the server's facts.
 *
 * <p><b>Threading.</b> Started by one capture and {@link #close closed} by it; {@link #close}
 * stops the read and waits for its thread, so nothing reads the repository after the capture.
 */
final class ParentRead implements AutoCloseable {
    /**
     * What was read: the repository's manifests, and the candidate's authenticated manifest and
     * file sizes, or why they could not be read (null when there is no candidate).
     */
    record Result(List<Manifest> all, Manifest parent, Map<String, Long> sizes, Exception failure) {
        /** The candidate as read; throws what reading it threw. */
        Manifest parentOrThrow() throws IOException {
            if (failure instanceof IOException io) {
                throw io;
            }
            if (failure instanceof RuntimeException re) {
                throw re;
            }
            return parent;
        }
    }

    private final FutureTask<Result> task;
    private final Thread thread;

    private ParentRead(FutureTask<Result> task) {
        this.task = task;
        this.thread = new Thread(task, "backstop-parent-read");
        thread.setDaemon(true);
    }

    /** Starts reading what an increment of {@code level} from {@code server} builds on. */
    static ParentRead start(BackupLevel level, BackupId parent, Restore parents, String server) {
        ParentRead read = new ParentRead(new FutureTask<>(() -> {
            List<Manifest> all = parents.repository().catalog().list();
            Manifest candidate = ChainPlanner.candidate(all, level, parent, server).orElse(null);
            if (candidate == null) {
                return new Result(all, null, null, null);
            }
            try {
                // authenticated before anything is read from it
                Manifest admitted = parents.manifest(candidate.id());
                return new Result(all, admitted, Increment.readSizes(parents, admitted), null);
            } catch (IOException | RuntimeException e) {
                // reported only if the plan builds on it: a backup taken full instead never needs it
                return new Result(all, null, null, e);
            }
        }));
        read.thread.start();
        return read;
    }

    /** Waits for the read; rethrows its failure as it was thrown. */
    Result await() throws IOException {
        try {
            return task.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while reading the parent backup's manifests");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IOException("reading the parent backup's manifests failed: " + cause, cause);
        }
    }

    /** Stops the read if it is still running and waits for its thread to end. */
    @Override
    public void close() {
        task.cancel(true);
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
