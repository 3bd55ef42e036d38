package dev.backstop.postgres.physical;

import dev.backstop.core.BackupId;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureFailedException;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.postgres.wal.WalFile;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Decides what a physical backup builds on: the parent of a {@code diff} is the newest full
 * backup, of an {@code incr} the newest backup of any level, both among the repository's
 * physical backups that store their {@code backup_manifest} beside the tar ({@link
 * DataDirectorySource} and {@link BaseBackupSource} backups alike: their increments share one
 * page rule and format, so a chain may mix them) read from the same server ({@code host:port});
 * an explicit parent must be one of them. A
 * backup whose chain would grow past the limit, or that has nothing to build on, is taken full
 * and says why. A parent of another cluster or timeline is refused, naming both.
 */
final class ChainPlanner {
    static final String LEVEL = "postgresql.backup_level";
    static final String CHAIN_LENGTH = "postgresql.chain_length";
    static final String FROM_LSN = "postgresql.increment_from_lsn";
    static final String LEVEL_REASON = "postgresql.backup_level_reason";
    static final String HINTS_LOGGED = "postgresql.hint_bits_logged";
    /** The stream holding a copy of the tar's {@code backup_manifest}: what a child backup reads of its parent. */
    static final String MANIFEST_STREAM = "backup_manifest";

    private ChainPlanner() {
    }

    /**
     * What to take. {@code parent} is null for a full backup; {@code chainLength} counts the
     * backups a restore reads, this one included; {@code reason} says why this level.
     */
    record Plan(BackupLevel level, Manifest parent, int chainLength, String reason) {
        /** The parent's start LSN: pages at or after it are copied. */
        long threshold() {
            return WalFile.parseLsn(parent.consistency().properties().get(BaseBackupSource.START_LSN));
        }
    }

    /**
     * Plans a backup of {@code level} of the cluster {@code systemId} on {@code timeline}, given
     * the repository's manifests {@code all}, an explicit {@code parent} (or null) and the chain
     * limit; throws naming the parent when it cannot be built on.
     */
    static Plan plan(List<Manifest> all, BackupLevel level, BackupId parent, int maxChainLength, String systemId, int timeline,
            String server) throws CaptureFailedException {
        if (level == BackupLevel.FULL) {
            return new Plan(BackupLevel.FULL, null, 1, "full backup requested");
        }
        Optional<Manifest> candidate = candidate(all, level, parent, server);
        if (candidate.isEmpty()) {
            return new Plan(BackupLevel.FULL, null, 1, "no earlier " + (level == BackupLevel.DIFF ? "full " : "")
                    + "physical backup of this server to build a " + level.label() + " backup on");
        }
        Manifest p = candidate.get();
        String parentSystem = p.consistency().properties().get(BaseBackupSource.SYSTEM_IDENTIFIER);
        if (!systemId.equals(parentSystem)) {
            throw new CaptureFailedException("the parent " + p.id() + " is a backup of the cluster with system identifier "
                    + parentSystem + ", this cluster's is " + systemId + "; take a full backup (level FULL) to start a chain",
                    null, null, null);
        }
        String parentTimeline = p.consistency().properties().get(BaseBackupSource.TIMELINE);
        if (!Integer.toString(timeline).equals(parentTimeline)) {
            throw new CaptureFailedException("the parent " + p.id() + " was taken on timeline " + parentTimeline
                    + ", the cluster is on timeline " + timeline + "; take a full backup (level FULL) to start a chain",
                    null, null, null);
        }
        if (!server.equals(serverOf(p))) {
            throw new CaptureFailedException("the parent " + p.id() + " was taken from the server at " + serverOf(p)
                    + ", this backup reads the one at " + server + "; a standby's pages differ from its primary's in "
                    + "unlogged hint bits, so a chain stays on one server", null, null, null);
        }
        if (!"true".equals(p.attributes().get(HINTS_LOGGED))) {
            if (parent != null) {
                throw new CaptureFailedException("the parent " + p.id() + " was taken while neither data checksums nor "
                        + "wal_log_hints were on, so hint-bit changes since then are invisible to page LSNs", null, null, null);
            }
            return new Plan(BackupLevel.FULL, null, 1, "the newest backup " + p.id()
                    + " was taken without data checksums or wal_log_hints");
        }
        int chain = (level == BackupLevel.DIFF ? 1 : chainLength(p)) + 1;
        if (chain > maxChainLength) {
            return new Plan(BackupLevel.FULL, null, 1, "a " + level.label() + " backup on " + p.id() + " would make a chain of "
                    + chain + " backups, longer than the limit of " + maxChainLength);
        }
        return new Plan(level, p, chain, parent != null ? "parent " + p.id() + " given" : "parent " + p.id()
                + (level == BackupLevel.DIFF ? ", the newest full backup" : ", the newest backup"));
    }

    /**
     * The backup an increment of {@code level} (not full) builds on by the rule above, before the
     * cluster is checked against it: {@code parent} if given (refused if missing, not built on by
     * increments, or not full for a diff), else the newest usable backup of {@code server}; empty
     * when there is none.
     */
    static Optional<Manifest> candidate(List<Manifest> all, BackupLevel level, BackupId parent, String server)
            throws CaptureFailedException {
        if (parent == null) {
            // backups of the same cluster from another server (a standby) are never built on
            return all.stream().filter(ChainPlanner::usable).filter(m -> server.equals(serverOf(m)))
                    .filter(m -> level == BackupLevel.INCR || levelOf(m) == BackupLevel.FULL)
                    .max(Comparator.comparing(Manifest::startedAt).thenComparing(m -> m.id().value()));
        }
        Manifest p = all.stream().filter(m -> m.id().equals(parent)).findFirst().orElseThrow(() -> new CaptureFailedException(
                "the parent " + parent + " of this " + level.label() + " backup is not in the repository (expired or never taken)",
                null, null, null));
        if (!usable(p)) {
            throw new CaptureFailedException("the parent " + parent + " of this " + level.label() + " backup has no '"
                    + MANIFEST_STREAM + "' object beside its tar (it is not a physical backup of DataDirectorySource or "
                    + "BaseBackupSource), so no increment can build on it", null, null, null);
        }
        if (level == BackupLevel.DIFF && levelOf(p) != BackupLevel.FULL) {
            throw new CaptureFailedException("the parent " + parent + " of a diff backup must be a full backup; it is "
                    + levelOf(p).label(), null, null, null);
        }
        return Optional.of(p);
    }

    /** Whether {@code m} can be a parent: a physical backup with its backup_manifest stored beside the tar. */
    static boolean usable(Manifest m) {
        return m.type() == BackupType.PHYSICAL && m.object(MANIFEST_STREAM).isPresent() && m.attributes().containsKey(LEVEL)
                && m.object(BaseBackupSource.STREAM).isPresent();
    }

    /** The {@code host:port} a backup was read from, as {@link PhysicalFacts} records it. */
    static String serverOf(Manifest m) {
        return m.source().attributes().get("host");
    }

    static BackupLevel levelOf(Manifest m) {
        String l = m.attributes().get(LEVEL);
        return l == null ? BackupLevel.FULL : BackupLevel.ofLabel(l);
    }

    static int chainLength(Manifest m) {
        String n = m.attributes().get(CHAIN_LENGTH);
        return n == null ? 1 : Integer.parseInt(n);
    }
}
