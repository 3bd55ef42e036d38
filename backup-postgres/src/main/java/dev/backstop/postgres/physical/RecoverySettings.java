package dev.backstop.postgres.physical;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The configuration that turns a restored data directory into a recovering copy: appended to
 * {@code postgresql.auto.conf} (which wins over {@code postgresql.conf}), plus {@code
 * recovery.signal} when WAL is to be replayed from an archive.
 */
final class RecoverySettings {
    private RecoverySettings() {
    }

    /**
     * Writes the settings and, when {@code target} needs WAL, {@code recovery.signal}: archiving
     * off and no primary (the copy never archives into the source's repository nor follows its
     * primary), then {@code restoreCommand} and the target's settings. A base backup taken from a
     * standby carries its {@code standby.signal}: it is removed, the copy is to be promoted.
     *
     * @return the settings appended, in order
     */
    static Map<String, String> write(Path data, RecoveryTarget target, String restoreCommand) throws IOException {
        Files.deleteIfExists(data.resolve("standby.signal"));
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("archive_mode", "off");
        settings.put("archive_command", "");
        settings.put("primary_conninfo", "");
        settings.put("primary_slot_name", "");
        if (target.needsArchive()) {
            settings.put("restore_command", restoreCommand);
            settings.put("recovery_target_timeline", "latest");
            settings.putAll(target.settings());
            Files.writeString(data.resolve("recovery.signal"), "");
        }
        StringBuilder sb = new StringBuilder("\n# Added by Backstop point-in-time recovery: never archive into the source's repository\n");
        settings.forEach((k, v) -> sb.append(k).append(" = '").append(v.replace("'", "''")).append("'\n"));
        Files.writeString(data.resolve("postgresql.auto.conf"), sb.toString(), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
        return settings;
    }

    /** Fsyncs what {@link #write} wrote and the directory holding it, so the configuration survives a crash of the host. */
    static void force(Path data, RecoveryTarget target) throws IOException {
        FileSyncer.force(data.resolve("postgresql.auto.conf"));
        if (target.needsArchive()) {
            FileSyncer.force(data.resolve("recovery.signal"));
        }
        FileSyncer.force(data);
    }
}
