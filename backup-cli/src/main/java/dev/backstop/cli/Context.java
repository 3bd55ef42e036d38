package dev.backstop.cli;

import dev.backstop.cli.config.BackstopConfig;
import dev.backstop.cli.config.ConfigException;
import dev.backstop.cli.config.Secret;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.Repository;
import dev.backstop.core.replication.Replication;
import dev.backstop.core.lock.RepositoryLock;
import dev.backstop.core.Restore;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.s3.KmsKek;
import dev.backstop.s3.S3Sink;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.KmsClientBuilder;

/**
 * What a command needs, built from the configuration on first use: the repository, the
 * key-encryption key, the database endpoint, the backup pipeline and a restore. Nothing connects
 * before a command asks for it, so {@code config check} touches nothing.
 */
final class Context implements AutoCloseable {
    private static final Duration LOCK_TTL = Duration.ofMinutes(10);

    private final BackstopConfig config;
    private final Clock clock;
    private final List<S3Sink> s3 = new ArrayList<>();
    private Repository repository;
    private Replication replication;
    private KmsClient kms;
    private Optional<KeyEncryptionKey> kek;

    Context(BackstopConfig config) {
        this(config, Clock.systemUTC());
    }

    /** A context whose backups, restores and audit entries take their time from {@code clock}. */
    Context(BackstopConfig config, Clock clock) {
        this.config = config;
        this.clock = clock;
    }

    BackstopConfig config() {
        return config;
    }

    /** The repository, without keys (for listing and keyless checks). */
    Repository repository() {
        if (repository == null) {
            repository = repositoryOf(config.storage(), "backup.storage");
        }
        return repository;
    }

    private Repository repositoryOf(BackstopConfig.Storage st, String path) {
        if (!st.s3()) {
            return Repository.filesystem(st.path().orElseThrow());
        }
        S3Sink.Builder b = S3Sink.builder().bucket(st.bucket().orElseThrow()).prefix(st.prefix());
        b.region(Region.of(st.region().orElseThrow(() -> new ConfigException(path + ".region",
                "missing; expected the bucket's AWS region, like \"eu-central-1\""))));
        st.endpoint().ifPresent(b::endpoint);
        if (st.pathStyle()) {
            b.pathStyle(true);
        }
        S3Sink sink = b.build();
        s3.add(sink);
        return Repository.on(sink);
    }

    /**
     * Copies from the keyed primary to every configured replica; built once, as the daemon copies
     * after every backup and each replica on S3 holds a client of its own.
     *
     * @throws ConfigException if the configuration names no replica
     */
    synchronized Replication replication() {
        if (replication == null) {
            replication = newReplication();
        }
        return replication;
    }

    private Replication newReplication() {
        if (config.replicas().isEmpty()) {
            throw new ConfigException("backup.replicas", "missing; expected [{\"name\": \"dr\", \"provider\": \"filesystem\", "
                    + "\"path\": \"/mnt/dr/backups\"}, ...] (or an S3 bucket, as in backup.storage)");
        }
        Replication.Builder b = Replication.from(keyedRepository());
        for (int i = 0; i < config.replicas().size(); i++) {
            BackstopConfig.Replica r = config.replicas().get(i);
            b.to(r.name(), repositoryOf(r.storage(), "backup.replicas[" + i + "]"));
        }
        return b.build();
    }

    /** The repository, authenticated with the KEK when there is one. */
    Repository keyedRepository() {
        return kek().map(k -> repository().withKeys(k)).orElseGet(this::repository);
    }

    /** The KEK the configuration names; empty only for {@code "encryption": {"none": true}}. */
    Optional<KeyEncryptionKey> kek() {
        if (kek == null) {
            BackstopConfig.Encryption enc = config.encryption();
            kek = switch (enc.kind()) {
                case NONE -> Optional.empty();
                case KEYSET -> Optional.of(loadKeyset(enc.keyset().orElseThrow()));
                case KMS -> Optional.of(KmsKek.of(kmsClient(enc), enc.kmsKeyId().orElseThrow()));
            };
        }
        return kek;
    }

    /** The KMS client of the configured KMS key ({@code keys rotate} asks KMS for new key material). */
    KmsClient kms() {
        kek();
        if (kms == null) {
            throw new ConfigException("backup.encryption", "is " + config.encryption() + "; this needs a KMS key");
        }
        return kms;
    }

    /** The keyset file {@code file} as a KEK; {@code setting} names where it was given, for errors. */
    KeyEncryptionKey keyset(Path file, String setting) {
        if (!Files.isRegularFile(file)) {
            throw new ConfigException(setting, "the key-encryption key file " + file + " does not exist");
        }
        return loadKeyset(file);
    }

    /** The KMS key {@code keyId}, reached with the configured KMS region and endpoint if any, else the SDK's defaults. */
    KeyEncryptionKey kmsKek(String keyId) {
        kek();
        return KmsKek.of(kms != null ? kms : newKmsClient(config.encryption()), keyId);
    }

    private static KeyEncryptionKey loadKeyset(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new ConfigException("backup.encryption.keyset", "the key-encryption key file " + file
                    + " does not exist; create it once with \"backstop keys create\", and keep it apart from the backups");
        }
        try {
            return LocalKeysetKek.load(file);
        } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
            throw new ConfigException("backup.encryption.keyset", e.getMessage());
        }
    }

    private KmsClient kmsClient(BackstopConfig.Encryption enc) {
        kms = newKmsClient(enc);
        return kms;
    }

    private static KmsClient newKmsClient(BackstopConfig.Encryption enc) {
        KmsClientBuilder b = KmsClient.builder();
        enc.kmsRegion().ifPresent(r -> b.region(Region.of(r)));
        enc.kmsEndpoint().ifPresent(b::endpointOverride);
        return b.build();
    }

    /** The configured MariaDB/MySQL server. */
    dev.backstop.mysql.MariaDbEndpoint mariaDbEndpoint() {
        BackstopConfig.Database db = config.database();
        if (!db.mariadb()) {
            throw new ConfigException("backup.database.type", "is " + db.type() + "; this needs a MariaDB or MySQL server "
                    + "(\"type\": \"mariadb\" or a mariadb:// url)");
        }
        String password = db.password().filter(s -> !s.isEmpty()).map(Secret::reveal).orElse(null);
        return dev.backstop.mysql.MariaDbEndpoint.of(db.host(), db.port(), db.user(), password);
    }

    /** The configured PostgreSQL server. */
    PgEndpoint endpoint() {
        BackstopConfig.Database db = config.database();
        if (db.mariadb()) {
            throw new ConfigException("backup.database.type", "is " + db.type() + "; this needs a PostgreSQL server");
        }
        String password = db.password().filter(s -> !s.isEmpty()).map(Secret::reveal).orElse(null);
        PgEndpoint e = PgEndpoint.of(db.host(), db.port(), db.user(), password);
        return db.tls().map(t -> e.withTls(t.toPgTls())).orElse(e);
    }

    /**
     * The backup pipeline: the configured database's capture ({@link Engines#source}: pg_dump,
     * mariadb-dump or mariadb-backup), zstd, the configured encryption, into the repository under
     * its lock. Every pipeline the command line runs is built here.
     */
    BackupPipeline pipeline() {
        return pipeline(null);
    }

    /** {@link #pipeline()} telling {@code listener} (alerts, audit log) of its events; null for none. */
    BackupPipeline pipeline(dev.backstop.core.event.BackupListener listener) {
        return pipeline(listener, source());
    }

    /** The configured database's logical backup: pg_dump with fingerprints. */
    CaptureSource source() {
        return Engines.source(this);
    }

    /**
     * zstd level 3 on as many workers as the machine has cores: in framed mode, so restores
     * decompress in parallel too; what the benchmarks measure against {@code zstd -3 -T0}.
     */
    static final ZstdTransform COMPRESSION = ZstdTransform.builder().level(3)
            .workers(Math.min(64, Runtime.getRuntime().availableProcessors())).build();

    /**
     * The configured cluster's full physical backup: from {@code backup.database.dataDirectory}
     * when it is set, else pg_basebackup over a replication connection.
     */
    CaptureSource physicalSource() {
        return Engines.physicalSource(this, dev.backstop.postgres.physical.BackupLevel.FULL);
    }

    /** {@link #pipeline(dev.backstop.core.event.BackupListener)} of {@code source}. */
    BackupPipeline pipeline(dev.backstop.core.event.BackupListener listener, CaptureSource source) {
        BackupPipeline.Builder b = BackupPipeline.builder()
                .source(source)
                .compress(COMPRESSION)
                .repository(keyedRepository())
                .lock(lock())
                .clock(clock);
        if (listener != null) {
            b.listener(listener);
        }
        config.capture().rateLimit().ifPresent(r -> b.rateLimit(r.toRateLimit()));
        // after the caller's listener (the daemon's meters): a logged event has been counted
        b.listener(observers());
        // without a KEK the configuration said "encryption": {"none": true}: never a silent default
        kek().ifPresentOrElse(k -> b.encrypt(Encryption.with(k)), b::noEncryption);
        return b.build();
    }

    /**
     * What every command's backups, restores, validations and deletions are told: the log, and
     * the audit log when there is a KEK (an entry nobody can authenticate is no evidence).
     */
    dev.backstop.core.event.BackupListener observers() {
        dev.backstop.core.event.BackupListener l = dev.backstop.core.event.LoggingListener.create();
        return kek().isPresent() ? l.plus(auditLog().listener()) : l;
    }

    /** The audit log of the keyed repository, written as this host and OS user. */
    dev.backstop.core.event.AuditLog auditLog() {
        return dev.backstop.core.event.AuditLog.builder(keyedRepository()).host(holder()).clock(clock)
                .principal(System.getProperty("user.name", "unknown")).build();
    }

    RepositoryLock lock() {
        return RepositoryLock.builder(repository().sink()).holder(holder()).ttl(LOCK_TTL).build();
    }

    static String holder() {
        try {
            return "backstop@" + InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "backstop@" + ProcessHandle.current().pid();
        }
    }

    /** A restore with the configured keys; one that reads unencrypted backups only when the configuration says so. */
    Restore restore() {
        Restore.Builder b = Restore.builder().repository(repository()).listener(observers());
        kek().ifPresentOrElse(b::keys, b::allowUnencrypted);
        return b.build();
    }

    /** {@link #restore()} telling {@code progress} the stored bytes it reads. */
    Restore restore(dev.backstop.core.event.ReadProgress progress) {
        Restore.Builder b = Restore.builder().repository(repository()).listener(observers()).progress(progress);
        kek().ifPresentOrElse(b::keys, b::allowUnencrypted);
        return b.build();
    }

    /** A restore without keys: for {@link Restore#verifyStored} only. */
    Restore keylessRestore() {
        return Restore.builder().repository(repository()).build();
    }

    @Override
    public void close() {
        s3.forEach(S3Sink::close);
        if (kms != null) {
            kms.close();
        }
    }
}
