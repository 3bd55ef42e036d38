package dev.backstop.core.log;

import dev.backstop.core.internal.repo.RepositoryStore;
import dev.backstop.core.internal.layout.RepositoryLayout;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.core.internal.chain.DecodingChain;
import dev.backstop.core.Digest;
import dev.backstop.core.internal.chain.EncodingChain;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.BackupException;
import dev.backstop.core.ObjectBinding;
import dev.backstop.core.ObjectExistsException;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Repository;
import dev.backstop.core.Stage;
import dev.backstop.core.StorageException;
import dev.backstop.core.manifest.StoredObject;
import dev.backstop.core.Transform;
import dev.backstop.core.transform.ZstdTransform;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The stored objects of one log stream: writing one (data through the {@link EncodingChain}, then
 * its sealed metadata), reading metadata and data back verified (through the {@link
 * DecodingChain}), deleting metadata before data, and the data keys, which are archive key records
 * of {@link Encryption}. {@link LogStore} decides what to store; this class does the I/O.
 *
 * <p>Thread-safe.
 */
final class LogObjects {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Repository repository;
    private final KeyEncryptionKey kek;
    private final LogKeys keys;
    private final ZstdTransform zstd;
    private final Clock clock;
    private final DecodingChain decoding;
    private final Map<String, Transform> readKeys = new ConcurrentHashMap<>();
    private volatile WriteKey writeKey;

    private record WriteKey(String record, Transform transform) {
        @Override
        public String toString() {
            return "WriteKey[" + record + "]";
        }
    }

    LogObjects(Repository repository, KeyEncryptionKey kek, LogKeys keys, ZstdTransform zstd, Clock clock, DecodingChain decoding) {
        this.repository = repository;
        this.kek = kek;
        this.keys = keys;
        this.zstd = zstd;
        this.clock = clock;
        this.decoding = decoding;
    }

    /**
     * Stores bytes {@code [from, to)} of {@code file} (all of it unless {@code delta}) under {@code
     * key}, data then metadata; returns the stored size.
     *
     * @throws IntegrityException if the bytes read are not {@code to - from} bytes with {@code sha256}
     */
    long upload(String key, LogFile file, boolean delta, long from, long to, LogStore.Source source, Digest sha256,
                        Map<String, String> attributes) throws IOException {
        // log objects are small (a segment, a delta): one thread encodes them, the caller's
        EncodingChain chain = EncodingChain.builder().transforms(writeChain()).pipelining(false).build();
        ObjectBinding binding = new ObjectBinding(keys.stream(), key);
        String what = delta ? LogKeys.deltaName(file, from, to) : file.name();
        EncodingChain.Result encoded;
        for (int attempt = 0; ; attempt++) {
            try (EncodingChain.Encoder enc = chain.open(repository.sink().create(key, ObjectKind.LOG), binding)) {
                try (InputStream in = source.open(); OutputStream out = enc.stream()) {
                    in.transferTo(out);
                }
                encoded = enc.result();
                if (encoded.plaintextSize() != to - from || !encoded.plaintextSha256().equals(sha256)) {
                    throw new IntegrityException(key, "bytes of " + what, sha256 + " (" + (to - from) + " bytes)",
                            encoded.plaintextSha256() + " (" + encoded.plaintextSize() + " bytes): the file changed while it "
                                    + "was being archived", null, null);
                }
                try {
                    enc.commit();
                } catch (ObjectExistsException e) {
                    // data without metadata: a writer died between the two, so it was never archived
                    if (attempt > 0) {
                        throw e;
                    }
                    repository.sink().delete(key);
                    continue;
                }
            }
            break;
        }
        LogObject meta = new LogObject(key, file.name(), file.epoch(), delta, from, to, encoded.plaintextSize(),
                encoded.plaintextSha256(), encoded.storedSize(), encoded.storedSha256(), encoded.transforms(),
                kek == null ? "" : writeKey.record(), clock.instant(), attributes);
        RepositoryStore.putRecord(repository, LogKeys.metaOf(key), keys.stream(), ObjectKind.LOG, LogMetadata.encode(keys.stream(), meta));
        return encoded.storedSize();
    }

    /**
     * Writes the data {@code m} describes into {@code out}, verified against {@code m}.
     *
     * @throws NoSuchFileException if a delta's data is missing (a whole file's is an {@link IntegrityException})
     */
    void decode(LogObject m, OutputStream out) throws IOException {
        ObjectBinding binding = new ObjectBinding(keys.stream(), m.key());
        // resolved (keys unwrapped) before the object is opened, so nothing is left open on failure
        List<Transform> decoders = decoding.registry().resolveAll(m.transforms(), Transform.Context.of(binding, () -> dataKey(m)));
        InputStream stored;
        try {
            stored = repository.sink().open(m.key());
        } catch (NoSuchFileException e) {
            if (m.delta()) {
                throw e;
            }
            throw new IntegrityException(m.key(), "data of " + m.name(), "an object beside its metadata", "none", e, null);
        }
        StoredObject object = new StoredObject(what(m), m.key(), m.plaintextSize(), m.plaintextSha256(), m.storedSize(),
                m.storedSha256(), m.transforms());
        try (InputStream in = decoding.decode(object, decoders, binding, stored)) {
            in.transferTo(out);
        }
    }

    /**
     * Writes the gap-free run of {@code listed}, the deltas of {@code file}, into {@code out}, each
     * verified; -1 if there are none. See {@link LogStore#readDeltas}.
     */
    long decodeRun(LogFile file, List<LogDelta> listed, OutputStream out) throws IOException {
        if (listed.isEmpty()) {
            return -1;
        }
        DeltaRun run = DeltaRun.of(listed);
        if (run.chain().isEmpty() || run.hasGap()) {
            throw new IntegrityException(keys.deltasOf(file), "deltas of " + file.name(), "a gap-free run from offset 0",
                    "a run to offset " + run.end() + " and then " + (run.chain().isEmpty() ? listed : run.stranded()).stream()
                            .map(d -> LogKeys.rangeName(d.from(), d.to())).toList() + ": a delta is missing; refusing to serve "
                            + file.name(), null, null);
        }
        for (LogDelta d : run.chain()) {
            LogObject m = readMeta(d.key()).orElseThrow(() -> new NoSuchFileException(LogKeys.metaOf(d.key())));
            if (!m.delta() || m.from() != d.from() || m.to() != d.to()) {
                throw new IntegrityException(LogKeys.metaOf(d.key()), "metadata of " + LogKeys.deltaName(file, d.from(), d.to()),
                        "bytes [" + d.from() + ", " + d.to() + ")", "bytes [" + m.from() + ", " + m.to() + ")", null, null);
            }
            decode(m, out);
        }
        return run.end();
    }

    /** How messages name the object: the file, or the file and range of a delta. */
    private static String what(LogObject o) {
        return o.delta() ? o.name() + LogKeys.DELTAS + LogKeys.rangeName(o.from(), o.to()) : o.name();
    }

    Repository repository() {
        return repository;
    }

    LogKeys keys() {
        return keys;
    }

    List<ObjectInfo> list(String prefix) {
        try {
            return repository.sink().list(prefix);
        } catch (IOException e) {
            throw StorageException.of(prefix, "could not list the log archive: " + e, e, null);
        }
    }

    /** The authenticated metadata of data object {@code key}; empty if it is not archived. */
    Optional<LogObject> readMeta(String key) throws IOException {
        String metaKey = LogKeys.metaOf(key);
        byte[] stored;
        try (InputStream in = repository.sink().open(metaKey)) {
            stored = in.readNBytes(LogMetadata.MAX_BYTES);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        LogMetadata.requireReadable(metaKey, stored);
        // keyless readers parse the sealed document as it is: the seal is one more member
        byte[] content = repository.keyed() ? repository.metadataKey(false).openJson(metaKey, keys.stream(), stored, "log metadata")
                : stored;
        return Optional.of(LogMetadata.decode(keys.stream(), key, metaKey, content));
    }

    static List<LogDelta> listedDeltas(List<ObjectInfo> listing) {
        List<LogDelta> out = new ArrayList<>();
        for (ObjectInfo o : listing) {
            if (LogKeys.isMeta(o.key())) {
                LogDelta d = LogKeys.parseDelta(LogKeys.dataOf(o.key()));
                if (d != null) {
                    out.add(d);
                }
            }
        }
        out.sort(Comparator.comparingLong(LogDelta::from).thenComparingLong(LogDelta::to));
        return out;
    }

    /** Deletes {@code objects}, every metadata object before any data object; returns how many. */
    int deleteAll(List<ObjectInfo> objects, String where) {
        try {
            for (ObjectInfo o : objects) {
                if (LogKeys.isMeta(o.key())) {
                    repository.sink().delete(o.key());
                }
            }
            for (ObjectInfo o : objects) {
                if (!LogKeys.isMeta(o.key())) {
                    repository.sink().delete(o.key());
                }
            }
        } catch (IOException e) {
            throw StorageException.of(where, "could not delete log objects: " + e, e, null);
        }
        return objects.size();
    }

    private List<Transform> writeChain() {
        if (kek == null) {
            return List.of(zstd);
        }
        WriteKey k = writeKey;
        if (k == null) {
            synchronized (this) {
                if (writeKey == null) {
                    byte[] id = new byte[8];
                    RANDOM.nextBytes(id);
                    String record = keys.keyRecord(HexFormat.of().formatHex(id));
                    // stored before any object uses it, so rewrap reaches every archived object's key
                    writeKey = new WriteKey(record, Encryption.with(kek).newArchiveKey(repository, record, keyContext()));
                }
                k = writeKey;
            }
        }
        return List.of(zstd, k.transform());
    }

    private Transform dataKey(LogObject m) {
        if (kek == null) {
            throw new BackupException(Stage.KEY, m.key() + " is encrypted with a data key wrapped by key-encryption key "
                    + wrappingKek(m.keyRecord()) + ", but this log archive was built without keys", null);
        }
        if (!m.keyRecord().startsWith(keys.stream() + "/")) {
            throw new IntegrityException(LogKeys.metaOf(m.key()), "data key record", "one of " + keys.stream(), m.keyRecord(), null, null);
        }
        return readKeys.computeIfAbsent(m.keyRecord(), r -> Encryption.with(kek).archiveKey(repository, r, keyContext()));
    }

    /** The id of the KEK that wrapped key record {@code record}, read unauthenticated: it only names the key in a message. */
    private String wrappingKek(String record) {
        String key = RepositoryLayout.logKeyRecord(record);
        try {
            return JSON.readTree(RepositoryStore.readRecord(repository, key, record, "archive key record")).path("kekId").asText("(unknown)");
        } catch (IOException e) {
            return "(unknown: " + key + " unreadable: " + e.getMessage() + ")";
        }
    }

    private byte[] keyContext() {
        return ("backstop/log-dek/v1/" + keys.stream()).getBytes(StandardCharsets.UTF_8);
    }
}
