package dev.backstop.postgres.physical;

import dev.backstop.core.internal.concurrent.LogContext;
import dev.backstop.core.internal.concurrent.Backoff;
import dev.backstop.postgres.internal.RoleThreads;
import dev.backstop.postgres.wal.WalArchive;
import dev.backstop.postgres.wal.WalFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Serves a recovering server's {@code restore_command} from the WAL archive, fetching ahead in
 * parallel. The restore_command is a tiny shell script that drops a request file and waits for
 * the answer: the file in {@code ready/}, a marker in {@code missing/} (exit 1: end of archive) or
 * in {@code failed/} (exit 255: PostgreSQL aborts recovery instead of promoting early). So the
 * server never runs a JVM per segment and never needs repository credentials.
 *
 * <p>On each request for a segment the broker schedules the next {@code depth} archived segments
 * of that timeline too; at most {@code depth} fetched files wait on disk, so disk use is bounded.
 */
final class WalBroker implements AutoCloseable {
    /** How soon a request of the restore command is seen when none is waiting. */
    private static final Duration REQUEST_POLL = Duration.ofMillis(5);
    private final WalArchive archive;
    private final Path dir;
    private final int depth;
    private final ExecutorService fetchers;
    private final Thread loop;
    private final Map<String, CompletableFuture<Path>> inFlight = new LinkedHashMap<>();
    private final AtomicInteger served = new AtomicInteger();
    private final AtomicReference<RuntimeException> failure = new AtomicReference<>();
    private volatile List<WalFile> listing;
    private volatile boolean closed;

    WalBroker(WalArchive archive, Path dir, int parallelism, int depth, RoleThreads threads) throws IOException {
        this.archive = archive;
        this.dir = dir;
        this.depth = depth;
        for (String sub : List.of("requests", "ready", "missing", "failed", "prefetch")) {
            Path p = Files.createDirectories(dir.resolve(sub));
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxrwxrwx"));
        }
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path script = dir.resolve("restore-wal.sh");
        Files.writeString(script, script(dir), StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        this.fetchers = Executors.newFixedThreadPool(parallelism, threads.numbered("backstop-wal-prefetch"));
        this.loop = threads.named("backstop-wal-broker").newThread(LogContext.propagate(this::run));
    }

    void start() {
        loop.start();
    }

    /** The value for {@code restore_command}. */
    String restoreCommand() {
        return "'" + dir.resolve("restore-wal.sh") + "' \"%f\" \"%p\"";
    }

    int served() {
        return served.get();
    }

    /** The first fetch failure, if any: what made recovery abort. */
    RuntimeException failure() {
        return failure.get();
    }

    private static String script(Path dir) {
        return "#!/bin/sh\n"
                + "# Written by Backstop: asks the restoring JVM for one WAL file and waits for the answer.\n"
                + "d='" + dir + "'\n"
                + "f=\"$1\"; p=\"$2\"\n"
                + ": > \"$d/requests/$f\" || exit 255\n"
                + "i=0\n"
                + "while [ $i -lt 30000 ]; do\n"
                + "  if [ -f \"$d/ready/$f\" ]; then cp \"$d/ready/$f\" \"$p\" && rm -f \"$d/ready/$f\" && exit 0; exit 255; fi\n"
                + "  if [ -f \"$d/missing/$f\" ]; then rm -f \"$d/missing/$f\"; exit 1; fi\n"
                + "  if [ -f \"$d/failed/$f\" ]; then exit 255; fi\n"
                + "  sleep 0.01; i=$((i+1))\n"
                + "done\n"
                + "exit 255\n";
    }

    private void run() {
        while (!closed) {
            try {
                boolean any = false;
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir.resolve("requests"))) {
                    for (Path req : ds) {
                        any = true;
                        String name = req.getFileName().toString();
                        Files.deleteIfExists(req);
                        answer(name);
                    }
                }
                if (!any) {
                    Backoff.Pause.SLEEP.pause(REQUEST_POLL);
                }
            } catch (InterruptedException e) {
                return;
            } catch (IOException | RuntimeException e) {
                failure.compareAndSet(null, new IllegalStateException("WAL broker failed: " + e, e));
                return;
            }
        }
    }

    private void answer(String name) throws IOException, InterruptedException {
        WalFile file;
        try {
            file = WalFile.parse(name);
        } catch (IllegalArgumentException e) {
            mark("missing", name);
            return;
        }
        if (!listed(file)) {
            // restorable(): a segment held only as deltas is served assembled, so recovery to latest reaches its commits
            listing = archive.restorable();
            if (!listed(file)) {
                mark("missing", name);
                return;
            }
        }
        CompletableFuture<Path> f;
        synchronized (inFlight) {
            f = inFlight.remove(name);
        }
        if (f == null) {
            f = fetch(name);
        }
        if (file.isSegment()) {
            prefetchAfter(file);
        }
        try {
            Path fetched = f.join();
            Files.move(fetched, dir.resolve("ready").resolve(name), StandardCopyOption.ATOMIC_MOVE);
            served.incrementAndGet();
        } catch (RuntimeException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            failure.compareAndSet(null, cause instanceof RuntimeException re ? re : new IllegalStateException(cause));
            mark("failed", name);
        }
    }

    private boolean listed(WalFile file) {
        List<WalFile> l = listing;
        return l != null && l.contains(file);
    }

    private void prefetchAfter(WalFile file) {
        List<WalFile> next = new ArrayList<>();
        for (WalFile w : listing) {
            if (w.kind() == WalFile.Kind.SEGMENT && w.timeline() == file.timeline() && w.segmentNumber() > file.segmentNumber()
                    && w.segmentNumber() <= file.segmentNumber() + depth) {
                next.add(w);
            }
        }
        synchronized (inFlight) {
            for (WalFile w : next) {
                inFlight.computeIfAbsent(w.name(), this::fetch);
            }
        }
    }

    private CompletableFuture<Path> fetch(String name) {
        Path target = dir.resolve("prefetch").resolve(name);
        return CompletableFuture.supplyAsync(() -> {
            if (!archive.get(name, target)) {
                throw new IllegalStateException(name + " vanished from " + archive + " while recovery was reading it");
            }
            return target;
        }, LogContext.propagating(fetchers));
    }

    private void mark(String kind, String name) throws IOException {
        Files.writeString(dir.resolve(kind).resolve(name), "");
    }

    @Override
    public void close() {
        closed = true;
        loop.interrupt();
        try {
            loop.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        fetchers.shutdownNow();
    }
}
