package dev.backstop.postgres.physical;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.backstop.core.BackupId;
import dev.backstop.core.CaptureFailedException;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.Restore;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.wal.WalFile;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The part of a physical backup that depends on its level, shared by {@link DataDirectorySource}
 * and {@link BaseBackupSource} so that their increments follow one rule and one format: before
 * the backup starts, the server's settings are checked and the parent planned and read (its
 * {@code backup_manifest}, for the size of each file it holds); during the copy it tells which
 * files go page by page and copies their pages (from the data directory or from a stream); at
 * the end it adds the level, chain and parent to the result.
 */
final class Increment {
    private final ChainPlanner.Plan plan;
    private final boolean hintsLogged;
    private final Map<String, Long> parentSizes;
    private final PageCopier copier;
    private StreamPageCopier streamed;

    private Increment(ChainPlanner.Plan plan, boolean hintsLogged, Map<String, Long> parentSizes) {
        this.plan = plan;
        this.hintsLogged = hintsLogged;
        this.parentSizes = parentSizes;
        this.copier = plan.parent() == null ? null : new PageCopier(plan.threshold());
    }

    /**
     * Starts reading, through {@code parents}, what a backup of {@code level} from {@code endpoint}
     * builds on, for {@link #prepare}; null for a full backup, which reads nothing.
     */
    static ParentRead readParent(PgEndpoint endpoint, BackupLevel level, BackupId parent, Restore parents) {
        return level == BackupLevel.FULL ? null : ParentRead.start(level, parent, parents, server(endpoint));
    }

    /**
     * Checks the server and plans the backup on connection {@code c}; for an increment, takes the
     * parent and its {@code backup_manifest}'s file sizes from {@code read} (from {@link
     * #readParent}, null for a full backup), which the caller closes.
     */
    static Increment prepare(Connection c, PgEndpoint endpoint, String systemId, BackupLevel level, BackupId parent,
            int maxChainLength, ParentRead read) throws SQLException, IOException {
        boolean hints;
        int blockSize;
        int timeline;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT current_setting('data_checksums'), "
                + "current_setting('wal_log_hints'), current_setting('block_size'), "
                + "(SELECT timeline_id FROM pg_catalog.pg_control_checkpoint())")) {
            rs.next();
            hints = "on".equals(rs.getString(1)) || "on".equals(rs.getString(2));
            blockSize = Integer.parseInt(rs.getString(3));
            timeline = rs.getInt(4);
        }
        if (level == BackupLevel.FULL) {
            return new Increment(ChainPlanner.plan(List.of(), level, null, maxChainLength, systemId, timeline, ""), hints, Map.of());
        }
        ParentRead parentRead = Objects.requireNonNull(read, "read");
        if (!hints) {
            throw new CaptureFailedException("cluster at " + endpoint + " has neither data checksums nor wal_log_hints on: a "
                    + level.label() + " backup cannot tell pages changed only by hint bits; set wal_log_hints = on (a restart), "
                    + "or take full backups", null, null, null);
        }
        if (blockSize != PageFilter.PAGE) {
            throw new CaptureFailedException("cluster at " + endpoint + " has a block size of " + blockSize + " bytes; "
                    + level.label() + " backups need " + PageFilter.PAGE, null, null, null);
        }
        ParentRead.Result got = parentRead.await();
        ChainPlanner.Plan plan = ChainPlanner.plan(got.all(), level, parent, maxChainLength, systemId, timeline, server(endpoint));
        if (plan.parent() == null) {
            return new Increment(plan, hints, Map.of());
        }
        // the same rule picked it from the same list; what was read of it was authenticated first
        Manifest admitted = got.parentOrThrow();
        if (admitted == null || !plan.parent().id().equals(admitted.id())) {
            throw new IllegalStateException("planned parent " + plan.parent().id() + " is not the one read: " + admitted);
        }
        ChainPlanner.Plan checked = new ChainPlanner.Plan(plan.level(), admitted, plan.chainLength(), plan.reason());
        return new Increment(checked, hints, got.sizes());
    }

    private static String server(PgEndpoint endpoint) {
        return endpoint.host() + ":" + endpoint.port();
    }

    /**
     * Path to size of every file the parent's backup_manifest lists: read as a stream of tokens,
     * without a tree of the whole manifest, since only two fields of each file are needed.
     */
    static Map<String, Long> readSizes(Restore parents, Manifest parent) throws IOException {
        try (InputStream in = parents.open(parent, ChainPlanner.MANIFEST_STREAM)) {
            return sizes(in);
        }
    }

    /** The {@code Path} and {@code Size} of each object of the top-level {@code Files} array of a backup_manifest. */
    static Map<String, Long> sizes(InputStream manifest) throws IOException {
        Map<String, Long> sizes = new HashMap<>();
        try (JsonParser p = new JsonFactory().createParser(manifest)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException("backup_manifest is not a JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                boolean files = "Files".equals(p.currentName());
                if (p.nextToken() != JsonToken.START_ARRAY || !files) {
                    p.skipChildren();
                    continue;
                }
                while (p.nextToken() == JsonToken.START_OBJECT) {
                    String path = null;
                    long size = -1;
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String field = p.currentName();
                        JsonToken value = p.nextToken();
                        if ("Path".equals(field) && value == JsonToken.VALUE_STRING) {
                            path = p.getText();
                        } else if ("Size".equals(field) && value == JsonToken.VALUE_NUMBER_INT) {
                            size = p.getLongValue();
                        } else {
                            p.skipChildren();
                        }
                    }
                    if (path == null || size < 0) {
                        throw new IOException("backup_manifest lists a file without a path or size" + (path == null ? "" : ": " + path));
                    }
                    sizes.put(path, size);
                }
            }
        }
        return sizes;
    }

    /** Fails if the backup started before its parent did: the cluster went back in time. */
    void checkStart(long startLsn) throws CaptureFailedException {
        if (copier != null && Long.compareUnsigned(startLsn, plan.threshold()) < 0) {
            throw new CaptureFailedException("this backup starts at " + WalFile.formatLsn(startLsn) + ", before its parent "
                    + plan.parent().id() + " (" + WalFile.formatLsn(plan.threshold()) + "): the cluster is not the one the "
                    + "parent was taken of; take a full backup", null, null, null);
        }
    }

    /** Fails if the backup's timeline (from its label) is not its parent's. */
    void checkTimeline(String timeline) throws CaptureFailedException {
        String parentTimeline = copier == null ? null : plan.parent().consistency().properties().get(BaseBackupSource.TIMELINE);
        if (parentTimeline != null && !parentTimeline.equals(timeline)) {
            throw new CaptureFailedException("the cluster switched to timeline " + timeline + " during the backup; its parent "
                    + plan.parent().id() + " is on timeline " + parentTimeline + "; take a full backup", null, null, null);
        }
    }

    /**
     * Whether the file {@code path} of {@code size} bytes goes page by page: a relation's main
     * fork, a whole number of pages, that the parent holds with a whole number of pages and no
     * larger. Anything else (new, not a relation, shrunk) is copied whole.
     */
    boolean byPages(String path, long size) {
        if (copier == null || size % PageFilter.PAGE != 0 || !PageFilter.paged(path)) {
            return false;
        }
        Long before = parentSizes.get(path);
        return before != null && before % PageFilter.PAGE == 0 && before <= size;
    }

    /** As {@link PageCopier#copy}, for a file {@link #byPages} accepted. */
    boolean copyPages(LiveTar tar, ManifestWriter manifest, String path, Path file, long size, Instant modified)
            throws IOException {
        return copier.copy(tar, manifest, path, file, size, parentSizes.get(path) / PageFilter.PAGE, modified);
    }

    /** Whether this backup is an increment (it has a parent), so that relation files may go page by page. */
    boolean increments() {
        return copier != null;
    }

    /** As {@link #copyPages}, for a file {@link #byPages} accepted that arrives as {@code size} bytes of {@code in}. */
    void streamPages(LiveTar tar, String path, InputStream in, long size, Instant modified) throws IOException {
        if (streamed == null) {
            streamed = new StreamPageCopier(plan.threshold());
        }
        streamed.copy(tar, path, in, size, parentSizes.get(path) / PageFilter.PAGE, modified);
    }

    /** Adds the level, chain and parent to a result. */
    CaptureResult record(CaptureResult result) {
        CaptureResult.Builder b = result.toBuilder()
                .attribute(ChainPlanner.LEVEL, plan.level().label())
                .attribute(ChainPlanner.CHAIN_LENGTH, Integer.toString(plan.chainLength()))
                .attribute(ChainPlanner.LEVEL_REASON, plan.reason())
                .attribute(ChainPlanner.HINTS_LOGGED, Boolean.toString(hintsLogged));
        if (copier != null) {
            b.parent(plan.parent().id())
                    .attribute(ChainPlanner.FROM_LSN, WalFile.formatLsn(plan.threshold()))
                    .attribute("postgresql.pages_read", Long.toString(copier.pagesRead()
                            + (streamed == null ? 0 : streamed.pagesRead())))
                    .attribute("postgresql.pages_copied", Long.toString(copier.pagesCopied()
                            + (streamed == null ? 0 : streamed.pagesCopied())));
        }
        return b.build();
    }
}
