package dev.backstop.mysql.recovery;

import dev.backstop.core.BackupException;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.Stage;
import dev.backstop.core.StorageException;
import dev.backstop.core.log.LogFile;
import dev.backstop.core.log.LogGap;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.mysql.binlog.BinlogArchive;
import dev.backstop.mysql.physical.BinlogPoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fetches the binlog files a recovery needs, verified, into a private directory, one after the
 * other from the backup's file, and scans each for its transactions until the target is found:
 * the result is the list of files and the exact start and stop positions of one replay. Touches
 * no server. Used once.
 */
final class ReplayPlanner {
    private final BinlogArchive archive;
    private final Manifest m;
    private final RecoveryTarget target;
    private final Path dir;
    private final BinlogPoint from;
    private final LogFile startFile;
    private final Map<Long, Gtid> state = new HashMap<>();
    private final List<Path> files = new ArrayList<>();
    private final List<Long> stops = new ArrayList<>();
    private final Map<Long, Gtid> beforeStart = new HashMap<>();
    private String current;
    private boolean inStart;
    private long stop;
    private boolean resolved;
    private long transactions;
    private long lastCommit = -1;
    private boolean startInsideGroup;
    private Gtid lastBeforeStart;
    private long lastBeforeStartTime = -1;
    private long bytes;

    ReplayPlanner(BinlogArchive archive, Manifest m, RecoveryTarget target, Path dir) {
        this.archive = archive;
        this.m = m;
        this.target = target;
        this.dir = dir;
        try {
            this.from = BinlogPoint.of(m.consistency());
            this.startFile = BinlogArchive.file(from.file());
        } catch (IllegalArgumentException e) {
            throw refuse("backup " + m.id() + " records no binlog point to replay from: " + e.getMessage(), e);
        }
    }

    /** The start point the backup recorded. */
    BinlogPoint from() {
        return from;
    }

    /** Fetches and resolves; throws a {@link BackupException} naming the missing file or unreached target. */
    BinlogReplay.Plan plan() throws IOException {
        checkServer();
        checkTargetAfterBackup();
        precheckListing();
        Map<Long, Gtid> backupGtid = Gtid.parsePosition(from.gtid());
        state.putAll(backupGtid);
        String name = from.file();
        do {
            Path local = dir.resolve(name);
            Fetched fetched = fetch(name, local);
            if (fetched.length() < 0) {
                endOfArchive(name);
                break;
            }
            bytes += fetched.length();
            current = name;
            inStart = name.equals(from.file());
            stop = inStart ? from.position() : -1;
            BinlogScan.Result r = BinlogScan.scan(local, name, inStart ? from.position() : 4, this::accept);
            if (r.serverId() != archive.serverId()) {
                throw new IntegrityException(archive.stream() + "/" + name, "archived binlog " + name, "server id " + archive.serverId(),
                        "server id " + r.serverId(), null, m.id());
            }
            if (inStart) {
                checkStart(r, backupGtid);
            }
            files.add(local);
            stops.add(stop);
            if (!resolved && target instanceof RecoveryTarget.AtPosition p && p.file().equals(name)) {
                if (r.eventsEnd() < p.position()) {
                    throw notReached("the archive holds " + name + " up to byte " + r.eventsEnd() + ", before the target " + target
                            + (fetched.whole() ? "" : " (the rest of the file is not archived yet)"));
                }
                resolved = true;
            }
            if (!resolved && !fetched.whole()) {
                // a prefix of the file being written: nothing after it is archived yet. Asked of the copy
                // fetched, not of the archive, which a running receiver may have completed meanwhile: going
                // on to the next file after a prefix would skip the rest of this one
                endOfArchive(BinlogArchive.next(name));
                break;
            }
            name = BinlogArchive.next(name);
        } while (!resolved);
        trimUnused();
        Instant last = lastCommit < 0 ? null : Instant.ofEpochSecond(lastCommit);
        String lastFile = files.isEmpty() ? from.file() : files.get(files.size() - 1).getFileName().toString();
        long lastStop = stops.isEmpty() ? from.position() : stops.get(stops.size() - 1);
        BinlogPoint reached = new BinlogPoint(lastFile, Math.max(4, lastStop), Gtid.format(state));
        return new BinlogReplay.Plan(from, reached, List.copyOf(files), transactions, last, bytes);
    }

    private boolean accept(BinlogScan.Group g) {
        if (inStart && g.end() <= from.position()) {
            beforeStart.put(g.gtid().domain(), g.gtid());
            lastBeforeStart = g.gtid();
            lastBeforeStartTime = g.timestamp();
            return true;
        }
        if (inStart && g.start() < from.position()) {
            startInsideGroup = true;
            return false;
        }
        if (resolved) {
            return false; // the target is the backup's own point
        }
        if (target instanceof RecoveryTarget.BeforeTime t && g.timestamp() >= t.time().getEpochSecond()) {
            resolved = true;
            return false;
        }
        if (target instanceof RecoveryTarget.AtPosition p && p.file().equals(current) && g.end() > p.position()) {
            resolved = true;
            return false;
        }
        state.put(g.gtid().domain(), g.gtid());
        transactions++;
        lastCommit = g.timestamp();
        stop = g.end();
        if (target instanceof RecoveryTarget.AtGtid t && g.gtid().equals(t.gtid())) {
            resolved = true;
            return false;
        }
        return true;
    }

    /** The archive's server must be the backup's: by server id, then by the start file's content. */
    private void checkServer() {
        String id = m.consistency().properties().get("server_id");
        if (id == null || !id.equals(Long.toString(archive.serverId()))) {
            throw refuse("binlog archive " + archive.stream() + " holds the binlogs of server id " + archive.serverId()
                    + ", but backup " + m.id() + " was taken on server id " + id + ": it belongs to another server", null);
        }
    }

    private void checkTargetAfterBackup() {
        if (target instanceof RecoveryTarget.AtPosition p) {
            LogFile f = BinlogArchive.file(p.file());
            if (!f.epoch().equals(startFile.epoch())) {
                throw refuse("target " + target + " is in binlog series '" + f.epoch() + "', but backup " + m.id()
                        + " starts in " + from.file() + " of series '" + startFile.epoch() + "'", null);
            }
            if (f.start() < startFile.start() || f.start() == startFile.start() && p.position() < from.position()) {
                throw refuse("target " + target + " is before backup " + m.id() + "'s point " + from.file() + ":" + from.position()
                        + "; recover from an older backup", null);
            }
        } else if (target instanceof RecoveryTarget.AtGtid t) {
            Gtid at = Gtid.parsePosition(from.gtid()).get(t.gtid().domain());
            if (at != null && Long.compareUnsigned(at.sequence(), t.gtid().sequence()) > 0) {
                throw refuse("target " + target + " is before backup " + m.id() + "'s point (GTID " + from.gtid()
                        + "); recover from an older backup", null);
            }
            if (t.gtid().equals(at)) {
                resolved = true; // the backup's own point: its start file is still fetched for the checks
            }
        }
    }

    /** Refuses, from the listing alone, a start file or a file up to a positional target that is missing. */
    private void precheckListing() {
        if (!archive.contains(from.file()) && archive.deltaEnd(from.file()) <= 0) {
            List<String> all = archive.files();
            throw notReached("binlog " + from.file() + " (backup " + m.id() + "'s point " + from.file() + ":" + from.position()
                    + ") is not in archive " + archive.stream() + (all.isEmpty() ? ", which is empty"
                    : "; it holds " + all.get(0) + " to " + all.get(all.size() - 1)));
        }
        long until = target instanceof RecoveryTarget.AtPosition p ? BinlogArchive.file(p.file()).start()
                : target instanceof RecoveryTarget.Latest ? Long.MAX_VALUE : -1;
        for (LogGap g : archive.gaps()) {
            if (g.after().epoch().equals(startFile.epoch()) && g.end() > startFile.start() && g.start() <= until) {
                throw notReached("binlog " + missingName(g.after().name(), g.start()) + " is missing from archive " + archive.stream()
                        + " (" + g + "): the binlogs from backup " + m.id() + "'s point to the target " + target
                        + " are not all archived");
            }
        }
    }

    /** A fetched copy: its length (-1 if nothing of the file is archived), and whether it is the whole file. */
    private record Fetched(long length, boolean whole) {
    }

    /**
     * Fetches {@code name} whole, else its archived prefix. A receiver running meanwhile may archive
     * the file whole and delete its deltas between the two reads: then the whole file is fetched.
     */
    private Fetched fetch(String name, Path local) {
        for (int attempt = 1; ; attempt++) {
            if (archive.get(name, local)) {
                try {
                    return new Fetched(Files.size(local), true);
                } catch (IOException e) {
                    throw new BackupException(Stage.RESTORE, "could not read the fetched " + local + ": " + e, e, false, m.id());
                }
            }
            long end;
            try {
                end = archive.getPrefix(name, local);
            } catch (StorageException e) {
                if (attempt == 1 && archive.contains(name)) {
                    continue; // a delta being read was deleted: the file is archived whole now
                }
                throw e;
            }
            if (end < 0 && attempt == 1 && archive.contains(name)) {
                continue;
            }
            return new Fetched(end, false);
        }
    }

    /** {@code next} is not archived: the end of the archive, or a gap if a later file of the series is. */
    private void endOfArchive(String next) {
        long n = BinlogArchive.file(next).start();
        for (LogFile f : archive.logs().restorable()) {
            if (f.epoch().equals(startFile.epoch()) && f.start() > n) {
                throw notReached("binlog " + next + " is missing from archive " + archive.stream() + " (the archive holds " + f.name()
                        + " after it): the binlogs to the target " + target + " are not all archived");
            }
        }
        if (target instanceof RecoveryTarget.Latest) {
            resolved = true;
            return;
        }
        if (!resolved) {
            String last = files.isEmpty() ? from.file() : files.get(files.size() - 1).getFileName().toString();
            throw notReached("the archive ends in " + last + " (GTID position " + Gtid.format(state)
                    + (lastCommit < 0 ? "" : ", last transaction stamped " + Instant.ofEpochSecond(lastCommit)) + ") before the target "
                    + target + "; recover to an archived point, or wait until the binlogs up to it are archived");
        }
    }

    private void checkStart(BinlogScan.Result r, Map<Long, Gtid> backupGtid) {
        String where = from.file() + ":" + from.position();
        if (r.eventsEnd() < from.position()) {
            throw refuse("the archived " + from.file() + " holds " + r.eventsEnd() + " bytes, but backup " + m.id()
                    + " starts at " + where + ": the archive is not of the backup's server history", null);
        }
        if (!r.boundary() || startInsideGroup) {
            throw refuse("backup " + m.id() + "'s point " + where + " falls inside an event or transaction of the archived "
                    + from.file() + ": the archive is not of the backup's server history", null);
        }
        if (!backupGtid.isEmpty()) {
            Map<Long, Gtid> listed = new LinkedHashMap<>();
            r.gtidList().forEach(g -> listed.put(g.domain(), g));
            Map<Long, Gtid> actual = new HashMap<>(listed);
            actual.putAll(beforeStart);
            for (Gtid expected : backupGtid.values()) {
                Gtid found = actual.get(expected.domain());
                boolean listedOnly = !beforeStart.containsKey(expected.domain()) && r.gtidList().contains(expected);
                if (!expected.equals(found) && !listedOnly) {
                    throw refuse("backup " + m.id() + " records GTID position " + from.gtid() + " at " + where + ", but the archived "
                            + from.file() + " is at " + (found == null ? "no GTID of domain " + expected.domain() : found)
                            + " there: the archive is not of the backup's server history", null);
                }
            }
        }
        if (target instanceof RecoveryTarget.BeforeTime t && lastBeforeStartTime >= t.time().getEpochSecond()) {
            throw refuse("backup " + m.id() + " already holds transaction " + lastBeforeStart + " stamped "
                    + Instant.ofEpochSecond(lastBeforeStartTime) + ", not before the target " + target
                    + "; recover from an older backup", null);
        }
    }

    /** Drops trailing files that contribute no transaction (the start file stays for its checks). */
    private void trimUnused() {
        while (files.size() > 1 && stops.get(stops.size() - 1) < 0) {
            files.remove(files.size() - 1);
            stops.remove(stops.size() - 1);
        }
    }

    /** The stop position of each file in {@link BinlogReplay.Plan#files()}: -1 for none of it. */
    List<Long> stops() {
        return List.copyOf(stops);
    }

    private static String missingName(String after, long number) {
        String name = BinlogArchive.next(after);
        while (BinlogArchive.file(name).start() < number) {
            name = BinlogArchive.next(name);
        }
        return name;
    }

    private TargetNotReachedException notReached(String message) {
        return new TargetNotReachedException(message, m.id());
    }

    private BackupException refuse(String message, Throwable cause) {
        return new BackupException(Stage.RESTORE, message, cause, false, m.id());
    }
}
