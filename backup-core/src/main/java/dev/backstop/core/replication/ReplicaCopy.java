package dev.backstop.core.replication;

import dev.backstop.core.BackupId;
import dev.backstop.core.Digest;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.ObjectExistsException;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Repository;
import dev.backstop.core.Sink;
import dev.backstop.core.StorageException;
import dev.backstop.core.crypto.MetadataKey;
import dev.backstop.core.internal.repo.RepositoryStore;
import dev.backstop.core.internal.stream.HashingInputStream;
import dev.backstop.core.manifest.StoredObject;
import dev.backstop.core.replication.Replication.Replica;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;

/**
 * How {@link Replication} compares and copies single objects between two sinks, as stored: by
 * SHA-256, streamed and checked before commit, or whole for small objects; the order of a backup's
 * objects and the records of each run stay in {@code Replication}.
 */
final class ReplicaCopy {
    private static final int BUFFER = 256 * 1024;

    private ReplicaCopy() {
    }

    /**
     * Compares the replica's object with the manifest: null when it is there with the right size
     * and SHA-256, "" when it is absent, else what was found. A size mismatch is decided from the
     * listing, so only objects that may be complete are read.
     */
    static String compare(Sink sink, StoredObject o, BackupId id) {
        try {
            ObjectInfo info = sink.list(o.key()).stream().filter(i -> i.key().equals(o.key())).findFirst().orElse(null);
            if (info == null) {
                return "";
            }
            if (info.size() != o.storedSize()) {
                return info.size() + " bytes";
            }
            Digest d = sha256(sink, o.key());
            return d.equals(o.storedSha256()) ? null : info.size() + " bytes with " + d;
        } catch (IOException e) {
            if (RepositoryStore.isMissing(e)) {
                return "";
            }
            throw StorageException.of(o.key(), "could not read it on the replica: " + e, e, id);
        }
    }

    static boolean sameManifest(Sink from, Sink to, BackupId id) {
        String key = Repository.manifestKey(id);
        try {
            return sha256(to, key).equals(sha256(from, key));
        } catch (IOException e) {
            if (RepositoryStore.isMissing(e)) {
                return false;
            }
            throw StorageException.of(key, "could not read the manifest: " + e, e, id);
        }
    }

    static Digest sha256(Sink sink, String key) throws IOException {
        MessageDigest md = Digest.newSha256();
        byte[] buf = new byte[BUFFER];
        try (InputStream in = sink.open(key)) {
            for (int n; (n = in.read(buf)) >= 0; ) {
                md.update(buf, 0, n);
            }
        }
        return Digest.of(md.digest());
    }

    /** Streams one object, hashing it, and commits only if size and digest match the manifest. */
    static void streamCopy(Sink from, Sink to, String key, ObjectKind kind, long size, Digest sha, BackupId id)
            throws IOException {
        try (InputStream in = new HashingInputStream(from.open(key), key, "stored", size, sha, id);
             Sink.Upload up = to.create(key, kind)) {
            try (OutputStream out = up.stream()) {
                in.transferTo(out);
            }
            up.commit();
        }
    }

    /**
     * Copies a small object (wrapped key, manifest) as it is stored. An immutable one already
     * there with the same bytes is fine; with other bytes it is an integrity failure.
     */
    static long copyWhole(Sink from, Sink to, String key, ObjectKind kind, BackupId id) throws IOException {
        byte[] bytes;
        try (InputStream in = from.open(key)) {
            bytes = in.readAllBytes();
        }
        try (Sink.Upload up = to.create(key, kind)) {
            try (OutputStream out = up.stream()) {
                out.write(bytes);
            }
            up.commit();
        } catch (ObjectExistsException e) {
            Digest there = sha256(to, key);
            if (!there.equals(Digest.sha256(bytes))) {
                throw new IntegrityException(key, "bytes on the replica", Digest.sha256(bytes).hex(), there.hex(), e, id);
            }
            return 0;
        }
        return bytes.length;
    }

    /**
     * Copies the primary's metadata key record unless the replica has the same key (its id
     * matches; the wrapping may differ after a rotation). Another key there is refused: its
     * replicated manifests would not authenticate.
     */
    static long copyMetadataKey(Sink from, Sink to, Replica replica, BackupId id) throws IOException {
        byte[] here;
        try (InputStream in = from.open(MetadataKey.OBJECT)) {
            here = in.readAllBytes();
        }
        try (InputStream in = to.open(MetadataKey.OBJECT)) {
            String idHere = keyIdOf(here);
            String idThere = keyIdOf(in.readAllBytes());
            if (!idHere.equals(idThere)) {
                throw new IntegrityException(MetadataKey.OBJECT, "metadata key on replica " + replica.name(),
                        "key " + idHere + " (the primary's)", "key " + idThere
                        + " (the replica belongs to another repository; replicate into an empty one)", null, id);
            }
            return 0;
        } catch (IOException e) {
            if (!RepositoryStore.isMissing(e)) {
                throw e;
            }
        }
        try (Sink.Upload up = to.create(MetadataKey.OBJECT, ObjectKind.KEY)) {
            try (OutputStream out = up.stream()) {
                out.write(here);
            }
            up.commit();
        }
        return here.length;
    }

    private static String keyIdOf(byte[] record) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"keyId\" : \"([0-9a-f]+)\"")
                .matcher(new String(record, java.nio.charset.StandardCharsets.UTF_8));
        return m.find() ? m.group(1) : "(unreadable)";
    }
}
