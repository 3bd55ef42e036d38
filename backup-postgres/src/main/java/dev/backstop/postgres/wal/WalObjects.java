package dev.backstop.postgres.wal;

import dev.backstop.core.Digest;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.MetadataKey;
import dev.backstop.core.ObjectBinding;
import dev.backstop.core.ObjectExistsException;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Repository;
import dev.backstop.core.Sink;
import dev.backstop.core.transform.ZstdTransform;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.NoSuchFileException;
import java.security.DigestInputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The stored WAL objects of one archive, each a data object (zstd, then the data key's AEAD with
 * the object key as associated data) and its {@link WalMeta} metadata object written after it:
 * writing one, reading one back verified, reading metadata, and deleting metadata before data so
 * a crash in between never leaves metadata that looks archived without its data. With keys, the
 * repository is a keyed view: metadata is written with a tag and read only if it authenticates.
 *
 * <p>Thread-safe.
 */
final class WalObjects {
    /** Opens the bytes to archive again for each attempt. */
    interface Bytes {
        InputStream open() throws IOException;
    }

    private final Repository repository;
    private final long systemId;
    private final String stream;
    private final ZstdTransform zstd;
    private final WalKeyring keys;
    private final Clock clock;
    private volatile MetadataKey metadataKey;

    WalObjects(Repository repository, long systemId, ZstdTransform zstd, WalKeyring keys, Clock clock) {
        this.repository = repository;
        this.systemId = systemId;
        this.stream = WalKeys.streamOf(systemId);
        this.zstd = zstd;
        this.keys = keys;
        this.clock = clock;
    }

    /**
     * Stores data then metadata under {@code key}; returns the stored size. {@code what} names the
     * source in errors, {@code metaName} is the name the metadata records.
     *
     * @throws IntegrityException if the bytes read are not {@code size} bytes with digest {@code plain}
     */
    long upload(Bytes source, String what, String metaName, String key, long size, Digest plain, Instant lastCommit)
            throws IOException {
        WalKeyring.DataKey dk = keys.writeKey();
        ObjectBinding binding = new ObjectBinding(stream, key);
        MessageDigest storedMd = Digest.newSha256();
        MessageDigest plainMd = Digest.newSha256();
        long[] storedCount = {0};
        long plainCount;
        for (int attempt = 0; ; attempt++) {
            try (Sink.Upload up = repository.sink().create(key, ObjectKind.LOG)) {
                OutputStream counting = new FilterOutputStream(up.stream()) {
                    @Override
                    public void write(byte[] b, int off, int len) throws IOException {
                        out.write(b, off, len);
                        storedCount[0] += len;
                    }
                };
                OutputStream stored = new DigestOutputStream(counting, storedMd);
                OutputStream enc = zstd.encode(dk.transform().encode(stored, binding), binding);
                try (InputStream in = source.open();
                     DigestOutputStream plainOut = new DigestOutputStream(enc, plainMd)) {
                    plainCount = in.transferTo(plainOut);
                }
                if (plainCount != size || !Digest.of(plainMd.digest()).equals(plain)) {
                    throw new IntegrityException(key, "bytes of " + what, plain + " (" + size + " bytes)",
                            "the file changed while it was being archived", null, null);
                }
                try {
                    up.commit();
                } catch (ObjectExistsException e) {
                    // data without metadata: an earlier archiver died between the two; it was never archived
                    if (attempt > 0) {
                        throw e;
                    }
                    repository.sink().delete(key);
                    storedMd.reset();
                    plainMd.reset();
                    storedCount[0] = 0;
                    continue;
                }
            }
            break;
        }
        WalMeta meta = new WalMeta(metaName, systemId, size, plain, storedCount[0], Digest.of(storedMd.digest()),
                zstd.level(), dk.kekId(), dk.wrapped(), clock.instant().toString(), lastCommit, dk.record(), 2);
        try (Sink.Upload up = repository.sink().create(WalKeys.metaOf(key), ObjectKind.LOG)) {
            try (OutputStream out = up.stream()) {
                out.write(meta.encode(repository.metadataKey(true), WalKeys.metaOf(key), stream));
            }
            up.commit();
        }
        return storedCount[0];
    }

    /**
     * Decodes object {@code key} into {@code out} (left open), checking the stored and plaintext
     * digests and size of its metadata; {@code out} has the bytes before they are known good, so
     * callers write to a temporary file.
     *
     * @throws NoSuchFileException if the data object is missing
     */
    void decodeVerified(String key, WalMeta m, String name, OutputStream out) throws IOException {
        ObjectBinding binding = new ObjectBinding(stream, key);
        MessageDigest storedMd = Digest.newSha256();
        MessageDigest plainMd = Digest.newSha256();
        long plainCount;
        try (InputStream raw = repository.sink().open(key);
             DigestInputStream stored = new DigestInputStream(raw, storedMd);
             InputStream dec = zstd.decode(keys.readKey(m).decode(stored, binding), binding);
             DigestInputStream plain = new DigestInputStream(dec, plainMd)) {
            plainCount = plain.transferTo(out);
            stored.transferTo(OutputStream.nullOutputStream());
        } catch (NoSuchFileException e) {
            throw e;
        } catch (IOException e) {
            throw new IntegrityException(key, "decoding of " + name, "an intact " + m.storedSize() + "-byte object",
                    "it failed to decode: " + e.getMessage(), e, null);
        }
        Digest storedDigest = Digest.of(storedMd.digest());
        if (!storedDigest.equals(m.storedSha256())) {
            throw new IntegrityException(key, "stored SHA-256", m.storedSha256().hex(), storedDigest.hex(), null, null);
        }
        Digest plainDigest = Digest.of(plainMd.digest());
        if (plainCount != m.plaintextSize() || !plainDigest.equals(m.plaintextSha256())) {
            throw new IntegrityException(key, "plaintext of " + name, m.plaintextSha256() + " (" + m.plaintextSize() + " bytes)",
                    plainDigest + " (" + plainCount + " bytes)", null, null);
        }
    }

    /** The metadata of data object {@code key}; empty if it is not archived. */
    Optional<WalMeta> readMeta(String key) throws IOException {
        byte[] bytes;
        try (InputStream in = repository.sink().open(WalKeys.metaOf(key))) {
            bytes = in.readNBytes(WalMeta.MAX_BYTES);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        if (repository.keyed()) {
            bytes = WalMeta.authenticate(metadataKey(), WalKeys.metaOf(key), stream, bytes);
        }
        return Optional.of(WalMeta.decode(WalKeys.metaOf(key), bytes));
    }

    /** The repository's metadata key; null while the repository has none (an archive written before it). */
    private MetadataKey metadataKey() {
        MetadataKey k = metadataKey;
        if (k == null && MetadataKey.exists(repository)) {
            k = repository.metadataKey(false);
            metadataKey = k;
        }
        return k;
    }

    /** Deletes the listed {@code objects}, every metadata object before any data object; returns how many. */
    int deleteAll(List<ObjectInfo> objects) throws IOException {
        for (ObjectInfo o : objects) {
            if (WalKeys.isMeta(o.key())) {
                repository.sink().delete(o.key());
            }
        }
        for (ObjectInfo o : objects) {
            if (!WalKeys.isMeta(o.key())) {
                repository.sink().delete(o.key());
            }
        }
        return objects.size();
    }

    /** Deletes data object {@code key} and its metadata, metadata first. */
    void delete(String key) throws IOException {
        repository.sink().delete(WalKeys.metaOf(key));
        repository.sink().delete(key);
    }

    /** Every object under {@code prefix}. */
    List<ObjectInfo> list(String prefix) throws IOException {
        return repository.sink().list(prefix);
    }
}
