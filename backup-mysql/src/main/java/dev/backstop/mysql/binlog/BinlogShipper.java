package dev.backstop.mysql.binlog;

import dev.backstop.core.log.LogFile;
import dev.backstop.mysql.MariaDbEndpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The archive side of a {@link BinlogReceiver}: where the tool resumes (checked against what the
 * server still has), and shipping the spool directory (completed files whole, the active one as
 * deltas), keeping the position reached and whether a tool is receiving for {@link
 * BinlogReceiver#rpo()}. The receiver supervises the tool process; this class never sees it.
 *
 * <p><b>Threading.</b> Called by the receiver's supervising thread only ({@link #started()} before
 * that thread starts); the volatile positions are read from any thread.
 */
final class BinlogShipper {
    private static final Logger LOG = LoggerFactory.getLogger(BinlogReceiver.class);
    private final MariaDbEndpoint endpoint;
    private final BinlogArchive archive;
    private final Path spool;
    private final String startFile;
    private final Clock clock;
    private final boolean deltas;
    private final boolean acceptGaps;
    /** Where a gap gone past is reported: the receiver's {@link BinlogReceiver#lastFailure()}. */
    private final Consumer<String> report;
    volatile String archivedFile;
    private volatile long archivedPosition;
    private volatile Instant archivedAt;
    private volatile String localFile;
    private volatile long localPosition;
    private volatile long pendingCompleted;
    private volatile BinlogGap gap;
    private volatile Instant startedAt;
    /** Since when no tool has been receiving; null while one is. */
    private volatile Instant downSince;
    /** The base name of the files received, once known. */
    private volatile String followed;
    /** The active file whose delta run {@link #deltaEnd} is; touched by the supervising thread only. */
    private String deltaFile;
    private long deltaEnd;

    BinlogShipper(MariaDbEndpoint endpoint, BinlogArchive archive, Path spool, String startFile, Clock clock,
                  boolean deltas, boolean acceptGaps, Consumer<String> report) {
        this.endpoint = endpoint;
        this.archive = archive;
        this.spool = spool;
        this.startFile = startFile;
        this.clock = clock;
        this.deltas = deltas;
        this.acceptGaps = acceptGaps;
        this.report = report;
    }

    /** The receiver started: no tool receives yet, and the lag counts from now. */
    void started() {
        startedAt = clock.instant();
        downSince = startedAt;
    }

    /** A tool is receiving. */
    void receiving() {
        downSince = null;
    }

    /** No tool is receiving (it exited, or the receiver stops); the time it went down first is kept. */
    void down() {
        if (downSince == null) {
            downSince = clock.instant();
        }
    }

    /** The gap found when resuming, or null while the archive is continuous. */
    BinlogGap gap() {
        return gap;
    }

    /** The base name of the files received, or null before the first {@link #resumeFile()}. */
    String followed() {
        return followed;
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
        long lagBytes = unarchived + pendingCompleted;
        Instant down = downSince;
        Instant since = lagBytes > 0 ? (at != null ? at : startedAt) : down;
        return new BinlogRpo(archived, position, active, local, lagBytes,
                since == null ? Duration.ZERO : Duration.between(since, now).abs(), restarts, now);
    }

    /**
     * The file after the newest archived one of the start's base name; else the start file, else
     * the server's oldest; checked against what the server has. A server of another id, or one
     * that no longer has the file needed (purged) or never had it (reset, another server), stops
     * the receiver ({@link Stopped}); with {@link BinlogReceiver.Builder#acceptGaps()} a purged file
     * is recorded as the {@link #gap()} and receiving goes on from the server's oldest file of that
     * base name.
     */
    String resumeFile() {
        ServerBinlogs server = ServerBinlogs.read(endpoint);
        if (server.serverId() != archive.serverId()) {
            throw new Stopped("refusing the binlogs of " + endpoint + ": it is server id " + server.serverId() + ", the archive "
                    + archive.stream() + " holds server id " + archive.serverId() + " (a binlog of another server)");
        }
        String first = startFile != null ? startFile : server.oldest();
        String base = BinlogArchive.file(first).epoch();
        followed = base;
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
        String needed = last == null ? first : BinlogArchive.next(last);
        if (server.has(needed)) {
            return needed;
        }
        String oldest = server.oldestOf(base);
        String newest = server.newestOf(base);
        long n = BinlogArchive.file(needed).start();
        if (newest == null || BinlogArchive.file(newest).start() < n) {
            throw new Stopped("the archive needs " + needed + " next, but " + endpoint + " has " + (newest == null
                    ? "no binlog of base name " + base + " (its binlogs: " + server.files() + "; log_bin_basename changed?)"
                    : "binlogs of base name " + base + " up to " + newest + " only (RESET MASTER, or another server)"));
        }
        BinlogGap g = new BinlogGap(needed, oldest, last == null ? null : archive.continuousFrom(base).orElse(null), last,
                clock.instant());
        gap = g;
        if (!acceptGaps) {
            throw new Stopped("binlog gap: " + g);
        }
        report.accept("binlog gap, receiving on from " + oldest + ": " + g);
        dropSpooledBefore(oldest);
        return oldest;
    }

    /**
     * Deletes spooled files of {@code from}'s base name numbered before it: the tool will not
     * complete them (a partial copy of a purged file), so they must not be archived as whole files.
     */
    private void dropSpooledBefore(String from) {
        LogFile start = BinlogArchive.file(from);
        try {
            for (Path p : spooled()) {
                LogFile f = BinlogArchive.file(p.getFileName().toString());
                if (f.epoch().equals(start.epoch()) && f.start() < start.start()) {
                    Files.delete(p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not clear the spool " + spool + " of files before " + from, e);
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
            LOG.atDebug().addKeyValue("event", "binlog.archived").addKeyValue("file", name).addKeyValue("bytes", size)
                    .log("binlog {} archived", name);
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
        LOG.atDebug().addKeyValue("event", "binlog.delta").addKeyValue("file", name).addKeyValue("from", from)
                .addKeyValue("to", size).log("binlog delta of {} shipped up to {}", name, size);
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

    /**
     * A state the receiver must not go on from by itself: it stops, and {@link
     * BinlogReceiver#lastFailure()} says why.
     */
    private static final class Stopped extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Stopped(String message) {
            super(message);
        }
    }
}
