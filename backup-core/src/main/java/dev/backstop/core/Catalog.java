package dev.backstop.core;

import dev.backstop.core.manifest.Manifest;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * The set of backups that exist: one {@link Manifest} each. Putting the manifest is the last
 * step of a backup, so a backup without a manifest does not exist.
 *
 * <p><b>Guarantees.</b> {@link #put} is atomic and refuses to replace an existing manifest
 * ({@link ObjectExistsException}). {@link #get} and {@link #list} return only manifests whose own
 * checksum verifies and that name the backup they are stored under (and, read through a keyed
 * {@link Repository} view, whose authentication verifies). {@link #get} refuses any other with an
 * {@link IntegrityException}; {@link #list} skips it and {@link #damaged} reports it, so one bad
 * manifest never hides the others.
 *
 * <p><b>Not for implementation.</b> The catalog is nothing but the manifests in a repository's
 * sink, so it can always be rebuilt by listing the store; what varies between repositories is the
 * {@link Sink}, which is the interface to implement. Every {@link Repository} has exactly this
 * catalog ({@link Repository#catalog()}), the built-in one over any sink, and pipelines, restores,
 * retention and replication all reach manifests through this interface. The interface is sealed
 * so that its guarantees (atomic put, admission of every manifest read) cannot be weakened by
 * another implementation; callers may depend on it, and test it with the testkit's {@code
 * CatalogContract} against their sink.
 */
public sealed interface Catalog permits SinkCatalog {

    /** Records a finished backup. */
    void put(Manifest manifest) throws IOException;

    /** Every backup, oldest first. */
    List<Manifest> list() throws IOException;

    /** Manifests that exist but were not admitted, with the reason each; empty by default. */
    default List<DamagedObject> damaged() throws IOException {
        return List.of();
    }

    /** One backup, or empty if it does not exist. */
    Optional<Manifest> get(BackupId id) throws IOException;

    /** Forgets a backup: its manifest goes first, so nothing visible points to deleted data. */
    void delete(BackupId id) throws IOException;
}
