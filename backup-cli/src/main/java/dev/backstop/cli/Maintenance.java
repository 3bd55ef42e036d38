package dev.backstop.cli;

import dev.backstop.cli.config.BackstopConfig;
import dev.backstop.cli.config.ConfigException;
import dev.backstop.core.BackupId;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.Orphans;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.retention.Expiry;
import dev.backstop.core.retention.ExpiryReport;
import dev.backstop.core.retention.RetentionPlan;
import dev.backstop.core.retention.RetentionPlanner;
import dev.backstop.core.retention.RetentionPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** The commands that keep a repository in order: expiry, orphans, keys and the configuration check. */
final class Maintenance {
    private Maintenance() {
    }

    @Command(name = "expire", description = "Delete the backups the retention settings no longer keep (under the "
            + "repository lock, journaled). The newest verified backup, pinned backups and parents of kept backups are "
            + "always kept.")
    static final class ExpireCommand extends Commands.Scriptable {
        @Option(names = "--dry-run", description = "Print the plan (keep or delete, with reasons) and delete nothing.")
        boolean dryRun;

        @Override
        int run(Context ctx) {
            BackstopConfig c = ctx.config();
            Optional<RetentionPolicy> policy = c.storage().retention().flatMap(r -> r.policy(c.zone()));
            if (policy.isEmpty()) {
                print("backup.storage.retention.deleteExpired is not true: expire deletes nothing");
                return Backstop.OK;
            }
            Expiry expiry = Expiry.builder().repository(ctx.keyedRepository()).planner(RetentionPlanner.of(policy.get()))
                    .holder(Context.holder()).build();
            RetentionPlan plan = dryRun ? expiry.plan() : null;
            ExpiryReport report = dryRun ? null : expiry.run();
            RetentionPlan shown = dryRun ? plan : report.plan();
            if (json) {
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("dryRun", dryRun);
                out.put("decisions", shown.decisions().stream().map(d -> Map.of("id", d.id().value(),
                        "action", d.action().name().toLowerCase(java.util.Locale.ROOT), "reasons", d.reasons())).toList());
                out.put("warnings", shown.warnings());
                out.put("deleted", dryRun ? List.of() : report.deletedBackups().stream().map(BackupId::value).toList());
                printJson(out);
            } else {
                root.out.print(shown.toTable());
                print(dryRun ? "dry run: nothing deleted" : report.toString());
            }
            return Backstop.OK;
        }
    }

    @Command(name = "orphans", description = "List objects that belong to no backup (left by a crash between data and "
            + "manifest) and are older than the grace period.")
    static final class OrphansCommand extends Commands.Scriptable {
        @Option(names = "--grace", paramLabel = "DURATION", defaultValue = "24h", converter = DurationConverter.class,
                description = "Ignore objects younger than this (like 6h or 2d; default ${DEFAULT-VALUE}): a running "
                        + "backup's objects are young.")
        Duration grace;

        @Option(names = "--remove", description = "Delete them.")
        boolean remove;

        @Override
        int run(Context ctx) {
            Instant now = Instant.now();
            Orphans o = remove ? ctx.repository().removeOrphans(now, grace) : ctx.repository().orphans(now, grace);
            if (json) {
                printJson(Map.of("removed", remove, "objects", o.objects().stream().map(ObjectInfo::key).toList(),
                        "incompleteWrites", o.incomplete().stream().map(w -> w.key()).toList()));
                return Backstop.OK;
            }
            o.objects().forEach(i -> print((remove ? "removed " : "orphan ") + i.key() + " " + Commands.size(i.size())
                    + " " + i.lastModified()));
            o.incomplete().forEach(w -> print((remove ? "discarded " : "incomplete ") + w.key() + " " + w.lastActivity()));
            print(o.isEmpty() ? "no orphans" : (remove ? "removed " : "found ") + (o.objects().size() + o.incomplete().size())
                    + " orphaned objects" + (remove ? "" : "; backstop orphans --remove deletes them"));
            return Backstop.OK;
        }
    }

    @Command(name = "copy", description = "Copy backups to the configured replicas (backup.replicas), as stored: "
            + "resumable, verified against the manifest's digests, the manifest last. Then compare each replica.")
    static final class CopyCommand extends Commands.Scriptable {
        @picocli.CommandLine.Parameters(paramLabel = "ID", arity = "0..1", description = "The backup id (see backstop list).")
        String id;

        @Option(names = "--latest", description = "The newest backup.")
        boolean latest;

        @Option(names = "--all", description = "Every backup of the primary.")
        boolean all;

        @Override
        int run(Context ctx) {
            if ((id != null ? 1 : 0) + (latest ? 1 : 0) + (all ? 1 : 0) != 1) {
                throw new ParameterException(spec.commandLine(), "give a backup ID, --latest or --all (one of them)");
            }
            if (id != null && !BackupId.isValid(id)) {
                throw new ParameterException(spec.commandLine(), "ID: got \"" + id + "\", expected a backup id as backstop list shows it");
            }
            dev.backstop.core.replication.Replication replication = ctx.replication();
            List<dev.backstop.core.replication.Replication.Outcome> outcomes = new java.util.ArrayList<>();
            if (all) {
                outcomes.addAll(replication.copyAll());
            } else {
                BackupId which = latest ? ctx.restore().latest().id() : BackupId.parse(id);
                outcomes.addAll(replication.copy(which));
                outcomes.addAll(replication.verify(which));
            }
            List<String> findings = outcomes.stream().flatMap(o -> o.findings().stream().map(f -> o.replica() + ": " + f)).toList();
            if (json) {
                printJson(Map.of("outcomes", outcomes.stream().map(o -> Map.of("replica", o.replica(), "id", o.backupId().value(),
                        "copied", o.copied(), "skipped", o.skipped(), "bytesCopied", o.bytesCopied(), "findings", o.findings())).toList()));
            } else {
                outcomes.forEach(o -> print(o.replica() + " " + o.backupId() + ": " + (o.ok() ? "ok" : "NOT OK") + ", " + o.copied()
                        + " objects copied (" + Commands.size(o.bytesCopied()) + "), " + o.skipped() + " already there"
                        + (o.ok() ? "" : ": " + String.join("; ", o.findings()))));
            }
            if (!findings.isEmpty()) {
                throw new Commands.CheckFailed("copy: " + findings.size() + " finding(s): " + String.join("; ", findings));
            }
            return Backstop.OK;
        }
    }

    /** Durations on the command line are written as in the configuration file. */
    static final class DurationConverter implements picocli.CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            try {
                return BackstopConfig.duration(value);
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.TypeConversionException("got \"" + value + "\", expected " + e.getMessage());
            }
        }
    }

    @Command(name = "keys", description = "Create, rotate and re-wrap the key-encryption key.",
            subcommands = {KeysCommand.Create.class, KeysCommand.Rotate.class, KeysCommand.Rewrap.class, KeysCommand.Erase.class})
    static final class KeysCommand implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            throw new ParameterException(spec.commandLine(), "keys: give create, rotate, rewrap or erase");
        }

        /** The key commands: each needs the configured keyset. */
        abstract static class KeyBase extends Commands.Scriptable {

            Path keyset(Context ctx, String verb) {
                BackstopConfig.Encryption enc = ctx.config().encryption();
                if (enc.kind() != BackstopConfig.Encryption.Kind.KEYSET) {
                    throw new ConfigException("backup.encryption", "is " + enc + "; keys " + verb + " needs a local keyset"
                            + (enc.kind() == BackstopConfig.Encryption.Kind.KMS ? " (a KMS key is created in KMS)" : ""));
                }
                return enc.keyset().orElseThrow();
            }
        }

        @Command(name = "create", description = "Create the configured keyset file (once, when setting a repository up; "
                + "refuses to overwrite). Keep it apart from the backups.")
        static final class Create extends KeyBase {
            @Override
            int run(Context ctx) {
                Path file = keyset(ctx, "create");
                if (Files.exists(file)) {
                    throw new ConfigException("backup.encryption.keyset", file + " already exists; it is never overwritten");
                }
                LocalKeysetKek kek = LocalKeysetKek.create(file);
                result(Map.of("created", kek.id(), "keyset", file.toString()), "created key-encryption key " + kek.id() + " in " + file);
                return Backstop.OK;
            }
        }

        @Command(name = "rotate", description = "Add a new primary key to the keyset; new backups use it, old ones stay "
                + "readable. Run keys rewrap afterwards. With a KMS key: ask KMS to rotate its key material now "
                + "(RotateKeyOnDemand); KMS keeps the old material for Decrypt, so there is nothing to re-wrap.")
        static final class Rotate extends KeyBase {
            @Override
            int run(Context ctx) {
                BackstopConfig.Encryption enc = ctx.config().encryption();
                if (enc.kind() == BackstopConfig.Encryption.Kind.KMS) {
                    String key = enc.kmsKeyId().orElseThrow();
                    rotateInKms(ctx, key);
                    result(Map.of("rotated", "aws-kms:" + key, "primary", "aws-kms:" + key), "rotated the key material of KMS key "
                            + key + " in KMS: new data keys are wrapped with the new material, KMS keeps the old for the "
                            + "existing ones; nothing to re-wrap");
                    return Backstop.OK;
                }
                Path file = keyset(ctx, "rotate");
                ctx.kek();   // the file must load before it is changed
                LocalKeysetKek kek = LocalKeysetKek.rotate(file);
                result(Map.of("rotated", file.toString(), "primary", kek.id()),
                        "rotated " + file + ": new primary key " + kek.id() + "; now run: backstop keys rewrap");
                return Backstop.OK;
            }
        }

        /** KMS's on-demand rotation; its failures name the key, retryable when KMS could not be reached. */
        static void rotateInKms(Context ctx, String key) {
            try {
                ctx.kms().rotateKeyOnDemand(b -> b.keyId(key));
            } catch (software.amazon.awssdk.services.kms.model.KmsException e) {
                String code = e.awsErrorDetails() == null ? "?" : e.awsErrorDetails().errorCode();
                throw new dev.backstop.core.BackupException(dev.backstop.core.Stage.KEY, "KMS RotateKeyOnDemand of key " + key
                        + " failed: HTTP " + e.statusCode() + " " + code, e, e.statusCode() >= 500 || e.isThrottlingException(), null);
            } catch (software.amazon.awssdk.core.exception.SdkException e) {
                throw new dev.backstop.core.BackupException(dev.backstop.core.Stage.KEY, "KMS RotateKeyOnDemand of key " + key
                        + " failed: " + e.getMessage(), e, true, null);
            }
        }

        @Command(name = "erase", description = "Crypto-erase one backup: delete its data key on every configured replica, "
                + "then on the primary, so it can never be decrypted again. Irreversible: repeat the id with --confirm.")
        static final class Erase extends Commands.Scriptable {
            @picocli.CommandLine.Parameters(paramLabel = "ID", description = "The backup to erase.")
            String id;

            @Option(names = "--confirm", paramLabel = "ID", description = "The same backup id again: erasing cannot be undone.")
            String confirm;

            @Override
            int run(Context ctx) {
                if (!BackupId.isValid(id)) {
                    throw new ParameterException(spec.commandLine(), "ID: got \"" + id + "\", expected a backup id as backstop list shows it");
                }
                if (!id.equals(confirm)) {
                    throw new ParameterException(spec.commandLine(), "erasing makes backup " + id + " unreadable forever, here "
                            + "and on every replica; to go ahead, repeat its id: --confirm " + id);
                }
                ctx.kek().orElseThrow(() -> new ConfigException("backup.encryption", "is none; an unencrypted backup cannot be "
                        + "crypto-erased (delete it instead)"));
                BackupId backup = BackupId.parse(id);
                // the manifest must authenticate: never erase on the word of an object anyone could have written
                ctx.restore().manifest(backup);
                List<String> replicas = ctx.config().replicas().isEmpty() ? List.of()
                        : Encryption.destroyDataKey(ctx.replication(), backup);
                if (ctx.config().replicas().isEmpty()) {
                    Encryption.destroyDataKey(ctx.keyedRepository(), backup);
                }
                result(Map.of("erased", id, "replicas", replicas), "erased the data key of " + id
                        + (replicas.isEmpty() ? "" : " on " + String.join(", ", replicas) + " and")
                        + " on the primary: it can no longer be decrypted; its objects go with retention");
                return Backstop.OK;
            }
        }

        @Command(name = "rewrap", description = "Re-wrap every stored data key and the metadata key with the current "
                + "primary KEK; the data is not touched. To move the repository to another KEK (a keyset to a KMS key, one "
                + "KMS key to another), configure the new one and name the old one with --from-keyset or --from-kms-key; "
                + "a re-wrap cut short is finished by running it again.")
        static final class Rewrap extends KeyBase {
            @Option(names = "--from-keyset", paramLabel = "FILE", description = "The keyset file of the KEK the repository "
                    + "is moving from.")
            Path fromKeyset;

            @Option(names = "--from-kms-key", paramLabel = "ID", description = "The KMS key (id, ARN or alias) the repository "
                    + "is moving from; reached with the configured KMS region and endpoint, if any.")
            String fromKmsKey;

            @Override
            int run(Context ctx) {
                var kek = ctx.kek().orElseThrow(() -> new ConfigException("backup.encryption", "is none; nothing to re-wrap"));
                if (fromKeyset != null && fromKmsKey != null) {
                    throw new ParameterException(spec.commandLine(), "--from-keyset and --from-kms-key: give one, not both");
                }
                Optional<KeyEncryptionKey> from = fromKeyset != null ? Optional.of(ctx.keyset(fromKeyset, "--from-keyset"))
                        : Optional.ofNullable(fromKmsKey).map(ctx::kmsKek);
                KeyEncryptionKey using;
                try {
                    using = from.map(f -> KeyEncryptionKey.migrating(kek, f)).orElse(kek);
                } catch (IllegalArgumentException e) {
                    throw new ParameterException(spec.commandLine(), (fromKeyset != null ? "--from-keyset" : "--from-kms-key")
                            + ": " + e.getMessage());
                }
                // the records may still be wrapped by the old KEK: open the repository with the one rewrapping
                Encryption encryption = Encryption.with(using);
                List<BackupId> done = encryption.rewrap(ctx.repository());
                // replicas hold their own copies of the key records: once the old key is gone, they need the new wrapping too
                Map<String, List<String>> replicas = new LinkedHashMap<>();
                if (!ctx.config().replicas().isEmpty()) {
                    ctx.replication().replicas().forEach(r -> replicas.put(r.name(),
                            encryption.rewrap(r.repository()).stream().map(BackupId::value).toList()));
                }
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("rewrapped", done.stream().map(BackupId::value).toList());
                out.put("kek", kek.id());
                from.ifPresent(f -> out.put("from", f.id()));
                out.put("replicas", replicas);
                result(out, "re-wrapped the data keys of " + done.size() + " backups with " + kek.id()
                        + from.map(f -> " (moved from " + f.id() + ")").orElse("")
                        + (replicas.isEmpty() ? "" : "; on replicas " + replicas.entrySet().stream()
                        .map(e -> e.getKey() + " " + e.getValue().size()).collect(java.util.stream.Collectors.joining(", "))));
                return Backstop.OK;
            }
        }
    }

    @Command(name = "config", description = "Work with the configuration file.", subcommands = ConfigCommand.Check.class)
    static final class ConfigCommand implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            throw new ParameterException(spec.commandLine(), "config: give check");
        }

        @Command(name = "check", description = "Validate the configuration without connecting to anything; print a "
                + "summary with secrets hidden.")
        static final class Check extends Commands.Scriptable {
            @Override
            int run(Context ctx) {
                // the context builds nothing until asked, so only the file and the key file's presence are checked
                BackstopConfig c = ctx.config();
                c.encryption().keyset().filter(f -> !Files.isRegularFile(f)).ifPresent(f -> {
                    throw new ConfigException("backup.encryption.keyset", "the key-encryption key file " + f
                            + " does not exist; create it once with \"backstop keys create\"");
                });
                String summary = c.summary(Instant.now());
                if (json) {
                    printJson(Map.of("valid", true, "config", config.toString(), "summary", summary.lines().toList()));
                } else {
                    root.out.print(summary);
                    print("configuration " + config + " is valid (nothing was contacted)");
                }
                return Backstop.OK;
            }
        }
    }
}
