package dev.backstop.core.retention;

import dev.backstop.core.internal.repo.RepositoryStore;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.backstop.core.BackupId;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Repository;
import dev.backstop.core.StorageException;
import dev.backstop.core.internal.layout.FormatVersion;
import dev.backstop.core.internal.layout.RepositoryLayout;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The journals of {@link Expiry}: the backups a run is about to delete, written before the first
 * deletion so that a later run finishes what a crash interrupted.
 */
final class ExpiryJournal {
    /** The journal format this code writes and reads. */
    static final int JOURNAL_FORMAT_VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Repository repository;
    private final Clock clock;

    ExpiryJournal(Repository repository, Clock clock) {
        this.repository = repository;
        this.clock = clock;
    }

    String writeJournal(List<RetentionPlan.Decision> toDelete) {
        String key = RepositoryLayout.expiryJournalKey(clock.instant(),
                Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36));
        ObjectNode n = JSON.createObjectNode();
        n.put(FormatVersion.FIELD, JOURNAL_FORMAT_VERSION);
        ArrayNode ids = n.putArray("backups");
        toDelete.forEach(d -> ids.add(d.id().value()));
        try {
            RepositoryStore.putRecord(repository, key, "", ObjectKind.STATE,
                    (n.toPrettyString().replace("\r\n", "\n") + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new StorageException(key, "could not write the expiry journal; nothing was deleted: " + e, e, true, null);
        }
        return key;
    }

    /**
     * The ids of a journal: a JSON record, or one id a line (format 1 without a version field).
     *
     * @throws dev.backstop.core.IntegrityException naming the journal and its version if a newer
     *     Backstop wrote it: its ids cannot be trusted to mean what this code reads
     */
    List<BackupId> readJournal(String key) throws IOException {
        byte[] bytes = RepositoryStore.readRecord(repository, key, "", "expiry journal");
        List<BackupId> ids = new ArrayList<>();
        String text = new String(bytes, StandardCharsets.UTF_8);
        if (text.trim().startsWith("{")) {
            JsonNode n = JSON.readTree(bytes);
            FormatVersion.of(n, key, "expiry journal", JOURNAL_FORMAT_VERSION, null);
            n.path("backups").forEach(x -> {
                if (BackupId.isValid(x.asText())) {
                    ids.add(BackupId.parse(x.asText()));
                }
            });
            return ids;
        }
        for (String line : text.split("\n")) {
            if (BackupId.isValid(line.trim())) {
                ids.add(BackupId.parse(line.trim()));
            }
        }
        return ids;
    }
}
