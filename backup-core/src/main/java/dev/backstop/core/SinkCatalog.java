package dev.backstop.core;

import dev.backstop.core.crypto.MetadataKey;
import dev.backstop.core.internal.crypto.Sealed;
import dev.backstop.core.internal.layout.RepositoryLayout;
import dev.backstop.core.internal.repo.ManifestFormat;
import dev.backstop.core.internal.repo.RepositoryStore;
import dev.backstop.core.manifest.Manifest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The catalog of a {@link Repository}: the manifests stored in its sink. A manifest is admitted
 * when its checksum verifies, it names the backup id it is stored under and, in a keyed view, its
 * authentication tag verifies for that location and id. Listing skips the others and reports
 * them as {@link DamagedObject}s; {@link #get} refuses them with an {@link IntegrityException}.
 */
final class SinkCatalog implements Catalog {
    private static final Pattern VERSION = Pattern.compile("\"formatVersion\" : (\\d+)");
    private static final Pattern NAMED = Pattern.compile("\"backupId\" : \"([^\"]+)\"|backups/([^/\"]+)/");

    private final Repository repo;

    SinkCatalog(Repository repo) {
        this.repo = repo;
    }

    @Override
    public void put(Manifest manifest) throws IOException {
        RepositoryStore.putRecord(repo, Repository.manifestKey(manifest.id()), manifest.id().value(), ObjectKind.MANIFEST,
                ManifestFormat.write(manifest));
    }

    @Override
    public List<Manifest> list() throws IOException {
        return scan(null, null);
    }

    @Override
    public List<DamagedObject> damaged() throws IOException {
        List<DamagedObject> out = new ArrayList<>();
        scan(out, null);
        return out;
    }

    /** Backup ids named inside damaged manifests, and the ids they are stored under. */
    Set<String> idsNamedByDamaged() throws IOException {
        Set<String> out = new TreeSet<>();
        scan(null, out);
        return out;
    }

    private List<Manifest> scan(List<DamagedObject> damaged, Set<String> named) throws IOException {
        List<Manifest> out = new ArrayList<>();
        for (ObjectInfo o : repo.sink().list(RepositoryLayout.BACKUPS)) {
            if (!RepositoryLayout.isManifestKey(o.key())) {
                continue;
            }
            byte[] bytes = null;
            try {
                bytes = RepositoryStore.readSmall(repo, o.key());
                out.add(admit(o.key(), bytes));
            } catch (IOException e) {
                if (!RepositoryStore.isMissing(e)) {
                    throw e;
                }
                // deleted since the listing (expiry at work): it no longer exists
            } catch (IntegrityException e) {
                if (damaged != null) {
                    damaged.add(new DamagedObject(o.key(), e.getMessage()));
                }
                if (named != null) {
                    String dir = o.key().substring(RepositoryLayout.BACKUPS.length());
                    if (dir.contains("/")) {
                        named.add(dir.substring(0, dir.indexOf('/')));
                    }
                    Matcher m = NAMED.matcher(new String(bytes == null ? new byte[0] : bytes, StandardCharsets.UTF_8));
                    while (m.find()) {
                        named.add(m.group(1) != null ? m.group(1) : m.group(2));
                    }
                }
            }
        }
        out.sort((a, b) -> a.id().compareTo(b.id()));
        return out;
    }

    @Override
    public Optional<Manifest> get(BackupId id) throws IOException {
        String key = Repository.manifestKey(id);
        try {
            return Optional.of(admit(key, RepositoryStore.readSmall(repo, key)));
        } catch (IOException e) {
            if (RepositoryStore.isMissing(e)) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /**
     * Checks that {@code given} (or, if null, whatever is stored) is the manifest stored for
     * {@code id} and may be trusted; returns the stored one.
     *
     * <ul>
     *   <li>Always: its checksum, and that it names the id it is stored under.
     *   <li>With keys: its authentication tag by the repository's metadata key, bound to its key
     *       and id; an unauthenticated manifest is accepted only if it has no encryption section
     *       and {@code allowUnencrypted} was called.
     *   <li>Without keys, in a repository that has a metadata key (it was written with keys): a
     *       manifest without an authentication member is refused unless {@code
     *       allowUnencrypted} was called. This stops a downgrade to a forged unencrypted
     *       backup only as long as nobody deleted the key record; only a keyed restore is sure.
     * </ul>
     *
     * @throws BackupException at {@link Stage#CATALOG} if it does not exist
     * @throws IntegrityException naming the manifest if any check fails
     * @throws StorageException if it cannot be read
     */
    Manifest admitted(BackupId id, Manifest given, boolean allowUnencrypted) {
        String key = Repository.manifestKey(id);
        Manifest stored;
        try {
            stored = get(id).orElseThrow(() -> new BackupException(Stage.CATALOG,
                    "backup " + id + " does not exist (no manifest in " + repo.sink() + ")", null, false, id));
            if (!repo.keyed() && !allowUnencrypted && MetadataKey.exists(repo) && !sealed(id)) {
                throw new IntegrityException(key, "manifest authentication", "an authenticated manifest, as every manifest "
                        + "of this repository (it has " + MetadataKey.OBJECT + ")", "none: an unauthenticated manifest"
                        + " (forged or downgraded?); Restore.Builder.allowUnencrypted() accepts it", null, id);
            }
        } catch (IOException e) {
            throw StorageException.of(key, "could not read manifest: " + e, e, id);
        }
        if (given != null && !ManifestFormat.sameContent(stored, given)) {
            throw new IntegrityException(key, "manifest", "the manifest stored for " + id,
                    "a manifest that differs from it (edited in memory or read from elsewhere)", null, id);
        }
        return stored;
    }

    /** Whether the manifest of {@code id} carries an authentication member; false if it has none or is missing. */
    private boolean sealed(BackupId id) throws IOException {
        try {
            return Sealed.unseal(RepositoryStore.readSmall(repo, Repository.manifestKey(id))) != null;
        } catch (IOException e) {
            if (RepositoryStore.isMissing(e)) {
                return false;
            }
            throw e;
        }
    }

    private Manifest admit(String key, byte[] bytes) {
        if (bytes.length == 0) {
            throw new IntegrityException(key, "manifest", "a manifest", "an empty object (truncated or damaged)", null, null);
        }
        BackupId expected = RepositoryLayout.backupOf(key).orElse(null);
        Sealed sealed = Sealed.unseal(bytes);
        Manifest m = ManifestFormat.read(bytes, key);
        if (expected == null || !expected.equals(m.id())) {
            throw new IntegrityException(key, "manifest location", expected == null ? "a manifest under backups/<backup-id>/"
                    : "the manifest of " + expected + " (its key)", "the manifest of " + m.id()
                    + " (moved or copied from another backup)", null, expected);
        }
        if (repo.keyed()) {
            if (sealed != null) {
                repo.metadataKey(false).verify(key, m.id().value(), sealed.content(), sealed.tag());
            } else if (!(repo.allowsUnencrypted() && m.encryption().isEmpty())) {
                int version = formatVersion(bytes);
                throw new IntegrityException(key, "manifest authentication", "a manifest authenticated with the repository's "
                        + "metadata key" + (m.encryption().isEmpty() ? " (or Restore.Builder.allowUnencrypted() for an "
                        + "unencrypted backup)" : ""), version < 2
                        ? "none: manifest format " + version + " predates metadata authentication; a KEK holder upgrades "
                        + "the repository once with Encryption.upgrade(repository)"
                        : "none: an unauthenticated format-" + version + " manifest" + (m.encryption().isEmpty()
                        ? " without encryption (forged or downgraded?)" : " (forged?)"), null, m.id());
            }
        }
        return m;
    }

    static int formatVersion(byte[] bytes) {
        Matcher m = VERSION.matcher(new String(bytes, 0, Math.min(bytes.length, 200), StandardCharsets.UTF_8));
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    @Override
    public void delete(BackupId id) throws IOException {
        repo.sink().delete(Repository.manifestKey(id));
        for (ObjectInfo o : repo.sink().list(RepositoryLayout.backupPrefix(id))) {
            repo.sink().delete(o.key());
        }
        repo.sink().delete(Repository.dataKeyObject(id));
    }
}
