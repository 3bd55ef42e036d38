package dev.backstop.core.log;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.core.Digest;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.crypto.MetadataKey;
import dev.backstop.core.ObjectExistsException;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Repository;
import dev.backstop.core.Sink;
import dev.backstop.core.StorageException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.NoSuchFileException;
import java.security.MessageDigest;
import java.util.Optional;

/**
 * Copies one log stream to a replica repository as stored, never decoded: the repository's
 * metadata key record if the replica has none, the stream's data key records, then per object the
 * data and then its metadata, so the replica shows an object only once its data is there.
 *
 * <p><b>Guarantees.</b> Only objects whose metadata authenticates on the primary (with keys) are
 * copied; data is hashed on the way and committed only if it matches the stored SHA-256 the
 * metadata records, so a corrupted primary is not propagated. Resumable: what the replica holds
 * with the same bytes is skipped; an object it holds with other bytes stops the copy with an
 * {@link IntegrityException} naming it (log objects are immutable). A replica holding another
 * repository's metadata key is refused.
 */
public final class LogReplica {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * What one copy did.
     *
     * @param copied  archived objects (data and metadata) written to the replica, plus one if any key
     *                record was
     * @param skipped archived objects already there with the same bytes
     * @param bytes   stored bytes written
     */
    public record Copied(int copied, int skipped, long bytes) {
    }

    private LogReplica() {
    }

    /**
     * Copies every archived object of {@code logs} (whole files and deltas) to {@code replica}.
     *
     * @throws IntegrityException naming the object if the primary's bytes do not match their
     *     metadata, or the replica holds other bytes under one of the keys
     * @throws StorageException   if either repository fails (run again to resume)
     */
    public static Copied copy(LogStore logs, Repository replica) {
        Sink from = logs.objects().repository().sink();
        Sink to = replica.sink();
        int copied = 0;
        int skipped = 0;
        long bytes = 0;
        String where = logs.objects().keys().prefix();
        try {
            long b = copyMetadataKey(from, to);
            for (ObjectInfo o : from.list(logs.objects().keys().keyRecordPrefix())) {
                if (logs.objects().keys().isKeyMaterial(o.key())) {
                    b += copySmall(from, to, o.key(), ObjectKind.KEY, false);
                }
            }
            if (b > 0) {
                copied++;
                bytes += b;
            }
            for (ObjectInfo o : from.list(logs.objects().keys().prefix())) {
                if (!LogKeys.isMeta(o.key())) {
                    continue;
                }
                where = o.key();
                String data = LogKeys.dataOf(o.key());
                Optional<LogObject> meta = logs.objects().readMeta(data);
                if (meta.isEmpty()) {
                    continue;
                }
                long wrote = copyData(from, to, meta.get());
                wrote += copySmall(from, to, o.key(), ObjectKind.LOG, true);
                if (wrote > 0) {
                    copied++;
                    bytes += wrote;
                } else {
                    skipped++;
                }
            }
        } catch (IOException e) {
            throw StorageException.of(where, "could not copy the log archive to the replica: " + e, e, null);
        }
        return new Copied(copied, skipped, bytes);
    }

    private static long copyData(Sink from, Sink to, LogObject m) throws IOException {
        Optional<ObjectInfo> there = to.list(m.key()).stream().filter(i -> i.key().equals(m.key())).findFirst();
        if (there.isPresent()) {
            Digest d = sha256(to, m.key());
            if (there.get().size() == m.storedSize() && d.equals(m.storedSha256())) {
                return 0;
            }
            throw new IntegrityException(m.key(), "stored object on the replica", m.storedSize() + " bytes with " + m.storedSha256(),
                    there.get().size() + " bytes with " + d + " (immutable: check why, then remove it on the replica by hand)", null, null);
        }
        MessageDigest sha = Digest.newSha256();
        long n = 0;
        try (InputStream in = from.open(m.key()); Sink.Upload up = to.create(m.key(), ObjectKind.LOG)) {
            try (OutputStream out = up.stream()) {
                byte[] buf = new byte[256 * 1024];
                for (int r; (r = in.read(buf)) >= 0; ) {
                    sha.update(buf, 0, r);
                    out.write(buf, 0, r);
                    n += r;
                }
            }
            Digest d = Digest.of(sha.digest());
            if (n != m.storedSize() || !d.equals(m.storedSha256())) {
                // not committed: closing the upload aborts it
                throw new IntegrityException(m.key(), "stored bytes on the primary", m.storedSha256() + " (" + m.storedSize()
                        + " bytes)", d + " (" + n + " bytes): not copied", null, null);
            }
            up.commit();
        } catch (NoSuchFileException e) {
            throw new IntegrityException(m.key(), "data of " + m.name() + " on the primary", "an object beside its metadata", "none", e, null);
        }
        return n;
    }

    /** Copies a small object as stored; one already there is kept if {@code sameBytes} is not required or it is equal. */
    private static long copySmall(Sink from, Sink to, String key, ObjectKind kind, boolean sameBytes) throws IOException {
        byte[] bytes;
        try (InputStream in = from.open(key)) {
            bytes = in.readAllBytes();
        }
        byte[] existing = read(to, key);
        if (existing != null) {
            if (sameBytes && !MessageDigest.isEqual(existing, bytes)) {
                throw new IntegrityException(key, "bytes on the replica", Digest.sha256(bytes).hex(), Digest.sha256(existing).hex(), null, null);
            }
            // a key record may be wrapped by another KEK there after a rotation; it holds the same key
            return 0;
        }
        try (Sink.Upload up = to.create(key, kind)) {
            try (OutputStream out = up.stream()) {
                out.write(bytes);
            }
            up.commit();
        } catch (ObjectExistsException e) {
            return 0;
        }
        return bytes.length;
    }

    /** Copies the metadata key record unless the replica has it; refuses a replica with another key. */
    private static long copyMetadataKey(Sink from, Sink to) throws IOException {
        byte[] here = read(from, MetadataKey.OBJECT);
        if (here == null) {
            return 0;
        }
        byte[] there = read(to, MetadataKey.OBJECT);
        if (there != null) {
            String idHere = JSON.readTree(here).path("keyId").asText();
            String idThere = JSON.readTree(there).path("keyId").asText();
            if (!idHere.equals(idThere)) {
                throw new IntegrityException(MetadataKey.OBJECT, "metadata key on the replica", "key " + idHere + " (the primary's)",
                        "key " + idThere + " (the replica belongs to another repository; replicate into an empty one)", null, null);
            }
            return 0;
        }
        return copySmall(from, to, MetadataKey.OBJECT, ObjectKind.KEY, false);
    }

    private static byte[] read(Sink sink, String key) throws IOException {
        try (InputStream in = sink.open(key)) {
            return in.readAllBytes();
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    private static Digest sha256(Sink sink, String key) throws IOException {
        MessageDigest md = Digest.newSha256();
        byte[] buf = new byte[256 * 1024];
        try (InputStream in = sink.open(key)) {
            for (int n; (n = in.read(buf)) >= 0; ) {
                md.update(buf, 0, n);
            }
        }
        return Digest.of(md.digest());
    }
}
