package dev.backstop.mysql.binlog;

import dev.backstop.core.BackupException;
import dev.backstop.core.Stage;
import dev.backstop.core.log.LogFile;
import dev.backstop.mysql.MariaDbEndpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The archive side of a {@link BinlogReceiver}: where the tool resumes, and shipping the spool
 * directory (completed files whole, the active one as deltas), keeping the position reached for
 * {@link BinlogReceiver#rpo()}. The receiver supervises the tool process; this class never sees it.
 *
 * <p><b>Threading.</b> Called by the receiver's supervising thread only; the volatile positions
 * are read from any thread.
 */
final class BinlogShipper {
    private final MariaDbEndpoint endpoint;
    private final BinlogArchive archive;
    private final Path spool;
    private final String startFile;
    private final Clock clock;
    private final boolean deltas;
    volatile String archivedFile;
    private volatile long archivedPosition;
    private volatile Instant archivedAt;
    private volatile String localFile;
    private volatile long localPosition;
    private volatile long pendingCompleted;
    /** The active file whose delta run {@link #deltaEnd} is; touched by the supervising thread only. */
    private String deltaFile;
    private long deltaEnd;

    BinlogShipper(MariaDbEndpoint endpoint, BinlogArchive archive, Path spool, String startFile, Clock clock,
                  boolean deltas) {
        this.endpoint = endpoint;
        this.archive = archive;
        this.spool = spool;
        this.startFile = startFile;
        this.clock = clock;
        this.deltas = deltas;
    }

    /** Where the archive and the local spool stand now, with the tool's {@code restarts}. */
    BinlogRpo rpo(int restarts) {
        Instant now = clock.instant();
        Instant at = archivedAt;
        String archived = archivedFile;
        long position = archivedPosition;
        String active = localFile;
        long local = localPosition;
        long unarchived = active != null && active.equals(archived) ? Math.max(0, local - position) : local;
        return new BinlogRpo(archived, position, active, local, unarchived + pendingCompleted,
                at == null ? Duration.ZERO : Duration.between(at, now), restarts, now);
    }

    /** The file after the newest archived one of the start's base name; else the start file, else the server's oldest. */
    String resumeFile() {
        String first = startFile != null ? startFile : serverOldest();
        String base = BinlogArchive.file(first).epoch();
        String last = null;
        for (String f : archive.files()) {
            if (BinlogArchive.file(f).epoch().equals(base)) {
                last = f;
            }
        }
        if (last != null && archivedFile == null) {
            archivedFile = last;
            archivedPosition = archive.metadata(last).map(m -> m.plaintextSize()).orElse(0L);
        }
        return last == null ? first : BinlogArchive.next(last);
    }

    private String serverOldest() {
        try (Connection c = endpoint.connect(null); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SHOW BINARY LOGS")) {
            if (!rs.next()) {
                throw new BackupException(Stage.CAPTURE, "SHOW BINARY LOGS on " + endpoint + " returned no file: is log_bin on?",
                        null);
            }
            return rs.getString(1);
        } catch (SQLException e) {
            throw new BackupException(Stage.CAPTURE, "could not list the binlogs of " + endpoint + ": " + e.getMessage(), e);
        }
    }

    /** Archives every spooled file but the newest (which the tool is still writing), oldest first. */
    void archiveCompleted() throws IOException {
        List<Path> files = spooled();
        long pending = 0;
        for (int i = 0; i < files.size() - 1; i++) {
            pending += Files.size(files.get(i));
        }
        pendingCompleted = pending;
        for (int i = 0; i < files.size() - 1; i++) {
            Path f = files.get(i);
            String name = f.getFileName().toString();
            long size = Files.size(f);
            archive.put(f, name);
            archive.deleteDeltas(name);
            Files.delete(f);
            deltaFile = null;
            archivedFile = name;
            archivedPosition = size;
            archivedAt = clock.instant();
            pendingCompleted = Math.max(0, pendingCompleted - size);
        }
        if (files.isEmpty()) {
            localFile = null;
            localPosition = 0;
        } else {
            Path active = files.get(files.size() - 1);
            String name = active.getFileName().toString();
            long size = Files.size(active);
            localFile = name;
            localPosition = size;
            if (deltas) {
                shipDelta(active, name, size);
            }
        }
    }

    /**
     * Archives the bytes of the active file received since its last delta. The resume point comes
     * from the archive's listing once per file, so a restarted receiver (whose tool rewrites the
     * file from offset 0 with the same bytes) continues the run instead of repeating it.
     */
    private void shipDelta(Path active, String name, long size) {
        if (!name.equals(deltaFile)) {
            deltaFile = name;
            deltaEnd = archive.deltaEnd(name);
        }
        long from = deltaEnd;
        if (size <= from || from == 0 && size < BinlogArchive.MAGIC.length + BinlogArchive.EVENT_HEADER) {
            return;
        }
        archive.putDelta(name, from, size, active);
        deltaEnd = size;
        archivedFile = name;
        archivedPosition = size;
        archivedAt = clock.instant();
    }

    private List<Path> spooled() throws IOException {
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(spool)) {
            s.filter(p -> isBinlogName(p.getFileName().toString()) && Files.isRegularFile(p)).forEach(out::add);
        }
        out.sort(Comparator.comparing((Path p) -> BinlogArchive.file(p.getFileName().toString()).epoch())
                .thenComparingLong(p -> BinlogArchive.file(p.getFileName().toString()).start()));
        return out;
    }

    private static boolean isBinlogName(String name) {
        try {
            LogFile ignored = BinlogArchive.file(name);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
