package dev.backstop.core.event;

import dev.backstop.core.BackupId;
import dev.backstop.core.manifest.StoredObject;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Told how many stored bytes a {@link dev.backstop.core.Restore} has read, for progress bars and
 * rate/ETA lines of restores, drills and verifications.
 *
 * <pre>{@code
 * Restore restore = Restore.builder().repository(repo).keys(kek)
 *     .progress((id, object, bytes) -> meter.add(bytes)).build();
 * }</pre>
 *
 * <p><b>Guarantees.</b> Called with the bytes of each read of an object's stored (compressed,
 * encrypted) bytes as they come from the repository, before they are checked: the sum for one
 * object reaches {@link StoredObject#storedSize()} when it was read to the end, so the total a
 * restore will read is known from the manifest (the sum of its objects' stored sizes, and of its
 * parents' for a chain). An object opened twice counts twice. A restore built without a progress
 * listener reads through no extra stream.
 *
 * <p><b>Restrictions.</b> Called on the thread that reads the stored bytes (a restore's decode
 * thread for big objects, several at once for parallel reads): it must be fast and thread-safe.
 * It must not throw; what it throws anyway is logged and dropped, never failing the restore.
 */
@FunctionalInterface
public interface ReadProgress {
    /** Reports nothing; a restore with it reads the stored bytes directly. */
    ReadProgress NONE = (id, object, bytes) -> {
    };

    /** {@code bytes} (positive) more stored bytes of {@code object}, of backup {@code id}, were read. */
    void storedBytesRead(BackupId id, StoredObject object, long bytes);

    /** Wraps {@code progress} so that nothing it throws reaches the restore. */
    static ReadProgress guarded(ReadProgress progress) {
        Objects.requireNonNull(progress, "progress");
        if (progress == NONE) {
            return NONE;
        }
        Logger log = LoggerFactory.getLogger(ReadProgress.class);
        return (id, object, bytes) -> {
            try {
                progress.storedBytesRead(id, object, bytes);
            } catch (RuntimeException e) {
                log.debug("read progress of {} threw; ignored", object.key(), e);
            }
        };
    }
}
