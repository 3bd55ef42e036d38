package dev.backstop.postgres.physical;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.Restore;
import dev.backstop.core.Stage;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.manifest.StoredObject;
import dev.backstop.postgres.PgTools;
import dev.backstop.postgres.internal.ReadAhead;
import dev.backstop.postgres.internal.RoleThreads;
import dev.backstop.postgres.wal.WalFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Restores an increment and its chain of parents into one data directory for {@link
 * PointInTimeRecovery}. The chain is resolved first, every manifest authenticated, so a missing
 * (expired) or untrusted parent fails before anything is written. The backups are then read
 * newest first: the newest gives every file it holds whole, the directories, the WAL, {@code
 * backup_label} and {@code backup_manifest}. The older ones are then read at the same time, on as
 * many threads as there are cores, for the pages of the relation files the newest holds as page
 * maps; each page lands from the newest backup that holds it, whatever order the reads reach it
 * in ({@link PageAssembly}); an older backup is not read at all if it can no longer give a page.
 * Every backup read is verified as it streams (digests, AEAD) and read to its end, and a failure
 * names it and stops the other reads. The rebuilt files are then checked against the newest {@code
 * backup_manifest}'s CRC-32Cs and by {@code pg_verifybackup}. All of it happens in a sibling
 * directory that is renamed to the target only when everything passed, so a failed restore never
 * leaves the target behind.
 */
final class ChainRestore {
    /** What an older backup's reader skips is read in pieces of this size. */
    private static final int SKIP_BUFFER = 1 << 16;

    private final Restore restore;
    private final Manifest newest;
    private final PgTools tools;
    private final RoleThreads threads;
    private final boolean directIo;

    ChainRestore(Restore restore, Manifest newest, PgTools tools, RoleThreads threads, boolean directIo) {
        this.restore = restore;
        this.newest = newest;
        this.tools = tools;
        this.threads = threads;
        this.directIo = directIo;
    }

    /**
     * The chain of {@code newest}, newest first, each manifest authenticated; fails naming the
     * first parent that is missing or does not belong (another cluster or timeline, a start LSN
     * other than its child was built on).
     */
    static List<Manifest> resolve(Restore restore, Manifest newest) {
        List<Manifest> chain = new ArrayList<>();
        Set<BackupId> seen = new HashSet<>();
        chain.add(newest);
        seen.add(newest.id());
        Manifest child = newest;
        while (child.parent().isPresent()) {
            BackupId id = child.parent().get();
            if (!seen.add(id)) {
                throw new IntegrityException(BaseBackupSource.STREAM, "chain of " + newest.id(), "a chain ending in a full backup",
                        "a loop through " + id, null, newest.id());
            }
            Manifest parent;
            try {
                parent = restore.manifest(id);
            } catch (BackupException e) {
                throw new BackupException(Stage.RESTORE, "backup " + newest.id() + " cannot be restored: its chain needs "
                        + id + " (the parent of " + child.id() + "), which is missing from the repository or cannot be trusted ("
                        + e.getMessage() + "); nothing was restored", e, false, id);
            }
            String from = child.attributes().get(ChainPlanner.FROM_LSN);
            String start = parent.consistency().properties().get(BaseBackupSource.START_LSN);
            String childSystem = child.consistency().properties().get(BaseBackupSource.SYSTEM_IDENTIFIER);
            String parentSystem = parent.consistency().properties().get(BaseBackupSource.SYSTEM_IDENTIFIER);
            boolean sameStart = from != null && start != null && WalFile.parseLsn(from) == WalFile.parseLsn(start);
            if (!sameStart || childSystem == null || !childSystem.equals(parentSystem)
                    || parent.object(BaseBackupSource.STREAM).isEmpty()) {
                throw new IntegrityException(BaseBackupSource.STREAM, "parent " + id + " of " + child.id(),
                        "a backup of system " + childSystem + " starting at " + from,
                        "a backup of system " + parentSystem + " starting at " + start, null, id);
            }
            chain.add(parent);
            child = parent;
        }
        return chain;
    }

    /** Restores the chain into {@code data}, which must not exist; returns the number of files written. */
    int restoreTo(Path data) {
        List<Manifest> chain = resolve(restore, newest);
        if (Files.exists(data)) {
            throw new BackupException(Stage.RESTORE, "restoring " + newest.id() + ": " + data + " exists; it must not exist yet",
                    null, false, newest.id());
        }
        Path staging = data.resolveSibling(data.getFileName() + ".backstop-restoring-"
                + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE));
        try {
            Files.createDirectory(staging, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new BackupException(Stage.RESTORE, "restoring " + newest.id() + ": could not create " + staging + ": " + e, e,
                    false, newest.id());
        }
        try {
            int files = assemble(chain, staging);
            Files.move(staging, data, StandardCopyOption.ATOMIC_MOVE);
            try (FileChannel dir = FileChannel.open(data.toAbsolutePath().getParent(), StandardOpenOption.READ)) {
                dir.force(true);
            }
            return files;
        } catch (IOException | RuntimeException e) {
            PointInTimeRecovery.deleteQuietly(staging);
            if (e instanceof BackupException be) {
                throw be;
            }
            throw new BackupException(Stage.RESTORE, "restoring the chain of " + newest.id() + " into " + data + " failed: "
                    + e.getMessage(), e, false, newest.id());
        }
    }

    private int assemble(List<Manifest> chain, Path root) throws IOException {
        Map<String, long[]> crcs = new ConcurrentHashMap<>();
        AtomicInteger files = new AtomicInteger();
        try (FileSyncer syncer = new FileSyncer(threads.named("backstop-fsync"))) {
            PageAssembly pages = new PageAssembly(root, (path, size, crc) -> {
                crcs.put(path, new long[] {size, crc});
                Path f = root.resolve(path);
                Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
                syncer.sync(f);
                files.incrementAndGet();
            });
            Manifest first = chain.get(0);
            try (InputStream in = open(first); PageAssembly.Reader reader = pages.reader(0)) {
                files.addAndGet(readNewest(in, root, pages, reader, crcs, syncer));
                expectSizes(root, pages, crcs.keySet());
                pages.finishedReading(0);
            } catch (IOException | RuntimeException e) {
                throw named(first, 0, chain.size(), e);
            }
            readOlder(chain, pages);
            if (pages.anyPending()) {
                Manifest oldest = chain.get(chain.size() - 1);
                throw new IntegrityException(BaseBackupSource.STREAM, "chain of " + newest.id(), "every page of every file",
                        "pages missing after the oldest backup " + oldest.id() + " was read: " + pages.missing(), null, oldest.id());
            }
            new BackupManifestCheck(newest, tools).verify(root, crcs);
            syncer.finish(root);
        }
        return files.get();
    }

    private InputStream open(Manifest m) {
        return ReadAhead.of(restore.open(m, BaseBackupSource.STREAM), 1 << 20, 16, threads.named("backstop-readahead-base-backup"));
    }

    /** Everything of the newest backup: directories and whole files as they are, page maps into the assembly. */
    private int readNewest(InputStream in, Path root, PageAssembly pages, PageAssembly.Reader reader, Map<String, long[]> crcs,
            FileSyncer syncer) throws IOException {
        TarArchiveInputStream tar = new TarArchiveInputStream(in);
        DirectFileWriter writer = new DirectFileWriter(root, directIo);
        int n = 0;
        TarArchiveEntry e;
        while ((e = tar.getNextEntry()) != null) {
            String name = e.getName();
            Path p = inside(root, name, e.isDirectory());
            String paged = e.isFile() ? PageMap.pathOf(name) : null;
            if (e.isDirectory()) {
                Files.createDirectories(p);
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
            } else if (paged != null) {
                inside(root, paged, false);
                pages.begin(paged);
                reader.pages(paged, PageMap.read(tar, name), tar, name);
            } else if (e.isFile()) {
                Files.createDirectories(p.getParent());
                java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
                long size = writer.write(p, tar, crc, e.getSize());
                crcs.put(name, new long[] {size, crc.getValue()});
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-------"));
                syncer.sync(p);
                n++;
            } else {
                throw new IOException("tar entry '" + name + "' is a link or special file; not supported");
            }
        }
        in.transferTo(OutputStream.nullOutputStream());
        return n;
    }

    /**
     * Reads the older backups of the chain at once, on as many threads as there are cores (at
     * most one per backup), the biggest first so that the longest read starts at once and the
     * smaller ones share the other threads; the assembly keeps each page from the newest backup
     * that holds it whatever order they land in. The first failure stops the other reads and is
     * thrown naming its backup; the staging directory is then deleted by the caller. Every thread
     * exists before any starts, so a read that fails at once cannot race the start of the others.
     */
    private void readOlder(List<Manifest> chain, PageAssembly pages) throws IOException {
        List<Integer> order = new ArrayList<>();
        for (int k = 1; k < chain.size(); k++) {
            order.add(k);
        }
        if (order.isEmpty()) {
            return;
        }
        order.sort(Comparator.comparingLong((Integer k) -> -plaintextSize(chain.get(k))).thenComparingInt(k -> k));
        Queue<Integer> todo = new ConcurrentLinkedQueue<>(order);
        int workers = Math.min(order.size(), Math.max(1, Runtime.getRuntime().availableProcessors()));
        AtomicReference<BackupException> failure = new AtomicReference<>();
        List<Thread> readers = new ArrayList<>(workers);
        ThreadFactory factory = threads.numbered("backstop-chain-read");
        for (int w = 0; w < workers; w++) {
            readers.add(factory.newThread(() -> {
                Integer k;
                while (failure.get() == null && (k = todo.poll()) != null) {
                    Manifest m = chain.get(k);
                    try {
                        if (pages.wantedBy(k)) {
                            try (InputStream in = open(m); PageAssembly.Reader reader = pages.reader(k)) {
                                readOlder(in, pages, reader);
                            }
                        }
                        pages.finishedReading(k);
                    } catch (IOException | RuntimeException e) {
                        if (failure.compareAndSet(null, named(m, k, chain.size(), e))) {
                            // the other reads stop at their next read
                            readers.stream().filter(t -> t != Thread.currentThread()).forEach(Thread::interrupt);
                        }
                        return;
                    }
                }
            }));
        }
        readers.forEach(Thread::start);
        boolean interrupted = false;
        for (Thread t : readers) {
            while (t.isAlive()) {
                try {
                    t.join();
                } catch (InterruptedException e) {
                    // stop the reads, but wait for them: the caller deletes the directory they write into
                    interrupted = true;
                    readers.forEach(Thread::interrupt);
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while restoring the chain of " + newest.id());
        }
        if (failure.get() != null) {
            throw failure.get();
        }
    }

    private static long plaintextSize(Manifest m) {
        return m.object(BaseBackupSource.STREAM).map(StoredObject::plaintextSize).orElse(0L);
    }

    /**
     * Of an older backup, only pages of files still being rebuilt; reads to the end, so the
     * object is verified whole. What is not taken is read through one buffer here: the tar
     * stream's own skip allocates a buffer per 8 KiB skipped, and most of an older backup is skipped.
     */
    private static void readOlder(InputStream in, PageAssembly pages, PageAssembly.Reader reader) throws IOException {
        TarArchiveInputStream tar = new TarArchiveInputStream(in);
        byte[] skipped = new byte[SKIP_BUFFER];
        TarArchiveEntry e;
        while ((e = tar.getNextEntry()) != null) {
            if (e.isFile()) {
                String name = e.getName();
                String paged = PageMap.pathOf(name);
                if (paged != null && pages.rebuilding(paged)) {
                    reader.pages(paged, PageMap.read(tar, name), tar, name);
                } else if (paged == null && pages.rebuilding(name)) {
                    reader.whole(name, e.getSize(), tar, name);
                }
                reader.finishCompleted();
            }
            while (tar.read(skipped, 0, skipped.length) >= 0) {
                // the rest of the entry, hashed and authenticated by the stream beneath
            }
        }
        while (in.read(skipped, 0, skipped.length) >= 0) {
            // the tar's end blocks and anything after them, so the object is verified whole
        }
    }

    /** Every file of the newest backup_manifest that the newest backup did not hold whole is rebuilt to its listed size. */
    private static void expectSizes(Path root, PageAssembly pages, Set<String> whole) throws IOException {
        Path manifestFile = root.resolve("backup_manifest");
        if (!Files.exists(manifestFile)) {
            throw new IOException("the newest backup holds no backup_manifest");
        }
        JsonNode files = new ObjectMapper().readTree(manifestFile.toFile()).path("Files");
        Set<String> listed = new HashSet<>();
        for (JsonNode f : files) {
            String path = f.path("Path").asText();
            listed.add(path);
            if (!whole.contains(path)) {
                inside(root, path, false);
                pages.expect(path, f.path("Size").asLong());
            }
        }
        for (String p : pages.paths()) {
            if (!listed.contains(p)) {
                throw new IOException("the backup holds pages of " + p + ", which its backup_manifest does not list");
            }
        }
    }

    private static Path inside(Path root, String name, boolean directory) throws IOException {
        Path p = root.resolve(name).normalize();
        if (!p.startsWith(root) || p.equals(root) && !directory) {
            throw new IOException("tar entry '" + name + "' points outside the data directory; refusing it");
        }
        return p;
    }

    /** A failure while reading backup {@code m}, the {@code k}-th of the chain (0 = newest), naming it. */
    private BackupException named(Manifest m, int k, int of, Exception e) {
        String where = "backup " + m.id() + " (" + (k + 1) + " of " + of + " in the chain of " + newest.id() + ", newest first)";
        if (e instanceof IntegrityException ie) {
            return new BackupException(Stage.RESTORE, where + " failed its integrity check: " + ie.getMessage()
                    + "; nothing was restored", ie, false, m.id());
        }
        if (e instanceof BackupException be) {
            return new BackupException(Stage.RESTORE, where + " could not be read: " + be.getMessage() + "; nothing was restored",
                    be, be.retryable(), m.id());
        }
        return new BackupException(Stage.RESTORE, where + " could not be restored: " + e.getMessage() + "; nothing was restored",
                e, false, m.id());
    }
}
