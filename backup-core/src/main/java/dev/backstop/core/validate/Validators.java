package dev.backstop.core.validate;

import dev.backstop.core.internal.access.CoreAccess;
import dev.backstop.core.internal.validate.ObjectChecks;
import dev.backstop.core.BackupException;
import dev.backstop.core.BackupReader;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.Validator;
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
                CoreAccess core = CoreAccess.get();
                return core.reported(restore, ObjectChecks.storedChecksums(restore.reader(manifest), core.clock(restore)));
            }
        };
    }

    /** Decodes every object: stored digest, AEAD authentication, decompression, plaintext digest. */
    public static Validator fullDecode() {
        return new Validator() {
            @Override
            public String name() {
                return ObjectChecks.FULL_DECODE;
            }

            @Override
            public ValidationResult validate(Manifest manifest, Restore restore) {
                CoreAccess core = CoreAccess.get();
                return core.reported(restore, ObjectChecks.fullDecode(restore.reader(manifest), core.clock(restore)));
            }
        };
    }
}
