package dev.backstop.core;

import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.event.BackupListener;
import dev.backstop.core.internal.access.CryptoAccess;
import dev.backstop.core.internal.chain.EncodingChain;
import dev.backstop.core.internal.concurrent.LogContext;
import dev.backstop.core.internal.crypto.DataKey;
import dev.backstop.core.internal.layout.RepositoryLayout;
import dev.backstop.core.internal.lock.LeaseKeeper;
import dev.backstop.core.lock.RepositoryLock;
import dev.backstop.core.manifest.EncryptionInfo;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.manifest.StoredObject;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;

/**
 * One run of a {@link BackupPipeline}: the streams the source opens, each through the pipeline's
 * {@link EncodingChain}, then the commit order (data objects, wrapped data key, manifest) and,
 * after a failure, the removal of what was already published.
 */
/** The state of one run: its open encoders and what they have written. */
final class BackupRun implements CaptureSource.Streams {
    private final BackupId id;
    private final CaptureSource source;
    private final Repository repository;
    private final List<Transform> transforms;
    private final Encryption encryption;
    private final BackupListener listener;
    private final Clock clock;
    private final Executor executor;
    private final boolean pipelining;
    private final Map<String, String> labels;
    private final RepositoryLock lock;
    private final Throttle throttle;
    private final List<Writer> writers = new ArrayList<>();
    /** Objects this run published (data, then the key record), to remove again if it fails. */
    private final List<String> committed = new ArrayList<>();
    private EncodingChain chain;
    private DataKey dataKey;
    /** A repository failure before any encoder existed (an upload that could not be created). */
    private volatile IOException openFailure;
    private RepositoryLock.Lease lease;
    private LeaseKeeper keeper;

    BackupRun(BackupPipeline pipeline, BackupId id) {
        this.id = id;
        this.source = pipeline.source;
        this.repository = pipeline.repository;
        this.transforms = pipeline.transforms;
        this.encryption = pipeline.encryption;
        this.listener = pipeline.listener;
        this.clock = pipeline.clock;
        this.executor = pipeline.executor;
        this.pipelining = pipeline.pipelining;
        this.labels = pipeline.labels;
        this.lock = pipeline.lock;
        this.throttle = pipeline.throttle;
    }

    void takeLock() {
        try {
            lease = lock.acquire();
        } catch (BackupException e) {
            throw new BackupException(Stage.LOCK, e.getMessage(), e, e.retryable(), id);
        }
        keeper = LeaseKeeper.start(lease, lock.ttl(), executor);
    }

    /** Before anything is published: the lease must still be ours, or another writer may be running. */
    private void checkLock() {
        if (keeper != null) {
            try {
                keeper.stopAndCheck();
            } catch (BackupException | IllegalStateException e) {
                throw new BackupException(Stage.LOCK, "repository lock lost during the backup; nothing published: "
                        + e.getMessage(), e, true, id);
            }
        }
    }

    void releaseLock() {
        if (keeper != null) {
            keeper.stopQuietly();
        }
        if (lease != null) {
            lease.close();
        }
    }

    Manifest execute(Instant started) {
        List<Transform> all = new ArrayList<>(transforms);
        if (encryption != null) {
            dataKey = CryptoAccess.get().newDataKey(encryption, id);
            all.add(dataKey.transform());
        }
        chain = EncodingChain.builder().transforms(all).executor(executor).pipelining(pipelining).build();
        CaptureResult result;
        try {
            result = source.capture(this);
            if (result == null) {
                throw new IllegalStateException(source + " returned no CaptureResult");
            }
            for (Writer w : writers) {
                if (!w.encoder.finished()) {
                    throw new IllegalStateException(source + " returned without closing stream '" + w.name + "'");
                }
            }
        } catch (IOException | RuntimeException e) {
            throw translate(e);
        }
        if (writers.isEmpty()) {
            throw new CaptureException(source + " wrote no stream", null, null, null, id);
        }
        checkLock();
        LogContext.stage(Stage.STORE);
        Manifest.Builder mb = Manifest.builder(id).startedAt(started).source(result.source())
                .consistency(result.consistency()).labels(labels).attributes(result.attributes());
        result.fingerprints().ifPresent(mb::fingerprints);
        result.requiredLogs().ifPresent(mb::requiredLogs);
        result.parent().ifPresent(mb::parent);
        for (Writer w : writers) {
            EncodingChain.Result r;
            try {
                committed.add(w.key);
                r = w.encoder.commit();
            } catch (IOException e) {
                throw StorageException.of(w.key, "commit failed: " + e, e, id);
            }
            StoredObject so = r.toStoredObject(w.name, w.key);
            mb.addObject(so);
            listener.objectStored(id, so);
        }
        if (dataKey != null) {
            LogContext.stage(Stage.KEY);
            try {
                committed.add(Repository.dataKeyObject(id));
                CryptoAccess.get().storeDataKey(repository, dataKey);
            } catch (IOException e) {
                throw StorageException.of(Repository.dataKeyObject(id), "could not store the wrapped data key: " + e, e, id);
            }
            mb.encryption(new EncryptionInfo(dataKey.transform().spec().require("algorithm"), dataKey.kekId(),
                    Repository.dataKeyObject(id)));
        }
        Manifest m = mb.finishedAt(clock.instant()).build();
        LogContext.stage(Stage.CATALOG);
        try {
            repository.catalog().put(m);
        } catch (IOException e) {
            throw StorageException.of(Repository.manifestKey(id), "could not write the manifest: " + e, e, id);
        }
        return m;
    }

    /** The first failure of the repository in this run, if any: it decides how a failure is reported. */
    private IOException storeFailure() {
        if (openFailure != null) {
            return openFailure;
        }
        for (Writer w : writers) {
            Optional<IOException> f = w.encoder.storageFailure();
            if (f.isPresent()) {
                return f.get();
            }
        }
        return null;
    }

    private BackupException translate(Exception e) {
        IOException sf = storeFailure();
        if (sf != null) {
            EncodingChain.StoreFailure f = (EncodingChain.StoreFailure) sf;
            StorageException se = StorageException.of(f.key, "write failed: " + f.getCause(), (IOException) f.getCause(), id);
            if (e != f && !(e.getCause() == f)) {
                se.addSuppressed(e);
            }
            return se;
        }
        if (e instanceof BackupException be) {
            return be;
        }
        if (e instanceof CaptureFailedException cf) {
            return new CaptureException(cf.getMessage(), cf.exitCode(), cf.stderrTail(), cf, id, cf.retryable());
        }
        if (e instanceof IllegalStateException || e instanceof IllegalArgumentException) {
            return new BackupException(Stage.CAPTURE, e.getMessage(), e, false, id);
        }
        return new CaptureException("capture by " + source + " failed: " + e, null, null, e, id, refused(e));
    }

    /**
     * Whether a source's unclassified failure was a refused connection: the server was down
     * or restarting, which a later attempt may find over.
     */
    private static boolean refused(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof java.net.ConnectException) {
                return true;
            }
        }
        return false;
    }

    @Override
    public OutputStream open(String name) throws IOException {
        if (!RepositoryLayout.isStreamName(name)) {
            throw new IllegalArgumentException("stream name: got '" + name
                    + "', need 1..128 of [A-Za-z0-9._-] starting with a letter or digit, not one of "
                    + RepositoryLayout.RESERVED_NAMES);
        }
        for (Writer w : writers) {
            if (w.name.equals(name)) {
                throw new IllegalArgumentException("stream name '" + name + "' opened twice in backup " + id);
            }
        }
        String key = Repository.dataKey(id, name);
        Sink.Upload upload;
        try {
            upload = throttle.uploads(repository.sink().create(key, ObjectKind.DATA));
        } catch (IOException e) {
            EncodingChain.StoreFailure f = new EncodingChain.StoreFailure(key, e);
            openFailure = f;
            throw f;
        }
        EncodingChain.Encoder encoder;
        try {
            encoder = chain.open(upload, ObjectBinding.of(id, key));
        } catch (EncodingChain.StoreFailure f) {
            // an encoder may write its header at once (AEAD does), before any writer exists
            openFailure = f;
            throw f;
        }
        Writer w = new Writer(name, key, encoder);
        writers.add(w);
        return throttle.reads(w.encoder.stream());
    }

    /**
     * After a failure: deletes what this run published, best effort. If the manifest is there
     * (a write reported failed that landed) or its absence cannot be established, nothing is
     * deleted, since a visible backup may point to the objects.
     */
    void removeCommitted(BackupException failure) {
        if (committed.isEmpty()) {
            return;
        }
        try {
            if (!repository.sink().list(Repository.manifestKey(id)).isEmpty()) {
                return;
            }
        } catch (IOException | RuntimeException e) {
            failure.addSuppressed(e);
            return;
        }
        for (String key : committed) {
            try {
                repository.sink().delete(key);
            } catch (IOException | RuntimeException e) {
                failure.addSuppressed(new StorageException(key, "could not remove it after the failed backup; "
                        + "Repository.removeOrphans will: " + e, e, true, id));
            }
        }
    }

    void abortUnpublished() {
        for (Writer w : writers) {
            w.encoder.close();
        }
    }

    /** One stream of the backup. */
    private record Writer(String name, String key, EncodingChain.Encoder encoder) {
    }
}
