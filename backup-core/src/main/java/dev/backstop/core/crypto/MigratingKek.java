package dev.backstop.core.crypto;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.util.Objects;

/** See {@link KeyEncryptionKey#migrating}. Thread-safe when both KEKs are. */
final class MigratingKek implements KeyEncryptionKey {
    private final KeyEncryptionKey to;
    private final KeyEncryptionKey from;

    MigratingKek(KeyEncryptionKey to, KeyEncryptionKey from) {
        this.to = Objects.requireNonNull(to, "to");
        this.from = Objects.requireNonNull(from, "from");
        if (to.id().equals(from.id())) {
            throw new IllegalArgumentException("migrating from " + from.id() + " to the same key-encryption key; "
                    + "a key rotated in place needs only Encryption.rewrap");
        }
    }

    @Override
    public String id() {
        return to.id();
    }

    @Override
    public byte[] wrap(byte[] dataKey, byte[] context) throws GeneralSecurityException, IOException {
        return to.wrap(dataKey, context);
    }

    @Override
    public byte[] unwrap(byte[] wrapped, byte[] context) throws GeneralSecurityException, IOException {
        try {
            return to.unwrap(wrapped, context);
        } catch (GeneralSecurityException notOurs) {
            try {
                return from.unwrap(wrapped, context);
            } catch (GeneralSecurityException neither) {
                GeneralSecurityException e = new GeneralSecurityException("neither " + to.id() + " nor " + from.id()
                        + " unwraps this key: " + notOurs.getMessage() + "; " + neither.getMessage(), neither);
                e.addSuppressed(notOurs);
                throw e;
            }
        }
    }

    @Override
    public String toString() {
        return "MigratingKek[to=" + to + ", from=" + from + "]";
    }
}
