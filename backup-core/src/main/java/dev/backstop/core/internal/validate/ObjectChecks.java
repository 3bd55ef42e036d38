package dev.backstop.core.internal.validate;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.BackupReader;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.Repository;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.manifest.StoredObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The checks behind the built-in validators: every object of a backup read through a {@link
 * BackupReader}, failures collected as findings.
 */
public final class ObjectChecks {
    /** The name of the full-decode check. */
    public static final String FULL_DECODE = "full-decode";

    private ObjectChecks() {
    }

    /** The stored-checksums check of every object {@code reader} reads. */
    public static ValidationResult storedChecksums(BackupReader reader, Clock clock) {
        return check(reader, clock, Repository.KEYLESS_CHECK, reader::openStored);
    }

    /** The full-decode check of every object {@code reader} reads. */
    public static ValidationResult fullDecode(BackupReader reader, Clock clock) {
        return check(reader, clock, FULL_DECODE, reader::openDecoded);
    }

    private interface Opener {
        InputStream open(StoredObject o);
    }

    private static ValidationResult check(BackupReader reader, Clock clock, String name, Opener opener) {
        Manifest m = reader.manifest();
        Instant start = clock.instant();
        List<String> findings = new ArrayList<>();
        long bytes = 0;
        for (StoredObject o : m.objects()) {
            try (InputStream in = opener.open(o)) {
                in.transferTo(OutputStream.nullOutputStream());
                bytes += o.storedSize();
            } catch (IntegrityException e) {
                findings.add(e.getMessage());
            } catch (BackupException e) {
                if (e.retryable()) {
                    throw e;
                }
                findings.add(e.getMessage());
            } catch (IOException e) {
                findings.add(integrity(o.key(), m.id(), e).getMessage());
            }
        }
        Instant end = clock.instant();
        return new ValidationResult(m.id(), name, end, Duration.between(start, end), findings,
                Map.of("objects", Integer.toString(m.objects().size()), "storedBytesChecked", Long.toString(bytes)));
    }

    /** A read failure of a decoding stream as the integrity failure it stands for. */
    public static IntegrityException integrity(String key, BackupId id, IOException e) {
        return new IntegrityException(key, "decoding", "authentic, complete data",
                "failure: " + e.getMessage() + " (corrupted, truncated, moved or wrongly keyed)", e, id);
    }
}
