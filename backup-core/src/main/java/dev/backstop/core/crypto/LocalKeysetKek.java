package dev.backstop.core.crypto;

import com.google.crypto.tink.Aead;
import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeyStatus;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import com.google.crypto.tink.RegistryConfiguration;
import com.google.crypto.tink.aead.PredefinedAeadParameters;
import dev.backstop.core.crypto.KeyEncryptionKey;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.security.SecureRandom;
import com.google.crypto.tink.aead.AeadConfig;
import com.google.crypto.tink.aead.AesGcmKey;
import com.google.crypto.tink.util.SecretBytes;

/**
 * A {@link KeyEncryptionKey} held in a local Tink keyset file (JSON, AES256_GCM keys). The file
 * is the master secret: keep it off the backup host's repository and readable only by the
 * service (it is created with mode 0600).
 *
 * <p><b>Rotation.</b> {@link #rotate(Path)} adds a new primary key to the file; new backups are
 * wrapped by it while old ones still unwrap with the retired keys. Run {@code rewrap} on the
 * repository afterwards; only then may retired keys be {@linkplain #disableRetired(Path) disabled}.
 *
 * <p>Immutable and thread-safe. Its {@code toString()} shows key ids, never key material.
 */
public final class LocalKeysetKek implements KeyEncryptionKey {
    private static final SecureRandom RANDOM = new SecureRandom();

    static {
        try {
            // Tink's keyset file format only knows the key types registered globally; this adds
            // Tink's own AEAD types, idempotently, and nothing of ours
            AeadConfig.register();
        } catch (GeneralSecurityException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
    private final KeysetHandle keyset;
    private final Aead aead;
    private final String id;

    private LocalKeysetKek(KeysetHandle keyset) throws GeneralSecurityException {
        this.keyset = keyset;
        this.aead = keyset.getPrimitive(RegistryConfiguration.get(), Aead.class);
        this.id = "local:" + Integer.toUnsignedString(keyset.getPrimary().getId());
    }

    /**
     * Creates a new keyset file with one key; refuses to overwrite an existing file. Run it once,
     * when setting up a repository (the CLI's {@code keygen}), and {@link #load(Path)} from then on:
     * backups wrapped by a KEK that is later lost can never be restored.
     */
    public static LocalKeysetKek create(Path file) {
        try {
            KeysetHandle h = KeysetHandle.newBuilder().setConfiguration(RegistryConfiguration.get())
                    .addEntry(newKey(Set.of()).makePrimary()).build();
            write(file, h, false);
            return new LocalKeysetKek(h);
        } catch (FileAlreadyExistsException e) {
            throw new IllegalArgumentException("KEK keyset file " + file + " already exists; load it instead of creating it", e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("could not generate a KEK", e);
        } catch (IOException e) {
            throw new UncheckedIOException("could not write KEK keyset file " + file, e);
        }
    }

    /**
     * Loads an existing keyset file. A missing file fails with an {@link UncheckedIOException}
     * naming the path: this never creates one (see {@link #create(Path)}).
     */
    public static LocalKeysetKek load(Path file) {
        try {
            String json;
            try {
                json = Files.readString(file, StandardCharsets.UTF_8);
            } catch (NoSuchFileException e) {
                throw new UncheckedIOException("KEK keyset file " + file.toAbsolutePath() + " does not exist; "
                        + "LocalKeysetKek.create(path) makes a new one (once, when setting up the repository: "
                        + "backups wrapped by another KEK cannot be restored with it)", e);
            }
            return new LocalKeysetKek(TinkJsonProtoKeysetFormat.parseKeyset(json, RegistryConfiguration.get(), InsecureSecretKeyAccess.get()));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("KEK keyset file " + file + " is not a valid Tink AEAD keyset: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("could not read KEK keyset file " + file, e);
        }
    }

    /**
     * Loads the file if it exists, or creates it.
     *
     * @deprecated a mistyped or unmounted path silently creates a new KEK, and the backups then
     *     taken cannot be restored with the one the operator keeps. Call {@link #create(Path)}
     *     once when setting up and {@link #load(Path)} everywhere else, so a missing file fails.
     */
    @Deprecated(forRemoval = true)
    public static LocalKeysetKek loadOrCreate(Path file) {
        return Files.exists(file) ? load(file) : create(file);
    }

    /** Adds a new primary key to the file (old keys stay for unwrapping) and returns the result. */
    public static LocalKeysetKek rotate(Path file) {
        LocalKeysetKek current = load(file);
        try {
            KeysetHandle rotated = KeysetHandle.newBuilder(current.keyset).setConfiguration(RegistryConfiguration.get())
                    .addEntry(newKey(current.ids()).makePrimary())
                    .build();
            write(file, rotated, true);
            return new LocalKeysetKek(rotated);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("could not rotate KEK in " + file, e);
        } catch (IOException e) {
            throw new UncheckedIOException("could not write KEK keyset file " + file, e);
        }
    }

    /**
     * Disables every key but the primary, so data keys still wrapped by them can no longer be
     * unwrapped. Run {@code rewrap} first.
     */
    public static LocalKeysetKek disableRetired(Path file) {
        LocalKeysetKek current = load(file);
        try {
            KeysetHandle.Builder b = KeysetHandle.newBuilder(current.keyset).setConfiguration(RegistryConfiguration.get());
            for (int i = 0; i < b.size(); i++) {
                if (!b.getAt(i).isPrimary()) {
                    b.getAt(i).setStatus(KeyStatus.DISABLED);
                }
            }
            KeysetHandle h = b.build();
            write(file, h, true);
            return new LocalKeysetKek(h);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("could not disable retired KEKs in " + file, e);
        } catch (IOException e) {
            throw new UncheckedIOException("could not write KEK keyset file " + file, e);
        }
    }

    /** A new AES256_GCM key with an id not in {@code taken}. */
    private static KeysetHandle.Builder.Entry newKey(Set<Integer> taken) throws GeneralSecurityException {
        int id;
        do {
            id = RANDOM.nextInt();
        } while (id == 0 || taken.contains(id));
        AesGcmKey key = AesGcmKey.builder()
                .setParameters(PredefinedAeadParameters.AES256_GCM)
                .setKeyBytes(SecretBytes.randomBytes(32))
                .setIdRequirement(id)
                .build();
        return KeysetHandle.importKey(key);
    }

    private Set<Integer> ids() {
        Set<Integer> out = new HashSet<>();
        for (int i = 0; i < keyset.size(); i++) {
            out.add(keyset.getAt(i).getId());
        }
        return out;
    }

    private static void write(Path file, KeysetHandle h, boolean replace) throws GeneralSecurityException, IOException {
        String json = TinkJsonProtoKeysetFormat.serializeKeyset(h, RegistryConfiguration.get(), InsecureSecretKeyAccess.get());
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".kek", ".tmp");
        try {
            try {
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException notPosix) {
                // not a POSIX filesystem: permissions are the operator's business
            }
            Files.writeString(tmp, json, StandardCharsets.UTF_8);
            if (replace) {
                try {
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
                }
            } else {
                Files.createLink(file, tmp);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Ids of all keys in the keyset, primary first. */
    public List<String> keyIds() {
        List<String> ids = new ArrayList<>();
        ids.add(id);
        for (int i = 0; i < keyset.size(); i++) {
            String k = "local:" + Integer.toUnsignedString(keyset.getAt(i).getId());
            if (!k.equals(id)) {
                ids.add(k);
            }
        }
        return ids;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public byte[] wrap(byte[] dataKey, byte[] context) throws GeneralSecurityException {
        return aead.encrypt(dataKey, context);
    }

    @Override
    public byte[] unwrap(byte[] wrapped, byte[] context) throws GeneralSecurityException {
        return aead.decrypt(wrapped, context);
    }

    @Override
    public String toString() {
        return "LocalKeysetKek[primary=" + id + ", keys=" + keyset.size() + "]";
    }
}
