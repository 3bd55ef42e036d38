package dev.backstop.micrometer;

import dev.backstop.core.BackupId;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.replication.Replication;
import dev.backstop.core.Repository;
import dev.backstop.core.StorageException;
import dev.backstop.core.retention.BackupRecord;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The readings behind the health gauges of {@link MicrometerListener} and the daemon's health
 * alerts: the newest verified backup of a repository and how far each replica is behind its
 * primary. One definition serves both, so a graph and an alert never disagree.
 *
 * <p><b>Threading.</b> Stateless; each call lists the catalogs it needs.
 */
public final class RepositoryHealth {
    private static final Logger LOG = LoggerFactory.getLogger(RepositoryHealth.class);

    private RepositoryHealth() {
    }

    /**
     * When the newest verified backup of {@code repository} finished (a backup whose latest
     * validation passed), or empty if none is verified.
     *
     * @throws StorageException if the catalog or a validation record cannot be read
     */
    public static Optional<Instant> newestVerified(Repository repository) {
        List<Manifest> all;
        try {
            all = repository.catalog().list().stream()
                .sorted(Comparator.comparing(Manifest::finishedAt).reversed()).toList();
        } catch (IOException e) {
            throw StorageException.of(null, "could not list the backups of " + repository.sink() + ": " + e, e, null);
        }
        for (Manifest m : all) {
            if (BackupRecord.from(m, repository.latestValidation(m.id())).build().verified()) {
                return Optional.of(m.finishedAt());
            }
        }
        return Optional.empty();
    }

    /**
     * How far each replica of {@code replication} is behind at {@code now}: zero while it holds
     * every backup the primary has that is newer than its own newest copy, else the age of the
     * oldest such backup it lacks (a replica with no copy at all counts from the primary's oldest
     * backup). A replica whose catalog cannot be listed is missing from the map (unknown is not
     * "in sync"); the map is empty if the primary cannot be listed.
     */
    public static Map<String, Duration> replicationLag(Replication replication, Instant now) {
        Map<String, Duration> out = new LinkedHashMap<>();
        List<Manifest> primary;
        try {
            primary = replication.primary().catalog().list().stream().sorted(Comparator.comparing(Manifest::finishedAt)).toList();
        } catch (IOException | RuntimeException e) {
            LOG.warn("could not list the primary to measure replication lag: {}", e.toString());
            return out;
        }
        for (Replication.Replica r : replication.replicas()) {
            try {
                Set<BackupId> there = new HashSet<>();
                Instant newestThere = Instant.MIN;
                for (Manifest m : r.repository().catalog().list()) {
                    there.add(m.id());
                    if (m.finishedAt().isAfter(newestThere)) {
                        newestThere = m.finishedAt();
                    }
                }
                Duration lag = Duration.ZERO;
                for (Manifest m : primary) {
                    if (m.finishedAt().isAfter(newestThere) && !there.contains(m.id())) {
                        Duration d = Duration.between(m.finishedAt(), now);
                        lag = d.isNegative() ? Duration.ZERO : d;
                        break;
                    }
                }
                out.put(r.name(), lag);
            } catch (IOException | RuntimeException e) {
                LOG.warn("could not list replica {} to measure its lag: {}", r.name(), e.toString());
            }
        }
        return out;
    }
}
