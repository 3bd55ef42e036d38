package dev.backstop.core;

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
 * The validators that need no database: stored checksums (keyless) and a full decode. Both read
 * through a {@link BackupReader}; {@link Restore#verify} and {@link Restore#verifyStored} run the
 * same checks.
 *
 * <p>Problems are findings in the result. Only a failure that a retry may cure (the repository
 * unreachable) is thrown, as the retryable {@link BackupException} it is; the validators record
 * nothing themselves (whoever runs a validator records its result, as the scheduler does).
 */
public final class Validators {
    private static final String FULL_DECODE = "full-decode";

    private Validators() {
    }

    /** Reads every stored object and compares size and SHA-256 with the manifest; needs no keys. */
    public static Validator storedChecksums() {
        return new Validator() {
            @Override
            public String name() {
                return Repository.KEYLESS_CHECK;
            }

            @Override
            public ValidationResult validate(Manifest manifest, Restore restore) {
                return restore.reported(storedChecksums(restore.reader(manifest), restore.clock()));
            }
        };
    }

    /** Decodes every object: stored digest, AEAD authentication, decompression, plaintext digest. */
    public static Validator fullDecode() {
        return new Validator() {
            @Override
            public String name() {
                return FULL_DECODE;
            }

            @Override
            public ValidationResult validate(Manifest manifest, Restore restore) {
                return restore.reported(fullDecode(restore.reader(manifest), restore.clock()));
            }
        };
    }

    /** The stored-checksums check of every object {@code reader} reads. */
    static ValidationResult storedChecksums(BackupReader reader, Clock clock) {
        return check(reader, clock, Repository.KEYLESS_CHECK, reader::openStored);
    }

    /** The full-decode check of every object {@code reader} reads. */
    static ValidationResult fullDecode(BackupReader reader, Clock clock) {
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
                findings.add(DecodingChain.integrity(o.key(), m.id(), e).getMessage());
            }
        }
        Instant end = clock.instant();
        return new ValidationResult(m.id(), name, end, Duration.between(start, end), findings,
                Map.of("objects", Integer.toString(m.objects().size()), "storedBytesChecked", Long.toString(bytes)));
    }
}
